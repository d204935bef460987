package dev.xbridge.bridge;

/**
 * What xbridge does with one port, and why.
 *
 * @param hook the entry point to run on the port's ingress, or null to leave its frames to the kernel
 * @param stepAside attached, but every frame goes to the kernel (state xbridge does not mirror)
 * @param egress other ports' TC entry may redirect sk_buffs here
 * @param peer the port is a veth whose peer is in another namespace: TC redirects with bpf_redirect_peer
 * @param reason why this hook, in an operator's words (never null)
 * @param warning set when an override will break traffic; logged and shown in status
 */
public record PortPlan(Hook.Kind hook, boolean stepAside, boolean egress, boolean peer, String reason, String warning) {
    public static PortPlan off(String reason) {
        return new PortPlan(null, false, false, false, reason, null);
    }

    public boolean attached() {
        return hook != null;
    }

    /** The fast path forwards frames arriving here. */
    public boolean accelerated() {
        return hook != null && !stepAside;
    }

    public PortPlan withHook(Hook.Kind kind, String why) {
        return new PortPlan(kind, stepAside, egress, peer, why, warning);
    }
}
