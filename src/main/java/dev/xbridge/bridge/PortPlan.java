package dev.xbridge.bridge;

/**
 * What xbridge does with one port, and why.
 *
 * @param attach run the datapath on the port's ingress (native XDP)
 * @param stepAside attached, but every frame goes to the kernel (state xbridge does not mirror)
 * @param egress the port can receive redirected frames
 * @param reason null when fully accelerated; otherwise what holds it back, in an operator's words
 */
public record PortPlan(boolean attach, boolean stepAside, boolean egress, String reason) {
    public static PortPlan off(String reason) {
        return new PortPlan(false, false, false, reason);
    }

    public static PortPlan accelerated() {
        return new PortPlan(true, false, true, null);
    }

    public PortPlan withReason(String why) {
        return new PortPlan(attach, stepAside, egress, why);
    }
}
