// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The xbridge datapath: forwards known unicast between ports of a Linux
 * bridge and hands every other frame to the kernel bridge unchanged.
 *
 * The kernel bridge stays the source of truth. The decision mirrors
 * br_handle_frame() and br_handle_frame_finish() (net/bridge/br_input.c) and
 * should_deliver() (net/bridge/br_forward.c) for the cases it accelerates;
 * everything else is XDP_PASS, so the kernel sees exactly the frames it
 * would have seen without xbridge, minus the known unicast it would have
 * forwarded the same way. docs/design.md lists each rule.
 *
 * Two entry points share the decision core: XDP (xbridge_xdp), for ports
 * whose frames arrive finished, and TC ingress (xbridge_tc), for ports whose
 * frames carry checksum or GSO state that only an sk_buff keeps.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "xbridge.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set at load time by the test suite: record every decision in the trace map. */
const volatile __u32 xb_trace = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XB_MAX_PORTS);
	/*
	 * No preallocation: a preallocated element is reused at once after a
	 * delete or update, so a lookup on another CPU could read another
	 * entry's fields. Without it elements are freed after an RCU grace period.
	 */
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct xb_port);
} ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536); /* the loader sets the configured size */
	__uint(map_flags, BPF_F_NO_PREALLOC); /* see ports */
	__type(key, struct xb_fdb_key);
	__type(value, struct xb_fdb_val);
} fdb SEC(".maps");

/* XDP redirect targets. A port is here only when it can receive XDP frames (XB_PORT_XDP_EGRESS). */
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, XB_MAX_PORTS);
	__type(key, __u32);
	__type(value, __u32);
} tx_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XB_MAX_PORTS);
	__type(key, __u32);
	__type(value, struct xb_stats);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xb_decision);
} trace SEC(".maps");


static __always_inline int mac_is_multicast(const __u8 *mac)
{
	return mac[0] & 1;
}

static __always_inline int mac_is_zero(const __u8 *mac)
{
	return !(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]);
}

static __always_inline int mac_is_broadcast(const __u8 *mac)
{
	return (mac[0] & mac[1] & mac[2] & mac[3] & mac[4] & mac[5]) == 0xff;
}

/* is_link_local_ether_addr(): 01:80:c2:00:00:0X, which br_handle_frame() treats apart. */
static __always_inline int mac_is_link_local(const __u8 *mac)
{
	return mac[0] == 0x01 && mac[1] == 0x80 && mac[2] == 0xc2 && mac[3] == 0 && mac[4] == 0 &&
	       (mac[5] & 0xf0) == 0;
}

/*
 * An ARP/RARP frame, or an ICMPv6 neighbour solicitation or advertisement
 * directly after the IPv6 header, as br_handle_frame_finish() picks them for
 * br_do_proxy_suppress_arp() and br_do_suppress_nd() (br_is_nd_neigh_msg).
 */
static __always_inline int is_neigh_frame(struct ethhdr *eth, void *data_end)
{
	if (eth->h_proto == bpf_htons(ETH_P_ARP) || eth->h_proto == bpf_htons(ETH_P_RARP))
		return 1;
	if (eth->h_proto != bpf_htons(ETH_P_IPV6))
		return 0;
	struct ipv6hdr *ip6 = (void *)(eth + 1);
	__u8 *icmp_type = (__u8 *)(ip6 + 1);
	if ((void *)(icmp_type + 1) > data_end)
		return 0;
	return ip6->nexthdr == 58 /* IPPROTO_ICMPV6 */ && (*icmp_type == 135 || *icmp_type == 136);
}

static __always_inline void fdb_key(struct xb_fdb_key *key, __u32 bridge, const __u8 *mac)
{
	key->bridge = bridge;
	key->vid = 0;
	__builtin_memcpy(key->mac, mac, 6);
}

static __always_inline int decided(struct xb_decision *d, __u32 action, __u32 reason)
{
	d->action = action;
	d->reason = reason;
	return action;
}

/* What an entry point needs to know of the egress port of a redirect. */
struct xb_egress {
	__u32 mtu;
	__u16 flags;
};

/*
 * The decision core, shared by every entry point. Fills *d and returns its
 * action. can_take is the XB_PORT_* flag an egress port needs for this entry
 * point's redirect (an XDP frame and an sk_buff go to different targets);
 * *out_port gets the egress port's facts on a redirect. Each check is one
 * rule of the kernel bridge; the order follows br_handle_frame() then
 * br_handle_frame_finish() then should_deliver().
 */
static __always_inline int xb_decide(void *data, void *data_end, __u32 ingress, __u16 can_take,
				     struct xb_decision *d, struct xb_egress *out_port)
{
	struct ethhdr *eth = data;

	d->egress = 0;
	d->slot = 0;
	out_port->mtu = 0;
	out_port->flags = 0;

	if ((void *)(eth + 1) > data_end)
		return decided(d, XB_ACT_PASS, XB_PASS_MALFORMED);

