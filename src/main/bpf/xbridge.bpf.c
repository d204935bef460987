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
/* Set at load time where loads are ordered (x86): look up the fdb through fdb_cache (xbridge.h). */
const volatile __u32 xb_fdb_cache = 0;
/*
 * Set at load time with the caches' size (dev.xbridge.bridge.CacheSize): the
 * hashes keep their top bits, so a cache of 1 << b sets shifts by 32 - b. The
 * loader sets the maps' max_entries to match. The verifier knows both values.
 */
const volatile __u32 xb_flow_cache_shift = 32 - XB_FLOW_CACHE_BITS;
const volatile __u32 xb_fdb_cache_shift = 32 - XB_FDB_CACHE_BITS;

/* ifindex -> slot, for ifindex < XB_IFINDEX_DIRECT. 0: not a port. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XB_IFINDEX_DIRECT);
	__type(key, __u32);
	__type(value, __u32);
} port_slots SEC(".maps");

/* ifindex -> slot, for the rest (ifindexes grow with every device a namespace ever made). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XB_MAX_PORTS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, __u32);
} port_slots_far SEC(".maps");

/* slot -> port; xbridge.h says how a record is read while it is written. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XB_MAX_PORTS);
	__type(key, __u32);
	__type(value, struct xb_port);
} ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536); /* the loader sets the configured size */
	/*
	 * No preallocation: a preallocated element is reused at once after a
	 * delete or update, so a lookup on another CPU could read another
	 * entry's fields. Without it elements are freed after an RCU grace period.
	 */
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct xb_fdb_key);
	__type(value, struct xb_fdb_val);
} fdb SEC(".maps");

/*
 * Bumped after every change of fdb; the daemon maps it and adds with an atomic
 * instruction. A global in a section of its own, so the map (".data.fdb_gen",
 * BPF_F_MMAPABLE as all global data) holds only it, and a frame reads it with
 * one load where a map lookup took a dozen instructions.
 */
__u64 fdb_gen SEC(".data.fdb_gen") = 0;

/* Per CPU: copies of fdb lookups, valid while fdb_gen is unchanged (xbridge.h). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1 << XB_FDB_CACHE_BITS); /* the loader sets the configured size */
	__type(key, __u32);
	__type(value, struct xb_fdb_cache_set);
} fdb_cache SEC(".maps");

/*
 * Per CPU: copies of REDIRECT decisions by ingress port and MACs, valid while
 * fdb_gen is unchanged (xbridge.h). A plain array of each CPU's sets in turn,
 * not a per-CPU array: see xbridge.h.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1 << XB_FLOW_CACHE_BITS); /* the loader sets its size: sets per CPU x possible CPUs */
	/*
	 * Not to be mapped: mappable, the values start on a page, so each way is
	 * one cache line. Otherwise they start 312 bytes into the array's header
	 * (6.18), 56 bytes into a line, and a way's key spans two lines.
	 */
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct xb_flow_set);
} flow_cache SEC(".maps");

/* XDP redirect targets by slot. A port is here only when it can receive XDP frames (XB_PORT_XDP_EGRESS). */
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, XB_MAX_PORTS);
	__type(key, __u32);
	__type(value, __u32);
} tx_ports SEC(".maps");

/* VLAN membership of ports of bridges with VLAN filtering. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536); /* the loader sets the configured size */
	__uint(map_flags, BPF_F_NO_PREALLOC); /* see fdb */
	__type(key, struct xb_vlan_key);
	__type(value, struct xb_vlan);
} port_vlans SEC(".maps");

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
 * proto and l3 are skb->protocol and the network header after the bridge's
 * own VLAN tag, if any, is taken off.
 */
static __always_inline int is_neigh_frame(__be16 proto, void *l3, void *data_end)
{
	if (proto == bpf_htons(ETH_P_ARP) || proto == bpf_htons(ETH_P_RARP))
		return 1;
	if (proto != bpf_htons(ETH_P_IPV6))
		return 0;
	struct ipv6hdr *ip6 = l3;
	__u8 *icmp_type = (__u8 *)(ip6 + 1);
	if ((void *)(icmp_type + 1) > data_end)
		return 0;
	return ip6->nexthdr == 58 /* IPPROTO_ICMPV6 */ && (*icmp_type == 135 || *icmp_type == 136);
}

/*
 * Writes the key as three 32-bit words, the width fdb_cache_set() and
 * fdb_key_equal() read it back at: a word loaded from narrower stores just
 * made cannot be forwarded from the store buffer and stalls the load (it was
 * the hottest spot of the program). mac is in the frame, at any alignment.
 */
static __always_inline void fdb_key(struct xb_fdb_key *key, __u32 bridge, __u16 vid, const __u8 *mac)
{
	__u32 *w = (void *)key;
	__u16 mac01;
	__u32 mac25;

	__builtin_memcpy(&mac01, mac, 2);
	__builtin_memcpy(&mac25, mac + 2, 4);
	w[0] = bridge;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	w[1] = (__u32)vid | (__u32)mac01 << 16;
#else
	w[1] = (__u32)vid << 16 | (__u32)mac01;
#endif
	w[2] = mac25;
}

_Static_assert(__builtin_offsetof(struct xb_fdb_key, vid) == 4 && __builtin_offsetof(struct xb_fdb_key, mac) == 6,
	       "fdb_key writes vid and mac[0..1] as the second word");

static __always_inline int fdb_key_equal(const struct xb_fdb_key *a, const struct xb_fdb_key *b)
{
	const __u32 *x = (const void *)a;
	const __u32 *y = (const void *)b;
	return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2])) == 0;
}

/* The key's set in fdb_cache: a multiplicative hash of its three words, top bits. */
static __always_inline __u32 fdb_cache_set(const struct xb_fdb_key *key)
{
	const __u32 *w = (const void *)key;
	__u32 h = (w[0] * 0x9e3779b1u) ^ (w[1] * 0x85ebca77u) ^ (w[2] * 0xc2b2ae3du);
	h *= 0x9e3779b1u;
	return h >> xb_fdb_cache_shift;
}

_Static_assert(XB_FDB_CACHE_WAYS == 2, "fdb_find looks at two ways");
_Static_assert(sizeof(struct xb_fdb_key) == 12, "fdb_key_equal compares three words");

