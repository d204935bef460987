package dev.xbridge.semantics;

import dev.xbridge.netlink.MacAddress;
import java.util.Set;

/**
 * A reference model of what the kernel bridge does with one frame arriving
 * on one port, for a bridge without VLAN filtering. Written from
 * net/bridge/br_input.c (br_handle_frame, br_handle_frame_finish),
 * net/bridge/br_forward.c (br_forward, should_deliver) and
 * net/bridge/br_fdb.c (br_fdb_update) of Linux 6.12; each step cites the
 * condition it models. It knows nothing of xbridge.
 *
 * <p>Not modelled (the datapath never accelerates them, so the contract
 * treats them as "anything but a single known-unicast forward"): multicast
 * snooping, flooding details, group_fwd_mask, netfilter, VLANs, MRP/CFM
 * frame types, carrier loss with backup ports.
 */
final class KernelBridge {
    private KernelBridge() {}

    /** What became of the source MAC in the FDB (br_fdb_update). */
    enum Learning { NONE, REFRESH, CREATE, MOVE }

    /** How the frame was handled. */
    enum Kind {
        DROPPED,
        /** link-local 01:80:c2:00:00:0X: STP/LLDP/PAE handling, group_fwd_mask */
        CONTROL,
        /** flooded: broadcast, multicast, unknown unicast */
        FLOODED,
        /** known unicast to one port (or to none, when should_deliver refuses) */
        KNOWN_UNICAST,
        /** for the host only: a local FDB entry */
        LOCAL,
        /** passed up the port device itself (port disabled: br_handle_local_finish) */
        PORT_DEVICE
    }

    record Outcome(Kind kind, Set<Integer> ports, boolean host, Learning learning) {
        static Outcome of(Kind kind, Learning l) {
            return new Outcome(kind, Set.of(), false, l);
        }
    }

    static Outcome receive(Model.Bridge br, Model.Port p, Model.Frame f) {
        MacAddress src = f.src();
        MacAddress dst = f.dst();
        // br_handle_frame: if (!is_valid_ether_addr(eth_hdr(skb)->h_source)) goto drop;
        if (src.isMulticast() || src.bits() == 0) {
            return Outcome.of(Kind.DROPPED, Learning.NONE);
        }
        // br_handle_frame: if (unlikely(is_link_local_ether_addr(dest))) { ... group_fwd_mask, STP ... }
        if (dst.isLinkLocal()) {
            return Outcome.of(Kind.CONTROL, Learning.NONE);
        }
        // br_handle_frame: switch (p->state): DISABLED -> br_handle_local_finish, RX_HANDLER_PASS;
        // FORWARDING, LEARNING -> nf_hook_bridge_pre -> br_handle_frame_finish; default -> drop
        switch (p.state()) {
            case Model.DISABLED:
                return Outcome.of(Kind.PORT_DEVICE, Learning.NONE);
            case Model.FORWARDING:
            case Model.LEARNING:
                break;
            default:
                return Outcome.of(Kind.DROPPED, Learning.NONE);
        }
        // br_handle_frame_finish: if (p->flags & BR_PORT_LOCKED) { fdb_src = br_fdb_find_rcu(...);
        //   !fdb_src -> drop (MAB: create a locked entry); fdb_src->dst != p || LOCAL -> drop; LOCKED -> refresh, drop }
        Model.Fdb srcEntry = br.fdb().get(src);
        if (p.locked()) {
            if (srcEntry == null) {
                return Outcome.of(Kind.DROPPED, p.mab() ? Learning.CREATE : Learning.NONE);
            }
            if (srcEntry.port() != p.ifindex() || srcEntry.local()) {
                return Outcome.of(Kind.DROPPED, Learning.NONE);
            }
        }
        // br_handle_frame_finish: if (p->flags & BR_LEARNING) br_fdb_update(br, p, h_source, vid, 0);
        Learning learning = Learning.NONE;
        int srcPortAfter = srcEntry == null ? -1 : srcEntry.port();
        if (p.learning()) {
            if (srcEntry == null) {
                learning = Learning.CREATE;
                srcPortAfter = p.ifindex();
            } else if (srcEntry.local()) {
                // br_fdb_update: "received packet on %s with own address as source address"
                learning = Learning.NONE;
            } else if (srcEntry.port() != p.ifindex() && !srcEntry.sticky()) {
                // br_fdb_update: if (unlikely(source != READ_ONCE(fdb->dst) && !test_bit(BR_FDB_STICKY, ...)))
                learning = Learning.MOVE;
                srcPortAfter = p.ifindex();
            } else {
                learning = Learning.REFRESH;
            }
        }
        // br_handle_frame_finish: local_rcv = promisc; broadcast -> local_rcv = true; multicast -> snooping
        boolean localRcv = br.promiscuous();
        if (dst.isMulticast()) {
            if (p.state() == Model.LEARNING) {
                return Outcome.of(Kind.DROPPED, learning);
            }
            return new Outcome(Kind.FLOODED, Set.of(), true, learning);
        }
        // br_handle_frame_finish: if (state == BR_STATE_LEARNING) goto drop;
        if (p.state() == Model.LEARNING) {
            return Outcome.of(Kind.DROPPED, learning);
        }
        // br_handle_frame_finish: case BR_PKT_UNICAST: dst = br_fdb_find_rcu(br, h_dest, vid);
        // (after br_fdb_update, so a frame whose dst equals its src sees the updated entry)
        Model.Fdb dstEntry = br.fdb().get(dst);
        if (dstEntry != null && dst.equals(src) && learning != Learning.NONE) {
            dstEntry = new Model.Fdb(srcPortAfter, false, dstEntry.sticky(), dstEntry.dynamic());
        } else if (dstEntry == null && dst.equals(src) && learning == Learning.CREATE) {
            dstEntry = new Model.Fdb(srcPortAfter, false, false, true);
        }
        if (dstEntry == null) {
            // br_flood(br, skb, pkt_type, local_rcv, false, vid)
            return new Outcome(Kind.FLOODED, Set.of(), localRcv, learning);
        }
        // if (test_bit(BR_FDB_LOCAL, &dst->flags)) return br_pass_frame_up(skb, false);
        if (dstEntry.local()) {
            return new Outcome(Kind.LOCAL, Set.of(), true, learning);
        }
        // br_forward(dst->dst, ...): should_deliver(to, skb):
        //   ((to->flags & BR_HAIRPIN_MODE) || skb->dev != to->dev) && to->state == BR_STATE_FORWARDING
        //   && !br_skb_isolated(to, skb)   [src_port_isolated && (to->flags & BR_ISOLATED)]
        Model.Port to = br.port(dstEntry.port());
        if (to == null) {
            return new Outcome(Kind.KNOWN_UNICAST, Set.of(), localRcv, learning);
        }
        boolean deliver = (to.hairpin() || to.ifindex() != p.ifindex())
                && to.state() == Model.FORWARDING
                && !(p.isolated() && to.isolated());
        return new Outcome(Kind.KNOWN_UNICAST, deliver ? Set.of(to.ifindex()) : Set.of(), localRcv, learning);
    }
}