	struct xb_port *in = bpf_map_lookup_elem(&ports, &ingress);
	if (!in)
		return decided(d, XB_ACT_PASS, XB_PASS_NOT_PORT);
	__u32 bridge = in->bridge;
	__u16 in_flags = in->flags;
	__u8 in_state = in->state;
	__u32 sample_ms = in->sample_ms;
	d->slot = in->slot;

	/* br_handle_frame: !is_valid_ether_addr(h_source) -> drop. The kernel drops it. */
	if (mac_is_multicast(eth->h_source) || mac_is_zero(eth->h_source))
		return decided(d, XB_ACT_PASS, XB_PASS_SRC_INVALID);

	/*
	 * br_fdb_update() runs for every frame the kernel takes from a learning
	 * port in the learning or forwarding state, broadcast, multicast and
	 * link-local ones included. A source known behind another port is about
	 * to move: forget it now, whatever this frame's verdict, so frames to it
	 * go to the kernel until the daemon mirrors the move. Local and sticky
	 * entries do not move.
	 */
	struct xb_fdb_key key;
	struct xb_fdb_val *src = 0;
	int src_moved = 0;
	if (in_flags & XB_PORT_LEARNING) {
		fdb_key(&key, bridge, eth->h_source);
		src = bpf_map_lookup_elem(&fdb, &key);
		if (src && (src->port != ingress || (src->flags & XB_FDB_LOCAL))) {
			src_moved = 1;
			if (!(src->flags & (XB_FDB_LOCAL | XB_FDB_STICKY)) &&
			    (in_state == XB_STATE_FORWARDING || in_state == XB_STATE_LEARNING))
				bpf_map_delete_elem(&fdb, &key);
		}
	}

	/* br_handle_frame: link-local destinations go through group_fwd_mask and STP. */
	if (mac_is_link_local(eth->h_dest))
		return decided(d, XB_ACT_PASS, XB_PASS_LINK_LOCAL);
	if (in_flags & XB_PORT_KERNEL)
		return decided(d, XB_ACT_PASS, XB_PASS_PORT_KERNEL);
	/* br_handle_frame: only BR_STATE_FORWARDING reaches forwarding (LEARNING learns, then drops). */
	if (in_state != XB_STATE_FORWARDING)
		return decided(d, XB_ACT_PASS, XB_PASS_NOT_FORWARDING);
	/* A VLAN device on the port would take tagged frames before the bridge's rx_handler. */
	if (eth->h_proto == bpf_htons(ETH_P_8021Q) || eth->h_proto == bpf_htons(ETH_P_8021AD))
		return decided(d, XB_ACT_PASS, XB_PASS_VLAN);
	if (mac_is_multicast(eth->h_dest))
		return decided(d, XB_ACT_PASS, mac_is_broadcast(eth->h_dest) ? XB_PASS_BROADCAST : XB_PASS_MULTICAST);
	/*
	 * With proxy_arp, proxy_arp_wifi or neigh_suppress on any port of the
	 * bridge, the kernel may answer or suppress ARP/ND from any port (the
	 * target's port flags count too): those frames are the kernel's.
	 */
	if ((in_flags & XB_PORT_NEIGH) && is_neigh_frame(eth, data_end))
		return decided(d, XB_ACT_PASS, XB_PASS_PORT_KERNEL);
	if (in_flags & XB_PORT_LEARNING) {
		if (!src)
			return decided(d, XB_ACT_PASS, XB_PASS_SRC_UNKNOWN);
		if (src_moved)
			return decided(d, XB_ACT_PASS, XB_PASS_SRC_MOVED);
	}

	fdb_key(&key, bridge, eth->h_dest);
	struct xb_fdb_val *dst = bpf_map_lookup_elem(&fdb, &key);
	if (!dst)
		return decided(d, XB_ACT_PASS, XB_PASS_DST_UNKNOWN);
	__u32 egress = dst->port;
	if (dst->flags & XB_FDB_LOCAL)
		return decided(d, XB_ACT_PASS, XB_PASS_DST_LOCAL);
	/* should_deliver(): back out of the ingress port only with hairpin; the kernel decides. */
	if (egress == ingress)
		return decided(d, XB_ACT_PASS, XB_PASS_SAME_PORT);

	struct xb_port *out = bpf_map_lookup_elem(&ports, &egress);
	if (!out)
		return decided(d, XB_ACT_PASS, XB_PASS_EGRESS_UNAVAILABLE);
	__u16 out_flags = out->flags;
	if (!(out_flags & can_take) || out->bridge != bridge)
		return decided(d, XB_ACT_PASS, XB_PASS_EGRESS_UNAVAILABLE);
	if (out->state != XB_STATE_FORWARDING)
		return decided(d, XB_ACT_PASS, XB_PASS_EGRESS_BLOCKED);
	/* should_deliver(): br_skb_isolated() */
	if ((in_flags & XB_PORT_ISOLATED) && (out_flags & XB_PORT_ISOLATED))
		return decided(d, XB_ACT_PASS, XB_PASS_ISOLATED);