static __always_inline __u64 fdb_gen_read(void)
{
	return *(volatile __u64 *)&fdb_gen;
}

/* fdb_gen now, read once per frame before any fdb lookup; 0 with the cache off. */
static __always_inline __u64 fdb_generation_now(void)
{
	return xb_fdb_cache ? fdb_gen_read() : 0;
}

/*
 * Announces a change of the fdb map to every CPU's fdb_cache. The daemon does
 * the same after its own changes.
 */
static __always_inline void fdb_changed(void)
{
	__sync_fetch_and_add(&fdb_gen, 1);
}

/*
 * The way of a two-way set (fdb_cache, flow_cache) that a miss fills: a stale
 * way first; else first in, first out: way 0 moves to way 1. A hit writes
 * nothing. A macro, as the two caches' sets are of different types.
 */
#define cache_way_to_fill(set, gen)                                  \
	({                                                           \
		__typeof__(&(set)->way[0]) way_;                     \
		if ((set)->way[0].gen != (gen)) {                    \
			way_ = &(set)->way[0];                       \
		} else if ((set)->way[1].gen != (gen)) {             \
			way_ = &(set)->way[1];                       \
		} else {                                             \
			(set)->way[1] = (set)->way[0];               \
			way_ = &(set)->way[0];                       \
		}                                                    \
		way_;                                                \
	})

static __always_inline struct xb_port *port_of(__u32 ifindex, __u32 *slot);

/*
 * The fdb entry for key as this frame sees it: a copy in this CPU's fdb_cache,
 * made now from the fdb map or earlier in generation gen, which the frame read
 * from fdb_gen before it looked at the map (fdb_generation_now). 0 when the map
 * has no entry. The copy's sampled_ns is only a hint; the map's is the one
 * aging counts. With the cache off the copy goes to scratch, and gets its
 * port's record only when with_port asks (a cached copy always has it: the
 * source's copy may be found later as a destination).
 */
static __always_inline struct xb_fdb_cached *fdb_find(const struct xb_fdb_key *key, __u64 gen,
						     struct xb_fdb_cached *scratch, int with_port)
{
	struct xb_fdb_cache_set *set = 0;
	struct xb_fdb_cached *c = scratch;

	if (xb_fdb_cache) {
		__u32 at = fdb_cache_set(key);
		set = bpf_map_lookup_elem(&fdb_cache, &at);
		if (set) {
			if (set->way[0].gen == gen && fdb_key_equal(&set->way[0].key, key))
				return &set->way[0];
			if (set->way[1].gen == gen && fdb_key_equal(&set->way[1].key, key))
				return &set->way[1];
		}
	}
	struct xb_fdb_val *v = bpf_map_lookup_elem(&fdb, key);
	if (!v)
		return 0;
	if (set)
		c = cache_way_to_fill(set, gen);
	c->key = *key;
	c->flags = v->flags;
	c->port = v->port;
	c->sampled_ns = v->sampled_ns;
	c->pad = 0;
	/*
	 * The port's record, read after gen as the entry is: the daemon bumps
	 * fdb_gen after every write of ports and port_slots too. A port of
	 * another bridge (moved, its entries not yet gone) is no port here.
	 */
	__u32 out_slot = 0;
	struct xb_port *out = (set || with_port) && v->port ? port_of(v->port, &out_slot) : 0;
	if (out && out->bridge == key->bridge) {
		c->out_flags = out->flags;
		c->out_state = out->state;
		c->out_mtu = out->mtu;
		c->out_slot = out_slot;
		c->out_found = 1;
	} else {
		c->out_flags = 0;
		c->out_state = XB_STATE_DISABLED;
		c->out_mtu = 0;
		c->out_slot = 0;
		c->out_found = 0;
	}
	/* Last: a copy is never seen with a current generation and old fields (no nesting on a CPU, but cheap). */
	c->gen = gen;
	return c;
}

/*
 * CLOCK_MONOTONIC in ns, at most a tick old: read again once per tick, CPU
 * and slot (struct xb_clock), into the ingress slot's stats st.
 */
static __always_inline __u64 now_ns(struct xb_stats *st)
{
	__u64 j = bpf_jiffies64();

	if (!st)
		return bpf_ktime_get_ns();
	struct xb_clock *c = &st->clock;
	if (c->jiffies != j) {
		c->ns = bpf_ktime_get_ns();
		c->jiffies = j;
	}
	return c->ns;
}

/*
 * Whether period has passed since then. Signed: another CPU may have stored a
 * time up to a tick newer than this CPU's now.
 */
static __always_inline int elapsed(__u64 now, __u64 then, __u64 period)
{
	return (__s64)(now - then) >= (__s64)period;
}

/*
 * Aging (xb_decide), in two steps so that the cheap one runs first. Whether
 * the source's entry is due for a sample by this CPU's hint, the last
 * sampled_ns this CPU saw; *now gets the time.
 */
static __always_inline int aging_due(struct xb_stats *st, __u32 sample_ms, __u64 hint, __u64 *now)
{
	*now = now_ns(st);
	return elapsed(*now, hint, (__u64)sample_ms * 1000000ULL);
}

/*
 * Then, when due: whether this frame goes to the kernel so that it refreshes
 * the entry. The map says whether another CPU has sampled since, and *hint
 * gets its value. An entry deleted meanwhile is the daemon's to announce: its
 * frame takes the fast path, as it would have a moment earlier.
 */
static __always_inline int aging_sample(const struct xb_fdb_key *src_key, __u32 sample_ms, __u64 now, __u64 *hint)
{
	struct xb_fdb_val *v = bpf_map_lookup_elem(&fdb, src_key);
	if (!v)
		return 0;
	int sample = elapsed(now, v->sampled_ns, (__u64)sample_ms * 1000000ULL);
	if (sample)
		v->sampled_ns = now;
	*hint = v->sampled_ns;
	return sample;
}

/*
 * A flow_cache key: the ingress ifindex and the frame's destination and
 * source MAC (its first 12 bytes) as two little-endian 64-bit words, the
 * ifindex in the low half of the first (xb_flow.key). Two words, not four:
 * the compare of a way and the hash take half the loads and operations,
 * and the key fits in registers. Read as words: without the alignment hints
 * clang splits each into byte loads and shifts (a third of the hit path's
 * instructions). x86 loads words at any address, the verifier checks packet
 * alignment only where the architecture cannot, and flow_cache is on only on
 * x86 (xb_fdb_cache): elsewhere the verifier never reaches this code.
 */
