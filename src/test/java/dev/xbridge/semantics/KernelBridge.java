package dev.xbridge.semantics;

import dev.xbridge.netlink.MacAddress;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Set;

/**
 * A reference model of what the kernel bridge does with one frame arriving
 * on one port. Written from net/core/dev.c (__netif_receive_skb_core),
 * net/bridge/br_input.c (br_handle_frame, br_handle_frame_finish),
 * net/bridge/br_vlan.c (br_allowed_ingress, __allowed_ingress,
 * br_allowed_egress, br_handle_vlan), net/bridge/br_forward.c (br_forward,
 * should_deliver) and net/bridge/br_fdb.c (br_fdb_update) of Linux 6.12;
 * each step cites the condition it models. It knows nothing of xbridge.
 *
 * <p>Not modelled (the datapath never accelerates them, so the contract
 * treats them as "anything but a single known-unicast forward"): multicast
 * snooping, flooding details, group_fwd_mask, netfilter, per-VLAN
 * statistics, multiple spanning trees, VLAN tunnels, MRP/CFM frame types,
 * carrier loss with backup ports.
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

    /**
     * @param vid the VLAN the frame was classified to (0 without VLAN filtering)
     * @param out for a known-unicast delivery, the frame as the egress port transmits it
     *     (the bridge's VLAN tag, kept in the sk_buff until then, written inline)
     */
    record Outcome(Kind kind, Set<Integer> ports, boolean host, Learning learning, int vid, byte[] out) {
        static Outcome of(Kind kind, Learning l) {
            return new Outcome(kind, Set.of(), false, l, 0, null);
        }

        Outcome(Kind kind, Set<Integer> ports, boolean host, Learning learning) {
            this(kind, ports, host, learning, 0, null);
        }

        @Override
        public String toString() {
            return "Outcome[" + kind + " ports=" + ports + " host=" + host + " learning=" + learning
                    + (vid == 0 ? "" : " vid=" + vid)
                    + (out == null ? "" : " out=" + HexFormat.of().formatHex(out, 0, Math.min(out.length, 24)))
                    + "]";
        }
    }

    static Outcome receive(Model.Bridge br, Model.Port p, Model.Frame f) {
        MacAddress src = f.src();
        MacAddress dst = f.dst();
        byte[] frame = f.bytes();
        // __netif_receive_skb_core: if (eth_type_vlan(skb->protocol)) skb = skb_vlan_untag(skb); a tag
        // that cannot be pulled frees the frame. Otherwise the outer tag moves into the sk_buff.
        int tagProto = 0;
        int tci = 0;
        byte[] body = frame;
        if (f.hasOuterTag()) {
            if (frame.length < 18) {
                return Outcome.of(Kind.DROPPED, Learning.NONE);
            }
            tagProto = f.ethertype();
            tci = f.u16(14);
            body = untag(frame);
        }
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
        // br_handle_frame_finish: state = p->state; br_allowed_ingress(br, vg, skb, &vid, &state, &vlan)
        int state = p.state();
        int vid = 0;
        boolean tagged = false;
        if (br.vlanFiltering()) {
            // __allowed_ingress: a tag of another protocol goes back into the payload
            // (vlan_insert_tag_set_proto), and the frame counts as untagged.
            if (tagProto != 0 && tagProto != br.vlanProtocol()) {
                tagProto = 0;
                body = frame;
            }
            if (tagProto != 0) {
                tagged = true;
                vid = tci & 0xfff;
            }
            // if (!*vid) { pvid = br_get_pvid(vg); if (!pvid) goto drop; *vid = pvid;
            //   if (likely(!tagged)) __vlan_hwaccel_put_tag(skb, br->vlan_proto, pvid); else skb->vlan_tci |= pvid;
            if (vid == 0) {
                if (p.pvid() == 0) {
                    return Outcome.of(Kind.DROPPED, Learning.NONE);
                }
                vid = p.pvid();
                tci = tagged ? tci | vid : vid;
            }
            // v = br_vlan_find(vg, *vid); if (!v || !br_vlan_should_use(v)) goto drop;
            Model.Vlan v = p.vlans().get(vid);
            if (v == null) {
                return Outcome.of(Kind.DROPPED, Learning.NONE);
            }
            // if (*state == BR_STATE_FORWARDING) { *state = br_vlan_get_state(v);
            //   if (!br_vlan_state_allowed(*state, true)) goto drop; }
            if (state == Model.FORWARDING) {
                state = v.state();
                if (state != Model.FORWARDING && state != Model.LEARNING) {
                    return Outcome.of(Kind.DROPPED, Learning.NONE);
                }
            }
        } else if (tagProto != 0) {
            // Without VLAN filtering the tag stays on the frame end to end.
            body = frame;
        }
        final int classified = vid;
        // br_handle_frame_finish: if (p->flags & BR_PORT_LOCKED) { fdb_src = br_fdb_find_rcu(...);
        //   !fdb_src -> drop (MAB: create a locked entry); fdb_src->dst != p || LOCAL -> drop; LOCKED -> refresh, drop }
        Model.Fdb srcEntry = br.fdb().get(new Model.Key(vid, src));
        if (p.locked()) {
            if (srcEntry == null) {
                return new Outcome(Kind.DROPPED, Set.of(), false, p.mab() ? Learning.CREATE : Learning.NONE, vid, null);
            }
            if (srcEntry.port() != p.ifindex() || srcEntry.local()) {
                return new Outcome(Kind.DROPPED, Set.of(), false, Learning.NONE, vid, null);
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
            if (state == Model.LEARNING) {
                return new Outcome(Kind.DROPPED, Set.of(), false, learning, classified, null);
            }
            return new Outcome(Kind.FLOODED, Set.of(), true, learning, classified, null);
        }
        // br_handle_frame_finish: if (state == BR_STATE_LEARNING) goto drop;
        if (state == Model.LEARNING) {
            return new Outcome(Kind.DROPPED, Set.of(), false, learning, classified, null);
        }
        // br_handle_frame_finish: case BR_PKT_UNICAST: dst = br_fdb_find_rcu(br, h_dest, vid);
        // (after br_fdb_update, so a frame whose dst equals its src sees the updated entry)
        Model.Fdb dstEntry = br.fdb().get(new Model.Key(vid, dst));
        if (dstEntry != null && dst.equals(src) && learning != Learning.NONE) {
            dstEntry = new Model.Fdb(srcPortAfter, false, dstEntry.sticky(), dstEntry.dynamic());
        } else if (dstEntry == null && dst.equals(src) && learning == Learning.CREATE) {
            dstEntry = new Model.Fdb(srcPortAfter, false, false, true);
        }
        if (dstEntry == null) {
            // br_flood(br, skb, pkt_type, local_rcv, false, vid)
            return new Outcome(Kind.FLOODED, Set.of(), localRcv, learning, classified, null);
        }
        // if (test_bit(BR_FDB_LOCAL, &dst->flags)) return br_pass_frame_up(skb, false);
        if (dstEntry.local()) {
            return new Outcome(Kind.LOCAL, Set.of(), true, learning, classified, null);
        }
        // br_forward(dst->dst, ...): should_deliver(to, skb):
        //   ((to->flags & BR_HAIRPIN_MODE) || skb->dev != to->dev) && to->state == BR_STATE_FORWARDING
        //   && br_allowed_egress(vg, skb) && !br_skb_isolated(to, skb)   [src_port_isolated && (to->flags & BR_ISOLATED)]
        // br_allowed_egress: vlan_filtered -> v = br_vlan_find(vg, vid) && br_vlan_state(v) == BR_STATE_FORWARDING
        Model.Port to = br.port(dstEntry.port());
        if (to == null) {
            return new Outcome(Kind.KNOWN_UNICAST, Set.of(), localRcv, learning, classified, null);
        }
        Model.Vlan egressVlan = br.vlanFiltering() ? to.vlans().get(vid) : null;
        boolean deliver = (to.hairpin() || to.ifindex() != p.ifindex())
                && to.state() == Model.FORWARDING
                && (!br.vlanFiltering() || (egressVlan != null && egressVlan.state() == Model.FORWARDING))
                && !(p.isolated() && to.isolated());
        if (!deliver) {
            return new Outcome(Kind.KNOWN_UNICAST, Set.of(), localRcv, learning, classified, null);
        }
        // br_handle_vlan: if (v->flags & BRIDGE_VLAN_INFO_UNTAGGED) __vlan_hwaccel_clear_tag(skb);
        // otherwise the tag stays, and the port's transmit writes it into the frame.
        byte[] out = br.vlanFiltering() && !egressVlan.untagged() ? tag(body, br.vlanProtocol(), tci) : body;
        return new Outcome(Kind.KNOWN_UNICAST, Set.of(to.ifindex()), localRcv, learning, classified, out);
    }

    /** The frame without its outer tag (bytes 12..15). */
    static byte[] untag(byte[] frame) {
        byte[] out = new byte[frame.length - 4];
        System.arraycopy(frame, 0, out, 0, 12);
        System.arraycopy(frame, 16, out, 12, frame.length - 16);
        return out;
    }

    /** The frame with a tag of {@code proto} and {@code tci} after the MACs. */
    static byte[] tag(byte[] frame, int proto, int tci) {
        byte[] out = Arrays.copyOf(frame, frame.length + 4);
        System.arraycopy(frame, 12, out, 16, frame.length - 12);
        out[12] = (byte) (proto >> 8);
        out[13] = (byte) proto;
        out[14] = (byte) (tci >> 8);
        out[15] = (byte) tci;
        return out;
    }
}