	/*
	 * Aging: the kernel refreshes fdb->updated only for frames it sees
	 * (br_fdb_update). Once per sample period, this source's frame goes to the
	 * kernel, which refreshes the entry itself and forwards the frame to the
	 * same port; every other frame takes the fast path.
	 */
	if (src && (src->flags & XB_FDB_REFRESH) && sample_ms) {
		__u64 now = bpf_ktime_get_ns();
		if (now - src->sampled_ns >= (__u64)sample_ms * 1000000ULL) {
			src->sampled_ns = now;
			return decided(d, XB_ACT_PASS, XB_PASS_AGING);
		}
	}

	d->egress = egress;
	out_port->flags = out_flags;
	out_port->mtu = out->mtu;
	return decided(d, XB_ACT_REDIRECT, XB_REDIRECT);
}

static __always_inline void count(struct xb_decision *d, __u64 bytes)
{
	__u32 slot = d->slot;
	struct xb_stats *s = bpf_map_lookup_elem(&stats, &slot);

	if (s) {
		__u32 reason = d->reason;
		if (reason < XB_REASON_COUNT)
			s->packets[reason]++; /* per-CPU: no atomics needed */
		if (reason == XB_REDIRECT)
			s->redirect_bytes += bytes;
	}
	if (xb_trace) {
		__u32 zero = 0;
		bpf_map_update_elem(&trace, &zero, d, BPF_ANY);
	}
}

SEC("xdp")
int xbridge_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct xb_decision d;
	struct xb_egress out;
	/* Oversized frames need no check here: the devmap's xdp_ok_fwd_dev() drops them, as the kernel would. */
	int action = xb_decide(data, data_end, ctx->ingress_ifindex, XB_PORT_XDP_EGRESS, &d, &out);
	int verdict = XDP_PASS;

	if (action == XB_ACT_REDIRECT) {
		/* Lower bits of flags are the return value when the key is missing (since 5.6). */
		verdict = bpf_redirect_map(&tx_ports, d.egress, XDP_PASS);
		if (verdict != XDP_REDIRECT) {
			d.action = XB_ACT_PASS;
			d.reason = XB_PASS_REDIRECT_FAILED;
		}
	} else if (action == XB_ACT_DROP) {
		verdict = XDP_DROP;
	}
	count(&d, data_end - data);
	return verdict;
}

/*
 * TC ingress (tcx link, or clsact + cls_bpf in direct-action mode). The
 * sk_buff keeps CHECKSUM_PARTIAL and GSO state through a redirect, so this
 * entry is exact for senders with offloads on, which XDP is not.
 */
SEC("tc")
int xbridge_tc(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;

	/* The MAC header is linear after eth_type_trans(); pull only if a driver left it paged. */
	if (data + ETH_HLEN > data_end) {
		bpf_skb_pull_data(skb, ETH_HLEN);
		data = (void *)(long)skb->data;
		data_end = (void *)(long)skb->data_end;
	}

	struct xb_decision d;
	struct xb_egress out;
	int action = xb_decide(data, data_end, skb->ifindex, XB_PORT_EGRESS, &d, &out);
	int verdict = TC_ACT_OK;

	/*
	 * br_dev_queue_push_xmit(): is_skb_forwardable() drops a frame larger
	 * than the egress MTU (plus Ethernet and VLAN header) unless it is GSO.
	 * bpf_redirect and bpf_redirect_peer do not check: the kernel must.
	 */
	if (action == XB_ACT_REDIRECT && !skb->gso_size && out.mtu && skb->len > out.mtu + ETH_HLEN + 4) {
		action = XB_ACT_PASS;
		d.action = XB_ACT_PASS;
		d.reason = XB_PASS_TOO_BIG;
		d.egress = 0;
	}

	if (action == XB_ACT_REDIRECT) {
		/*
		 * bpf_redirect_peer(port): skb_do_redirect() swaps in the port's veth
		 * peer and hands the skb to that peer's ingress in its own namespace
		 * (another __netif_receive_skb_core round), skipping the port's
		 * transmit and the backlog queue. The kernel drops it when the peer
		 * is in this namespace, so the daemon sets XB_PORT_PEER only when it
		 * is not. Otherwise bpf_redirect: the port's egress, as br_forward().
		 */
		if (out.flags & XB_PORT_PEER)
			verdict = bpf_redirect_peer(d.egress, 0);
		else
			verdict = bpf_redirect(d.egress, 0);
		if (verdict != TC_ACT_REDIRECT) {
			verdict = TC_ACT_OK;
			d.action = XB_ACT_PASS;
			d.reason = XB_PASS_REDIRECT_FAILED;
		}
	} else if (action == XB_ACT_DROP) {
		verdict = TC_ACT_SHOT;
	}
	count(&d, skb->len);
	return verdict;
}