static __always_inline void flow_key(__u64 *k, __u32 ingress, const struct ethhdr *eth)
{
	const __u32 *w = __builtin_assume_aligned(eth, 4);
	const __u64 *q = __builtin_assume_aligned((const char *)eth + 4, 8);

	k[0] = ingress | (__u64)w[0] << 32;
	k[1] = *q;
}

_Static_assert(XB_FLOW_CACHE_WAYS == 2, "xb_decide looks at two ways");
_Static_assert(sizeof(struct xb_flow) == 64, "a copied flow is one cache line");

/*
 * A key's two sets in flow_cache (xbridge.h, xb_flow_set): one 32-bit mix of
 * its two words (64-bit multiplicative hashes, halves folded), then a
 * multiplicative hash of its own for each set, top bits. DatapathTest.flowSets
 * mirrors it.
 */
struct xb_flow_hash {
	__u64 cpu; /* this CPU's number << 32: shifted with a hash, the index of its set 0 */
	__u32 mix;
};

static __always_inline __u64 flow_cpu(void)
{
	return (__u64)bpf_get_smp_processor_id() << 32;
}

static __always_inline __u32 flow_mix(const __u64 *k)
{
	__u64 m = (k[0] * 0x9e3779b97f4a7c15ull) ^ (k[1] * 0xc2b2ae3d27d4eb4full);

	return (__u32)(m >> 32) ^ (__u32)m;
}

/*
 * The index of the set at a hash's top bits in this CPU's region: cpu << bits
 * | hash >> (32 - bits), as one 64-bit shift of cpu << 32 | hash.
 */
static __always_inline struct xb_flow_set *flow_set_at(const struct xb_flow_hash *h, __u32 mul)
{
	__u32 at = (h->cpu | (__u32)(h->mix * mul)) >> xb_flow_cache_shift;
	return bpf_map_lookup_elem(&flow_cache, &at);
}

#define XB_FLOW_FIRST_MUL 0x9e3779b1u
#define XB_FLOW_SECOND_MUL 0x85ebca77u

/*
 * The way a miss fills, in the key's first set a or its second: a stale way
 * of the first set, else of the second, else the first set's, first in first
 * out (cache_way_to_fill). A key evicted so finds a stale way in its other
 * set when it comes back, so keys spread over both until each has a way.
 */
static __always_inline struct xb_flow *flow_way_to_fill(struct xb_flow_set *a, const struct xb_flow_hash *h,
							__u64 gen)
{
	if (a->way[0].gen != gen)
		return &a->way[0];
	if (a->way[1].gen != gen)
		return &a->way[1];
	struct xb_flow_set *b = flow_set_at(h, XB_FLOW_SECOND_MUL);
	if (b && b->way[0].gen != gen)
		return &b->way[0];
	if (b && b->way[1].gen != gen)
		return &b->way[1];
	return cache_way_to_fill(a, gen);
}

static __always_inline int flow_is(const struct xb_flow *fl, const __u64 *k, __u64 gen)
{
	return fl->gen == gen && ((fl->key[0] ^ k[0]) | (fl->key[1] ^ k[1])) == 0;
}

/*
 * The fdb key of a copied flow's source, read from the copy's key rather than
 * the frame, which the frame matched (flow_key, little-endian: its bytes 6..11,
 * the source MAC, are the top six of key[1]). VLAN 0: copied flows come from
 * ports without VLAN filtering. fdb_key() writes the same words.
 */
static __always_inline void fdb_key_of_source(struct xb_fdb_key *key, const struct xb_flow *fl)
{
	__u32 *w = (void *)key;

	w[0] = fl->bridge;
	w[1] = (__u32)fl->key[1] & 0xffff0000u;
	w[2] = (__u32)(fl->key[1] >> 32);
}

/*
 * The key of this untagged frame's flow into k and its hash into h (the CPU's
 * number first: see flow_find), and its first set; 0 if there is none.
 */
static __always_inline struct xb_flow_set *flow_first_set(struct xb_flow_hash *h, __u64 *k,
							  const struct ethhdr *eth, __u32 ingress)
{
	h->cpu = flow_cpu();
	flow_key(k, ingress, eth);
	h->mix = flow_mix(k);
	return flow_set_at(h, XB_FLOW_FIRST_MUL);
}

/* The way of set that holds the copy of key k made in generation gen, or 0. */
static __always_inline struct xb_flow *flow_in(struct xb_flow_set *set, const __u64 *k, __u64 gen)
{
	if (flow_is(&set->way[0], k, gen))
		return &set->way[0];
	if (flow_is(&set->way[1], k, gen))
		return &set->way[1];
	return 0;
}

/*
 * The copy of this untagged frame's flow in this CPU's sets, or 0; the caches
 * must be on (xb_fdb_cache). To the compiler the helper calls here (the CPU's
 * number, the array lookups) are calls, and it kept everything live across
 * them on the stack, though the verifier inlines them all and clobbers
 * nothing: the CPU's number comes first, and the key is read from the frame
 * again after each lookup rather than kept, as is the set's hash before the
 * second (with xdp_decide's split, 21 stack accesses a hit down to 5). fdb_gen is read
 * after the first lookup: only this CPU writes its copies, so a copy it finds
 * current is current whichever it reads first.
 */
static __always_inline struct xb_flow *flow_find(const struct ethhdr *eth, __u32 ingress)
{
	struct xb_flow_hash h;
	struct xb_flow *fl;
	__u64 k[2];

	struct xb_flow_set *set = flow_first_set(&h, k, eth, ingress);
	if (!set)
		return 0;
	__u64 gen = fdb_gen_read();
	flow_key(k, ingress, eth);
	fl = flow_in(set, k, gen);
	if (fl)
		return fl;
	h.cpu = flow_cpu();
	h.mix = flow_mix(k);
	set = flow_set_at(&h, XB_FLOW_SECOND_MUL);
	if (!set)
		return 0;
	flow_key(k, ingress, eth);
	return flow_in(set, k, gen);
}

