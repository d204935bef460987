package dev.xbridge.bridge;

import dev.xbridge.netlink.PortState;

/**
 * One port as the reconciler last left it: what status reports.
 *
 * @param hook "xdp" or "tc" when the datapath runs on the port's ingress, "none" otherwise
 * @param mode "native" for XDP, "tcx" or "clsact" for TC, "" when not attached
 * @param reason why this hook (an override's warning first, when there is one)
 * @param slot the port's stats slot, 0 when it has none
 */
public record PortView(String bridge, int bridgeIndex, String name, int index, PortState state, String hook,
        String mode, boolean egress, boolean stepAside, String reason, int slot, int programId, Peer peer,
        boolean groChangedByUs) {

    public boolean accelerated() {
        return !"none".equals(hook) && !stepAside;
    }
}
