package dev.xbridge.bridge;

/**
 * What xbridge knows of a veth port's peer: the device at the other end,
 * usually inside a container's or VM's network namespace.
 *
 * @param found whether the peer could be reached (its namespace located)
 * @param namespace where it lives: a path such as /run/netns/a, or "" for this namespace
 * @param name its name inside that namespace
 * @param txChecksum tx-checksumming (NETIF_F_CSUM_MASK)
 * @param tso tcp-segmentation-offload (NETIF_F_ALL_TSO)
 * @param gso generic-segmentation-offload
 * @param txVlanInsert tx-vlan-hw-insert (NETIF_F_HW_VLAN_CTAG_TX; ethtool's "txvlan", shown as tx-vlan-offload)
 * @param txStagInsert tx-vlan-stag-hw-insert (NETIF_F_HW_VLAN_STAG_TX)
 * @param gro generic-receive-offload: a veth takes XDP-redirected frames only when its peer runs NAPI, which GRO enables
 * @param problem why it was not found, when {@code found} is false
 * @param mtu its MTU: native XDP on the port is refused above {@link #VETH_XDP_MAX_MTU}
 * @param xdpProgId the XDP program on the peer itself (inside the container), 0 for none:
 *     bpf_redirect_peer would skip it, so TC redirects to such a port go through its transmit
 */
public record Peer(boolean found, String namespace, String name, boolean txChecksum, boolean tso, boolean gso,
        boolean txVlanInsert, boolean txStagInsert, boolean gro, String problem, int mtu, int xdpProgId) {

    /** The feature names (ETH_SS_FEATURES) of {@link #txVlanInsert} and {@link #txStagInsert}. */
    public static final String TX_VLAN_INSERT = "tx-vlan-hw-insert";
    public static final String TX_STAG_INSERT = "tx-vlan-stag-hw-insert";

    /** This peer with GRO on: what a probe would now read after xbridge turned it on. */
    public Peer withGroOn() {
        return new Peer(found, namespace, name, txChecksum, tso, gso, txVlanInsert, txStagInsert, true, problem, mtu, xdpProgId);
    }

    /** This peer with GRO off: what a probe would now read after xbridge restored it. */
    public Peer withGroOff() {
        return new Peer(found, namespace, name, txChecksum, tso, gso, txVlanInsert, txStagInsert, false, problem, mtu,
                xdpProgId);
    }


    /**
     * The largest peer MTU with which a veth takes an XDP program that lacks xdp.frags
     * (veth_xdp_set: one page minus XDP headroom and skb_shared_info, minus the Ethernet
     * header). Measured here: 3506; above it the attach fails with ERANGE ("Peer MTU is
     * too large to set XDP"), and while XDP is attached the peer's max_mtu is clamped to it.
     */
    public static final int VETH_XDP_MAX_MTU = 3506;

    public static Peer missing(String problem) {
        return new Peer(false, "", "", false, false, false, false, false, false, problem, 0, 0);
    }

    /**
     * Frames the peer sends arrive finished only with these off: with tx
     * checksum offload the checksum is left to be done (CHECKSUM_PARTIAL),
     * which an XDP redirect loses; GSO frames larger than a page are dropped
     * by an XDP program without xdp.frags (PLATFORM.md, measured). With a
     * VLAN insert offload on, a tagged frame (from a VLAN device on the peer,
     * or bpf_skb_vlan_push) crosses the veth with its tag in skb->vlan_tci,
     * not in the data (validate_xmit_vlan pushes it in only for devices
     * without the offload): native XDP on the port sees it untagged, and a
     * redirect into an xdp_frame drops the tag, where the kernel bridge would
     * forward it tagged. veth has both on by default (VETH_FEATURES); the
     * kernel added bpf_xdp_metadata_rx_vlan_tag (6.8) for exactly this.
     */
    public boolean sendsFinishedFrames() {
        return !txChecksum && !tso && !gso && !txVlanInsert && !txStagInsert;
    }

    /** The offloads of {@link #sendsFinishedFrames} that are on, comma-separated. */
    public String offloadsOn() {
        StringBuilder sb = new StringBuilder();
        if (txChecksum) {
            sb.append("tx-checksumming ");
        }
        if (tso) {
            sb.append("tso ");
        }
        if (gso) {
            sb.append("gso ");
        }
        if (txVlanInsert) {
            sb.append(TX_VLAN_INSERT).append(' ');
        }
        if (txStagInsert) {
            sb.append(TX_STAG_INSERT).append(' ');
        }
        return sb.toString().trim().replace(' ', ',');
    }

    /** What native XDP would lose of the frames this peer sends, for a reason text. */
    public String whatXdpWouldLose() {
        boolean offloadState = txChecksum || tso || gso;
        boolean tags = txVlanInsert || txStagInsert;
        if (offloadState && tags) {
            return "checksum/GSO state and VLAN tags";
        }
        return tags ? "VLAN tag" : "checksum/GSO state";
    }

    public String where() {
        return namespace.isEmpty() ? name : name + " in " + namespace;
    }
}