static __always_inline struct xb_vlan *port_vlan(__u32 ifindex, __u16 vid)
{
	struct xb_vlan_key key = { .ifindex = ifindex, .vid = vid };
	return bpf_map_lookup_elem(&port_vlans, &key);
}

/*
 * A function of its own, so the compiler cannot merge this lookup with the
 * port_slots one into a call with either map: the verifier inlines an array
 * lookup only at a call site that always has the same map.
 */
static __noinline __u32 *port_slot_far(__u32 ifindex)
{
	return bpf_map_lookup_elem(&port_slots_far, &ifindex);
}

/* The port with this ifindex, and its slot in *slot; 0 when it is not one. */
static __always_inline struct xb_port *port_of(__u32 ifindex, __u32 *slot)
{
	__u32 *s = ifindex < XB_IFINDEX_DIRECT ? bpf_map_lookup_elem(&port_slots, &ifindex) : port_slot_far(ifindex);
	if (!s || !*s)
		return 0;
	__u32 at = *s;
	struct xb_port *p = bpf_map_lookup_elem(&ports, &at);
	if (!p || p->ifindex != ifindex)
		return 0;
	*slot = at;
	return p;
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
	__u32 slot; /* its key in tx_ports */
	__u16 flags;
};

/*
 * A frame as the decision core sees it. The entry point finds the outer VLAN
 * tag: in the data for XDP, in the sk_buff for TC (the stack has moved it
 * there before TC ingress runs).
 */
struct xb_frame {
	struct ethhdr *eth;
	void *data_end;
	__be16 tag_proto; /* the outer tag's TPID, 0 when the frame has none */
	__u16 tci;        /* the outer tag's TCI */
	__be16 proto;     /* the ethertype after the outer tag (h_proto when untagged) */
	void *l3;         /* the header after the outer tag */
	__u8 tag_in_skb;  /* the outer tag is in the sk_buff (skb->vlan_tci), not in the data */
};

#define VLAN_VID_MASK 0x0fff

/* The jiffies at which now_ns() last read the clock into st (the aging clock's tick). */
static __always_inline __u32 clock_tick(const struct xb_stats *st)
{
	return st ? (__u32)st->clock.jiffies : 0;
}

/*
 * An untagged frame of a flow decided before, under the current generation:
 * its copy in flow_cache (xbridge.h) holds the whole decision, so the frame
 * needs no port or fdb lookup. Returns XB_REDIRECT, or XB_PASS_AGING for the
 * frame that goes to the kernel so that it refreshes the source's entry, with
 * the copy in *flp and the ingress slot's stats in *st; -1 when the whole
 * decision must run (no copy, or an egress port this entry point cannot
 * redirect to: can_take as in xb_decide). Tagged frames are never copied:
 * the callers do not ask for them. Both entry points ask this first, once a
 * frame (it samples for aging), and the XDP one forwards a frame of a copied
 * flow without the rest of its bookkeeping, which was a tenth of its time per
 * frame.
 */
static __always_inline int flow_decide(const struct ethhdr *eth, __u32 ingress, __u16 can_take,
				       struct xb_flow **flp, struct xb_stats **st)
{
	if (!xb_fdb_cache)
		return -1;
	struct xb_flow *fl = flow_find(eth, ingress);
	if (!fl || !(fl->out_flags & can_take))
		return -1;
	__u32 slot = fl->in_slot;
	*st = bpf_map_lookup_elem(&stats, &slot);
	*flp = fl;
	/* Aging, checked once per tick (xbridge.h, flow_cache). */
	if (fl->sample_ms && fl->tick != (__u32)bpf_jiffies64()) {
		__u64 now;
		if (aging_due(*st, fl->sample_ms, fl->sampled_ns, &now)) {
			struct xb_fdb_key src_key;
			fdb_key_of_source(&src_key, fl);
			if (aging_sample(&src_key, fl->sample_ms, now, &fl->sampled_ns))
				return XB_PASS_AGING;
		}
		/* Not due at now, with the hint as the map has it if it was asked. */
		fl->tick = clock_tick(*st);
	}
	return XB_REDIRECT;
}

/* *d and *out for a frame flow_decide() decided as reason from the copy fl; d starts zeroed. */
static __always_inline int flow_decided(struct xb_decision *d, struct xb_egress *out, const struct xb_flow *fl,
					int reason)
{
	d->slot = fl->in_slot;
	out->flags = 0;
	out->mtu = 0;
	out->slot = 0;
	if (reason != XB_REDIRECT)
		return decided(d, XB_ACT_PASS, reason);
	d->egress = fl->egress;
	out->flags = fl->out_flags;
	out->mtu = fl->out_mtu;
	out->slot = fl->out_slot;
	return decided(d, XB_ACT_REDIRECT, XB_REDIRECT);
}

/* include/linux/if_vlan.h (not UAPI): the 4 bytes after the TPID. */
struct vlan_hdr {
	__be16 h_vlan_TCI;
	__be16 h_vlan_encapsulated_proto;
};

/*
 * The decision core, shared by every entry point. Fills *d and returns its
 * action. can_take is the XB_PORT_* flag an egress port needs for this entry
 * point's redirect (an XDP frame and an sk_buff go to different targets);
 * *out_port gets the egress port's facts on a redirect. Each check is one
 * rule of the kernel bridge; the order follows br_handle_frame() then
 * br_handle_frame_finish() then should_deliver(). docs/semantics.md lists them.
 * *st gets the ingress port's stats on this CPU (0 before the port is known),
 * looked up once for the aging clock and the count.
 */
static __always_inline int xb_decide(struct xb_frame *f, __u32 ingress, __u16 can_take,
				     struct xb_decision *d, struct xb_egress *out_port,
				     struct xb_stats **st)
{
	struct ethhdr *eth = f->eth;

	d->egress = 0;
	d->slot = 0;
	d->vid = 0;
	d->tag = XB_TAG_KEEP;
	d->out_tagged = 0;
	d->tci = 0;
	d->tag_proto = 0;
	out_port->mtu = 0;
	out_port->slot = 0;
	out_port->flags = 0;
	*st = 0;

	/*
	 * fdb_gen, read before any map that it covers is looked at: a copy made
	 * from what this frame reads below is a copy of generation gen or later.
	 * A frame that a copy decides never gets here (flow_decide).
	 */
	__u64 gen = fdb_generation_now();

	__u32 in_slot = 0;
	struct xb_port *in = port_of(ingress, &in_slot);
	if (!in)
		return decided(d, XB_ACT_PASS, XB_PASS_NOT_PORT);
	*st = bpf_map_lookup_elem(&stats, &in_slot);
	__u32 bridge = in->bridge;
	__u16 in_flags = in->flags;
	__u8 in_state = in->state;
	__u32 sample_ms = in->sample_ms;
	d->slot = in_slot;

	/* br_handle_frame: !is_valid_ether_addr(h_source) -> drop. The kernel drops it. */
	if (mac_is_multicast(eth->h_source) || mac_is_zero(eth->h_source))
		return decided(d, XB_ACT_PASS, XB_PASS_SRC_INVALID);

	/*
	 * VLAN filtering, br_allowed_ingress() -> __allowed_ingress(): a tag of
	 * the bridge's vlan_protocol gives the VID; a frame without one (or with a
	 * tag of the other protocol, which the kernel keeps as payload) and a
	 * priority-tagged one (VID 0) get the port's PVID, and without a PVID are
	 * dropped. The port must be a member of the VLAN; when the port forwards,
	 * the VLAN's own STP state takes over: learning learns then drops, the
	 * rest drop. vlan_learn: the kernel would learn the source (br_fdb_update
	 * with this VID); vlan_fwd: it would go on to forward.
	 */
	__u16 vid = 0;
	int tagged = 0;
	int vlan_learn = 1;
	int vlan_fwd = 1;
	if (in_flags & XB_PORT_VLAN) {
		if (f->tag_proto && f->tag_proto == in->vlan_proto) {
			tagged = 1;
			vid = f->tci & VLAN_VID_MASK;
		}
		if (!vid)
			vid = in->pvid;
		struct xb_vlan *v = vid ? port_vlan(ingress, vid) : 0;
		if (!v) {
			vlan_learn = 0;
			vlan_fwd = 0;
		} else if (in_state == XB_STATE_FORWARDING) {
			vlan_learn = v->state == XB_STATE_FORWARDING || v->state == XB_STATE_LEARNING;
			vlan_fwd = v->state == XB_STATE_FORWARDING;
		}
		d->vid = vid;
	}

	/*
	 * br_fdb_update() runs for every frame the kernel takes from a learning
	 * port in the learning or forwarding state, broadcast, multicast and
	 * link-local ones included. A source known behind another port is about
	 * to move: forget it now, whatever this frame's verdict, so frames to it
	 * go to the kernel until the daemon mirrors the move. Local and sticky
	 * entries do not move.
	 */
	struct xb_fdb_key key;
	struct xb_fdb_key src_key;
	struct xb_fdb_cached src_scratch, dst_scratch;
	/*
	 * src may share its fdb_cache slot with the destination, whose lookup then
	 * takes the slot: the source's fields are read out now, and the slot is
	 * written later only if it still holds the source.
	 */
	struct xb_fdb_cached *src = 0;
	__u16 src_flags = 0;
	__u64 src_sampled_ns = 0;
	int src_moved = 0;
	if ((in_flags & XB_PORT_LEARNING) && vlan_learn) {
		fdb_key(&src_key, bridge, vid, eth->h_source);
		src = fdb_find(&src_key, gen, &src_scratch, 0);
		if (src) {
			src_flags = src->flags;
			src_sampled_ns = src->sampled_ns;
		}
		if (src && (src->port != ingress || (src_flags & XB_FDB_LOCAL))) {
			src_moved = 1;
			if (!(src_flags & (XB_FDB_LOCAL | XB_FDB_STICKY)) &&
			    (in_state == XB_STATE_FORWARDING || in_state == XB_STATE_LEARNING)) {
				bpf_map_delete_elem(&fdb, &src_key);
				fdb_changed();
			}
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
	if (in_flags & XB_PORT_VLAN) {
		if (!vlan_fwd)
			return decided(d, XB_ACT_PASS, XB_PASS_VLAN_INGRESS);
		/* An sk_buff's tag of the other protocol goes back into the payload (__allowed_ingress): the kernel's. */
		if (f->tag_in_skb && f->tag_proto && !tagged)
			return decided(d, XB_ACT_PASS, XB_PASS_VLAN);
	} else if (f->tag_proto) {
		/* Without VLAN filtering, a VLAN device on the port would take tagged frames first. */
		return decided(d, XB_ACT_PASS, XB_PASS_VLAN);
	}
	if (mac_is_multicast(eth->h_dest))
		return decided(d, XB_ACT_PASS, mac_is_broadcast(eth->h_dest) ? XB_PASS_BROADCAST : XB_PASS_MULTICAST);
	/*
	 * With proxy_arp, proxy_arp_wifi or neigh_suppress on any port of the
	 * bridge, the kernel may answer or suppress ARP/ND from any port (the
	 * target's port flags count too): those frames are the kernel's. It reads
	 * skb->protocol, which is the ethertype after the bridge's own tag.
	 */
	if (in_flags & XB_PORT_NEIGH) {
		__be16 proto = tagged ? f->proto : eth->h_proto;
		void *l3 = tagged ? f->l3 : (void *)(eth + 1);
		if (is_neigh_frame(proto, l3, f->data_end))
			return decided(d, XB_ACT_PASS, XB_PASS_PORT_KERNEL);
	}
	if (in_flags & XB_PORT_LEARNING) {
		if (!src)
			return decided(d, XB_ACT_PASS, XB_PASS_SRC_UNKNOWN);
		if (src_moved)
			return decided(d, XB_ACT_PASS, XB_PASS_SRC_MOVED);
	}

	/* br_handle_frame_finish: br_fdb_find_rcu(br, h_dest, vid) */
	fdb_key(&key, bridge, vid, eth->h_dest);
	struct xb_fdb_cached *dst = fdb_find(&key, gen, &dst_scratch, 1);
	if (!dst)
		return decided(d, XB_ACT_PASS, XB_PASS_DST_UNKNOWN);
	__u32 egress = dst->port;
	if (dst->flags & XB_FDB_LOCAL)
		return decided(d, XB_ACT_PASS, XB_PASS_DST_LOCAL);
	/* should_deliver(): back out of the ingress port only with hairpin; the kernel decides. */
	if (egress == ingress)
		return decided(d, XB_ACT_PASS, XB_PASS_SAME_PORT);

	/* The egress port's record, as the destination's copy holds it (fdb_find). */
	__u16 out_flags = dst->out_flags;
	__u32 out_mtu = dst->out_mtu;
	__u32 out_slot = dst->out_slot;
	if (!dst->out_found || !(out_flags & can_take))
		return decided(d, XB_ACT_PASS, XB_PASS_EGRESS_UNAVAILABLE);
	if (dst->out_state != XB_STATE_FORWARDING)
		return decided(d, XB_ACT_PASS, XB_PASS_EGRESS_BLOCKED);
	/*
	 * should_deliver(): br_allowed_egress() wants the egress port to be a
	 * member of the VLAN with the VLAN forwarding there; br_handle_vlan()
	 * then sends it untagged or tagged as that membership says.
	 */
	if (in_flags & XB_PORT_VLAN) {
		struct xb_vlan *ev = port_vlan(egress, vid);
		if (!ev || ev->state != XB_STATE_FORWARDING || !(out_flags & XB_PORT_VLAN))
			return decided(d, XB_ACT_PASS, XB_PASS_VLAN_EGRESS);
		d->out_tagged = !(ev->flags & XB_VLAN_UNTAGGED);
		if (ev->flags & XB_VLAN_UNTAGGED) {
			d->tag = tagged ? XB_TAG_POP : XB_TAG_KEEP;
		} else if (!tagged) {
			d->tag = XB_TAG_PUSH;
			d->tci = vid;
			d->tag_proto = in->vlan_proto;
		} else if (!(f->tci & VLAN_VID_MASK)) {
			d->tag = XB_TAG_REWRITE;
			d->tci = (f->tci & ~VLAN_VID_MASK) | vid;
			d->tag_proto = in->vlan_proto;
		}
	}
	/* should_deliver(): br_skb_isolated() */
	if ((in_flags & XB_PORT_ISOLATED) && (out_flags & XB_PORT_ISOLATED))
		return decided(d, XB_ACT_PASS, XB_PASS_ISOLATED);

	/*
	 * Aging: the kernel refreshes fdb->updated only for frames it sees
	 * (br_fdb_update). Once per sample period, this source's frame goes to the
	 * kernel, which refreshes the entry itself and forwards the frame to the
	 * same port; every other frame takes the fast path.
	 */
	__u32 ages = src && (src_flags & XB_FDB_REFRESH) ? sample_ms : 0;
	__u64 now;
	if (ages && aging_due(*st, ages, src_sampled_ns, &now)) {
		__u64 hint = src_sampled_ns;
		int sample = aging_sample(&src_key, ages, now, &hint);
		if (fdb_key_equal(&src->key, &src_key))
			src->sampled_ns = hint;
		src_sampled_ns = hint;
		if (sample)
			return decided(d, XB_ACT_PASS, XB_PASS_AGING);
	}

	/*
	 * Copy the decision for the flow's next frames, when it rests on nothing
	 * but the MACs and maps under fdb_gen (xbridge.h, flow_cache). Aging was
	 * found not due at the clock's tick, if the source's entry ages at all.
	 * The frame's flow_decide() found no copy (its key and sets are found
	 * again here, on this rarer path, to keep them out of the hit path's).
	 */
	struct xb_flow_set *fset = 0;
	struct xb_flow_hash fh;
	__u64 fkey[2];
	if (xb_fdb_cache && !f->tag_proto && !(in_flags & (XB_PORT_VLAN | XB_PORT_NEIGH))) {
		fset = flow_first_set(&fh, fkey, eth, ingress);
	}
	if (fset) {
		struct xb_flow *fl = flow_way_to_fill(fset, &fh, gen);
		fl->key[0] = fkey[0];
		fl->key[1] = fkey[1];
		fl->sampled_ns = src_sampled_ns;
		fl->bridge = bridge;
		fl->in_slot = in_slot;
		fl->egress = egress;
		fl->out_slot = out_slot;
		fl->out_mtu = out_mtu;
		fl->sample_ms = ages;
		fl->out_flags = out_flags;
		fl->pad = 0;
		fl->tick = clock_tick(*st);
		/* Last, as in fdb_find. */
		fl->gen = gen;
		if (*st)
			(*st)->flow_copies++;
	}

	d->egress = egress;
	out_port->flags = out_flags;
	out_port->mtu = out_mtu;
	out_port->slot = out_slot;
	return decided(d, XB_ACT_REDIRECT, XB_REDIRECT);
}

/* Counts a frame of bytes with this reason in s, the ingress slot's stats on this CPU. */
static __always_inline void count_in(struct xb_stats *s, __u32 reason, __u64 bytes)
{
	if (!s)
		return;
	if (reason < XB_REASON_COUNT)
		s->packets[reason]++; /* per-CPU: no atomics needed */
	if (reason == XB_REDIRECT)
		s->redirect_bytes += bytes;
}

/* Records the decision for the tests (xb_trace); nothing otherwise. */
static __always_inline void trace_decision(struct xb_decision *d)
{
	if (xb_trace) {
		__u32 zero = 0;
		bpf_map_update_elem(&trace, &zero, d, BPF_ANY);
	}
}

/* Counts the decision in s, the ingress slot's stats as xb_decide found them; 0: look slot d->slot up. */
static __always_inline void count(struct xb_decision *d, struct xb_stats *s, __u64 bytes)
{
	if (!s) {
		__u32 slot = d->slot;
		s = bpf_map_lookup_elem(&stats, &slot);
	}
	count_in(s, d->reason, bytes);
	trace_decision(d);
}

/* An 802.1Q or 802.1ad tag's TPID, as an ethertype: the frame is tagged. */
static __always_inline int is_vlan_tpid(__be16 proto)
{
	return proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD);
}

/*
 * The Ethernet header of a frame with no tag in its data, or 0 (too short, or
 * tagged): the fast paths' first check. Aligned: one 16-bit load of the
 * ethertype where clang split it into two bytes.
 */
static __always_inline struct ethhdr *untagged_eth(void *data, void *data_end)
{
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return 0;
	__be16 proto = *(const __be16 *)__builtin_assume_aligned(&eth->h_proto, 2);
	return is_vlan_tpid(proto) ? 0 : eth;
}

/* The outer VLAN tag in the data. -1 for a frame too short for its headers. */
static __always_inline int parse_inline(struct xb_frame *f, void *data, void *data_end)
{
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return -1;
	f->eth = eth;
	f->data_end = data_end;
	f->tag_proto = 0;
	f->tci = 0;
	f->proto = eth->h_proto;
	f->l3 = eth + 1;
	f->tag_in_skb = 0;
	if (is_vlan_tpid(eth->h_proto)) {
		struct vlan_hdr *vh = (void *)(eth + 1);
		/* A truncated tag: skb_vlan_untag() cannot pull it and the stack drops the frame. */
		if ((void *)(vh + 1) > data_end)
			return -1;
		f->tag_proto = eth->h_proto;
		f->tci = bpf_ntohs(vh->h_vlan_TCI);
		f->proto = vh->h_vlan_encapsulated_proto;
		f->l3 = vh + 1;
	}
	return 0;
}

/*
 * Puts the decided tag on an XDP frame. 0 on success; -1 only before anything
 * changed (too short to hold a tag, or the head cannot move).
 */
static __always_inline int xdp_tag(struct xdp_md *ctx, struct xb_decision *d)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u8 macs[12];

	if (d->tag == XB_TAG_KEEP)
		return 0;
	if (data + ETH_HLEN + sizeof(struct vlan_hdr) > data_end && d->tag != XB_TAG_PUSH)
		return -1;
	if (d->tag == XB_TAG_REWRITE) {
		struct vlan_hdr *vh = data + ETH_HLEN;
		if ((void *)(vh + 1) > data_end)
			return -1;
		vh->h_vlan_TCI = bpf_htons(d->tci);
		return 0;
	}
	if (data + 12 > data_end)
		return -1;
	__builtin_memcpy(macs, data, 12);
	if (d->tag == XB_TAG_POP) {
		if (bpf_xdp_adjust_head(ctx, (int)sizeof(struct vlan_hdr)))
			return -1;
	} else {
		if (bpf_xdp_adjust_head(ctx, -(int)sizeof(struct vlan_hdr)))
			return -1;
	}
	/*
	 * The head moved: the MACs go to the new start. The checks below cannot
	 * fail (the frame had its header, and a push added the tag's room), and
	 * must not: the frame is already changed. A popped frame may be a bare
	 * 14-byte header, so it is checked for the MACs only.
	 */
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (d->tag == XB_TAG_PUSH) {
		if (data + ETH_HLEN + sizeof(struct vlan_hdr) > data_end)
			return 0;
		__builtin_memcpy(data, macs, 12);
		__be16 *tpid = data + 12;
		struct vlan_hdr *vh = data + ETH_HLEN;
		*tpid = d->tag_proto;
		vh->h_vlan_TCI = bpf_htons(d->tci);
		/* h_vlan_encapsulated_proto is the old h_proto, already in place */
	} else {
		if (data + 12 > data_end)
			return 0;
		__builtin_memcpy(data, macs, 12);
	}
	return 0;
}

/*
 * The XDP entry point's whole decision, for a frame its fast path did not
 * forward: reason, fl and st are what flow_decide() found (reason -1 where it
 * found no copy or was not asked). A function of its own, called on that path
 * only: inlined, it made the compiler keep the fast path's values on the
 * stack for it, and zero its decision before every frame.
 */
static __noinline int xdp_decide(struct xdp_md *ctx, int reason, struct xb_flow *fl, struct xb_stats *st)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	/* Read once: loads of ctx at two sites may be merged into one through a moved ctx pointer, which the verifier refuses. */
	__u32 ingress = ctx->ingress_ifindex;
	struct xb_decision d = {};
	struct xb_egress out;
	struct xb_frame f;
	__u64 len = data_end - data;
	int action;

	/*
	 * A tag the sender's device left in the sk_buff (tx-vlan-hw-insert) is not
	 * in the data here and would be lost on redirect: the daemon uses XDP only
	 * where the peer has those offloads off (Acceleration).
	 */
	if (parse_inline(&f, data, data_end))
		action = decided(&d, XB_ACT_PASS, XB_PASS_MALFORMED);
	else if (reason >= 0)
		action = flow_decided(&d, &out, fl, reason);
	else
		action = xb_decide(&f, ingress, XB_PORT_XDP_EGRESS, &d, &out, &st);
	int verdict = XDP_PASS;

	/*
	 * The devmap drops a frame longer than the egress MTU plus Ethernet and
	 * VLAN header (xdp_ok_fwd_dev), as is_skb_forwardable() does, except that
	 * the kernel does not count a bridge VLAN tag, which it keeps in the
	 * sk_buff until the port transmits. A tagged frame in that gap is the
	 * kernel's.
	 */
	if (action == XB_ACT_REDIRECT && d.out_tagged && out.mtu &&
	    len + (d.tag == XB_TAG_PUSH ? 4 : 0) > (__u64)out.mtu + ETH_HLEN + 4) {
		action = decided(&d, XB_ACT_PASS, XB_PASS_TOO_BIG);
		d.egress = 0;
	}
	if (action == XB_ACT_REDIRECT) {
		/*
		 * The target first, the tag after: bpf_redirect_map() only records the
		 * target (the redirect happens when XDP_REDIRECT is returned), and fails
		 * when the daemon has just taken the port out of tx_ports, so a frame
		 * handed to the kernel instead never carries a changed tag. Lower bits of
		 * flags are the return value when the key is missing (since 5.6).
		 */
		verdict = bpf_redirect_map(&tx_ports, out.slot, XDP_PASS);
		if (verdict != XDP_REDIRECT || xdp_tag(ctx, &d)) {
			verdict = XDP_PASS;
			d.action = XB_ACT_PASS;
			d.reason = XB_PASS_REDIRECT_FAILED;
		}
	} else if (action == XB_ACT_DROP) {
		verdict = XDP_DROP;
	}
	count(&d, st, len);
	return verdict;
}

/* Records a decision flow_decide() made (xb_trace). A function of its own: its stack is not the fast path's. */
static __noinline void trace_flow(const struct xb_flow *fl, int reason)
{
	struct xb_decision d = {};
	struct xb_egress out;

	flow_decided(&d, &out, fl, reason);
	trace_decision(&d);
}

/*
 * The fast path: an untagged frame of a copied flow (flow_decide) goes to its
 * target here, and every other frame to xdp_decide(). A copied flow's frames
 * come from a port without VLAN filtering: the MTU and tag steps there are for
 * tags, so a frame is done once its target is set. A refused target goes the
 * long way and is asked once more there.
 */
SEC("xdp")
int xbridge_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = untagged_eth(data, data_end);

	if (!eth)
		return xdp_decide(ctx, -1, 0, 0);

	struct xb_stats *st = 0;
	struct xb_flow *fl = 0;
	int reason = flow_decide(eth, ctx->ingress_ifindex, XB_PORT_XDP_EGRESS, &fl, &st);
	if (reason == XB_REDIRECT && bpf_redirect_map(&tx_ports, fl->out_slot, XDP_PASS) == XDP_REDIRECT) {
		/* The frame's length from ctx again: kept, it was one more value on the stack. */
		count_in(st, XB_REDIRECT, (__u64)(ctx->data_end - ctx->data));
		if (xb_trace)
			trace_flow(fl, reason);
		return XDP_REDIRECT;
	}
	return xdp_decide(ctx, reason, fl, st);
}

/*
 * The TC entry point's whole decision, for a frame its fast path did not
 * forward: reason, fl and st as for xdp_decide().
 */
static __noinline int tc_decide(struct __sk_buff *skb, int reason, struct xb_flow *fl, struct xb_stats *st)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;

	/* The MAC header is linear after eth_type_trans(); pull only if a driver left it paged. */
	if (data + ETH_HLEN > data_end) {
		bpf_skb_pull_data(skb, ETH_HLEN);
		data = (void *)(long)skb->data;
		data_end = (void *)(long)skb->data_end;
	}

	struct xb_decision d = {};
	struct xb_egress out;
	struct xb_frame f;
	int action;

	if (parse_inline(&f, data, data_end)) {
		action = decided(&d, XB_ACT_PASS, XB_PASS_MALFORMED);
	} else {
		/*
		 * __netif_receive_skb_core() moves an outer 802.1Q/802.1ad tag into the
		 * sk_buff (skb_vlan_untag) before TC ingress runs, so a tag in the data
		 * here is an inner one, or one BPF_PROG_RUN handed in.
		 */
		if (skb->vlan_present) {
			f.tag_proto = (__be16)skb->vlan_proto;
			f.tci = skb->vlan_tci;
			f.proto = f.eth->h_proto;
			f.l3 = f.eth + 1;
			f.tag_in_skb = 1;
		}
		__u32 ingress = skb->ifindex; /* read once, as in xdp_decide */
		if (reason >= 0)
			action = flow_decided(&d, &out, fl, reason);
		else
			action = xb_decide(&f, ingress, XB_PORT_EGRESS, &d, &out, &st);
	}
	int verdict = TC_ACT_OK;

	/*
	 * br_dev_queue_push_xmit(): is_skb_forwardable() drops a frame larger
	 * than the egress MTU (plus Ethernet and VLAN header) unless it is GSO.
	 * bpf_redirect and bpf_redirect_peer do not check: the kernel must.
	 * skb->len does not count a tag kept in the sk_buff, as there.
	 */
	if (action == XB_ACT_REDIRECT && !skb->gso_size && out.mtu && skb->len > out.mtu + ETH_HLEN + 4) {
		action = decided(&d, XB_ACT_PASS, XB_PASS_TOO_BIG);
		d.egress = 0;
	}

	/*
	 * br_handle_vlan(): the kernel keeps the bridge's tag in the sk_buff and
	 * pops or puts it there. A priority tag whose VID becomes the PVID, and a
	 * tag the stack left in the data, are left to the kernel: the helpers here
	 * would move tags between data and sk_buff rather than rewrite them.
	 */
	if (action == XB_ACT_REDIRECT && d.tag != XB_TAG_KEEP) {
		int err = -1;
		if (d.tag == XB_TAG_POP && f.tag_in_skb)
			err = bpf_skb_vlan_pop(skb);
		else if (d.tag == XB_TAG_PUSH && !f.tag_proto)
			err = bpf_skb_vlan_push(skb, d.tag_proto, d.tci);
		if (err) {
			/* Nothing was changed: both helpers fail before they touch the sk_buff. */
			action = decided(&d, XB_ACT_PASS, XB_PASS_VLAN);
			d.egress = 0;
		}
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
	count(&d, st, skb->len);
	return verdict;
}

/*
 * TC ingress (tcx link, or clsact + cls_bpf in direct-action mode). The
 * sk_buff keeps CHECKSUM_PARTIAL and GSO state through a redirect, so this
 * entry is exact for senders with offloads on, which XDP is not.
 *
 * The fast path, as in xbridge_xdp: an untagged frame (no tag in the sk_buff
 * or the data) of a copied flow goes to its target here, and every other
 * frame to tc_decide(), with what flow_decide() found. A copied flow's frames
 * come from a port without VLAN filtering, so no tag is pushed or popped; a
 * frame too big for the egress MTU (the check in tc_decide) goes the long way.
 */
SEC("tc")
int xbridge_tc(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = untagged_eth(data, data_end);

	if (!eth || skb->vlan_present)
		return tc_decide(skb, -1, 0, 0);

	struct xb_stats *st = 0;
	struct xb_flow *fl = 0;
	int reason = flow_decide(eth, skb->ifindex, XB_PORT_EGRESS, &fl, &st);
	if (reason == XB_REDIRECT && (skb->gso_size || !fl->out_mtu || skb->len <= fl->out_mtu + ETH_HLEN + 4)) {
		/* bpf_redirect_peer or bpf_redirect: see tc_decide. */
		long verdict = fl->out_flags & XB_PORT_PEER ? bpf_redirect_peer(fl->egress, 0) : bpf_redirect(fl->egress, 0);
		if (verdict == TC_ACT_REDIRECT) {
			count_in(st, XB_REDIRECT, skb->len);
			if (xb_trace)
				trace_flow(fl, reason);
			return TC_ACT_REDIRECT;
		}
	}
	return tc_decide(skb, reason, fl, st);
}
