/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Every map key and value of the xbridge datapath, in one place.
 * Java mirrors these layouts in dev.xbridge.bridge (PortRecord, FdbKey, FdbValue,
 * PortStats, Decision); DatapathTest compares the
 * two against this object's BTF, so a field added here without Java fails CI.
 */
#ifndef XBRIDGE_H
#define XBRIDGE_H

#include <linux/types.h>

/* Slot 0 of the stats map counts frames from interfaces that are not ports. */
#define XB_MAX_PORTS 1024

/* Bridge port STP states, as in include/uapi/linux/if_bridge.h BR_STATE_*. */
#define XB_STATE_DISABLED   0
#define XB_STATE_LISTENING  1
#define XB_STATE_LEARNING   2
#define XB_STATE_FORWARDING 3
#define XB_STATE_BLOCKING   4

/* struct xb_port.flags */
#define XB_PORT_LEARNING (1 << 0) /* BR_LEARNING: the kernel learns from this port */
#define XB_PORT_ISOLATED (1 << 1) /* BR_ISOLATED */
#define XB_PORT_KERNEL   (1 << 2) /* step aside: every frame from this port goes to the kernel */
#define XB_PORT_EGRESS   (1 << 3) /* an skb redirect target: the TC entry may forward here */
#define XB_PORT_XDP_EGRESS (1 << 4) /* an XDP redirect target: in tx_ports, its peer runs NAPI */
#define XB_PORT_PEER     (1 << 5) /* a veth whose peer is in another namespace: TC uses bpf_redirect_peer */
#define XB_PORT_NEIGH    (1 << 6) /* the bridge proxies or suppresses ARP/ND: those frames are the kernel's */
#define XB_PORT_VLAN     (1 << 7) /* the bridge filters VLANs: classify, look up per VLAN, tag on egress */

/*
 * Ports are found in two steps, both array lookups the verifier inlines on the
 * hot path (a hash lookup costs about 25 ns each here, four of them were most
 * of the decision's cost): ifindex -> slot in port_slots (port_slots_far for
 * an ifindex of XB_IFINDEX_DIRECT or more), then slot -> port in ports. The
 * slot also indexes stats and the tx_ports devmap. A port is the one in its
 * slot only while the slot's ifindex is its own, so a stale slot is never
 * taken for another port.
 */
#define XB_IFINDEX_DIRECT 65536

/*
 * ports: slot -> port. Array values are rewritten in place, so a frame may
 * read a record while the daemon writes it; every byte is either old or new.
 * flags (whose high byte stays 0) and state are single bytes, and the daemon
 * passes every change through a record that steps aside (XB_PORT_KERNEL,
 * disabled), changing those two bytes apart from the others
 * (dev.xbridge.bridge.Datapath#putPort): any mix a frame can read passes it.
 */
struct xb_port {
	__u32 bridge;    /* the bridge's ifindex */
	__u32 ifindex;   /* the port in this slot; 0 for a free slot */
	__u16 flags;     /* XB_PORT_*, all in the low byte */
	__u8 state;      /* XB_STATE_* */
	__u8 pad;
	__u32 mtu;       /* the port's MTU: TC redirects skip is_skb_forwardable(), so the core checks it */
	__u32 sample_ms; /* aging: hand the kernel one frame per source this often (0: never) */
	__u16 pvid;      /* XB_PORT_VLAN: the port's PVID, 0 for none (untagged frames are dropped) */
	__be16 vlan_proto; /* XB_PORT_VLAN: the bridge's vlan_protocol, network order (802.1Q or 802.1ad) */
};

/*
 * port_vlans: (port, vid) -> the port's membership of that VLAN, on bridges
 * with VLAN filtering. No entry: not a member.
 */
struct xb_vlan_key {
	__u32 ifindex;
	__u16 vid;
	__u16 pad;
};

/* struct xb_vlan.flags */
#define XB_VLAN_UNTAGGED (1 << 0) /* BRIDGE_VLAN_INFO_UNTAGGED: egress untagged */

struct xb_vlan {
	__u8 flags; /* XB_VLAN_* */
	__u8 state; /* per-VLAN STP state, XB_STATE_* */
	__u16 pad;
};

/* fdb: (bridge, vid, mac) -> entry. vid is 0 on bridges without VLAN filtering. */
struct xb_fdb_key {
	__u32 bridge;
	__u16 vid;
	__u8 mac[6];
};

/* struct xb_fdb_val.flags */
#define XB_FDB_LOCAL   (1 << 0) /* permanent/local: the frame is for the host */
#define XB_FDB_REFRESH (1 << 1) /* dynamic: the daemon keeps it from aging while it is fast-pathed */
#define XB_FDB_STICKY  (1 << 2) /* the kernel never moves it (NTF_STICKY) */

struct xb_fdb_val {
	__u32 port;       /* ifindex of the port the MAC is behind; 0 for the bridge itself */
	__u16 flags;      /* XB_FDB_* */
	__u16 pad;
	__u64 sampled_ns; /* CLOCK_MONOTONIC (struct xb_clock) when a frame from this MAC was last handed to the kernel for aging */
};

/*
 * fdb_cache: a per-CPU copy of recent fdb lookups, so that a frame of a known
 * flow costs no hash lookup. A hash lookup is a chain of kernel calls (hash,
 * bucket walk, memcmp), and on CPUs whose return-stack mitigations make every
 * kernel return slow (AMD's SRSO "safe RET", retbleed's return thunks) the
 * two per frame were most of the datapath's cost; an array lookup is inlined.
 *
 * A copy also carries the record of the port its MAC is behind (out_*), so
 * that the destination's copy spares a frame the egress port's two lookups.
 *
 * A copy is good only while fdb_gen (a global, one load) holds the generation
 * it was made in. Everything that changes the fdb map, ports or
 * port_slots(_far) bumps fdb_gen after the change: the daemon
 * (dev.xbridge.bridge.Datapath, through the mmap of its map ".data.fdb_gen",
 * atomically) and the datapath after its own deletes. A frame reads fdb_gen before it
 * looks at the fdb map, and x86 keeps loads in order (TSO), so a copy made
 * after a bump is a copy of the map after the change it announces. Loads on
 * other architectures may be reordered and BPF gives no cheap read barrier
 * before kernel 6.15 (load-acquire), so the daemon turns the cache on only on
 * x86 (xb_fdb_cache). Misses are not cached.
 */
/* At most 1 << XB_FDB_CACHE_BITS sets per CPU; the loader may choose fewer (xb_fdb_cache_shift). */
#define XB_FDB_CACHE_BITS 12
#define XB_FDB_CACHE_WAYS 2

struct xb_fdb_cached {
	struct xb_fdb_key key;
	__u16 flags;      /* the fdb entry's, XB_FDB_* */
	__u16 out_flags;  /* out_found: the port's XB_PORT_* */
	__u32 port;       /* the fdb entry's */
	__u32 out_slot;   /* out_found: the port's slot */
	__u32 out_mtu;    /* out_found: the port's MTU */
	__u8 out_found;   /* port is a port of the key's bridge (ports, port_slots) */
	__u8 out_state;   /* out_found: the port's XB_STATE_* */
	__u16 pad;
	__u64 gen;        /* fdb_gen when copied; the copy counts only while fdb_gen still holds it */
	__u64 sampled_ns; /* the entry's sampled_ns as this CPU last saw it: aging asks the map only when this is due */
};

/*
 * A key hashes to a set and may sit in either way: with one way, the 2,048
 * MACs of 1,024 flows collided for about a third of the lookups (the bench's
 * XDP path fell from 82% to 68% of the bare redirect); with two ways and as
 * many sets, about a tenth. A miss fills a way whose copy is stale, else moves
 * way 0 to way 1 and fills way 0 (first in, first out; a hit writes nothing).
 */
struct xb_fdb_cache_set {
	struct xb_fdb_cached way[XB_FDB_CACHE_WAYS];
};

/*
 * flow_cache: a per-CPU copy of recent REDIRECT decisions, keyed by the
 * ingress port and the frame's first 12 bytes (destination and source MAC).
 * A frame of a known flow then costs one inlined array lookup and a compare
 * instead of the ingress port's two lookups and the two fdb_cache lookups
 * (each with its own hash of the key): those were about 40% of the program's
 * time in a profile of the bench.
 *
 * A decision is copied only when it depends on nothing but the frame's MACs
 * and maps that bump fdb_gen when they change (fdb, ports, port_slots): the
 * frame is untagged, and the ingress port neither filters VLANs (port_vlans
 * has no generation) nor has XB_PORT_NEIGH (the verdict depends on the
 * ethertype). A copy counts only while fdb_gen holds the generation it was
 * made in, as in fdb_cache, and on the same x86-only switch (xb_fdb_cache).
 * What a frame of a copied flow still does itself: the egress check of its
 * entry point (can_take), TC's MTU check (XDP's is for tagged frames, which
 * are never copied; the devmap checks the rest), and aging. Aging's check reads the
 * clock, the port's stats and the hint: a frame does it only when jiffies
 * has moved since the flow was last found not due on this CPU (tick). The
 * clock it reads (struct xb_clock) changes only with jiffies too, so the
 * frames it skips would all have been found not due. Ticks are compared in
 * 32 bits: a flow last found not due a whole multiple of 2^32 ticks ago
 * skips the check for one tick.
 *
 * Each CPU has its own sets, but the map is a plain array, CPU c's sets at
 * c << bits onwards, not a per-CPU array. A per-CPU lookup loads the value's
 * address from a table of pointers (8 bytes an entry: 16 KiB at full size)
 * before it adds the CPU's offset, and with more flows than the L1 cache
 * holds that load missed as well as the set's: perf put the two side by side
 * among the hottest instructions. The plain array computes the address from
 * the index. The CPU's number is one inlined load (x86, kernel 6.10+; a helper
 * call before). The price: a CPU's sets are not on its NUMA node's memory,
 * as per-CPU values are.
 */
/* At most 1 << XB_FLOW_CACHE_BITS sets per CPU; the loader may choose fewer (xb_flow_cache_shift). */
#define XB_FLOW_CACHE_BITS 11
#define XB_FLOW_CACHE_WAYS 2

struct xb_flow {
	__u64 key[2];     /* little-endian: the ingress ifindex, frame bytes 0..3; then bytes 4..11 (flow_key) */
	__u64 gen;        /* fdb_gen when copied */
	__u64 sampled_ns; /* the source entry's sampled_ns as this CPU last saw it (aging's hint) */
	__u32 bridge;     /* the ingress port's bridge */
	__u32 in_slot;    /* the ingress port's slot: its stats */
	__u32 egress;     /* the egress port's ifindex */
	__u32 out_slot;   /* the egress port's slot: its tx_ports key */
	__u32 out_mtu;    /* the egress port's MTU */
	__u32 sample_ms;  /* the ingress port's sample period when the source's entry ages (XB_FDB_REFRESH); else 0 */
	__u16 out_flags;  /* the egress port's XB_PORT_* */
	__u16 pad;
	__u32 tick;       /* sample_ms: the low 32 bits of jiffies when this CPU last found the flow not due for aging */
};

/*
 * A flow's key hashes to two sets (two-choice placement, flow_sets_of in
 * xbridge.bpf.c): a frame looks in the second only when the first has no copy
 * of its flow, and a miss fills a stale way of either before it evicts. With
 * one set per key, keys that more than two flows shared pushed each other out
 * in turn (4.7% of the bench's frames with 1,024 flows took the whole
 * decision); with two, one copy per flow.
 */
struct xb_flow_set {
	struct xb_flow way[XB_FLOW_CACHE_WAYS];
};

/*
 * clock: CLOCK_MONOTONIC as this CPU last read it for a frame of this port
 * slot, and jiffies then; it lives in the slot's per-CPU stats (struct
 * xb_stats), which the frame looks up anyway, so it costs no lookup.
 * Aging needs the time of every fast-pathed frame, and bpf_ktime_get_ns()
 * is a chain of kernel calls (the helper, ktime_get_mono_fast_ns, the
 * clocksource's read through an indirect call) that cost about 40 ns a frame
 * here, under retpolines and SRSO's safe RET: as much as the rest of the
 * decision. bpf_jiffies64() is inlined to one load, so the clock is read
 * again only when jiffies has moved: once per tick, CPU and busy slot. The time a frame
 * gets is then at most a tick old, against a sample period of a tenth of
 * ageing_time. Datapath-internal: Java only zeroes it with the slot's counters.
 */
struct xb_clock {
	__u64 jiffies; /* bpf_jiffies64() when ns was read */
	__u64 ns;      /* bpf_ktime_get_ns() then */
};

/* Why a frame got its verdict. Every return path of the program counts one. */
enum xb_reason {
	XB_REDIRECT = 0,          /* fast path: forwarded port to port */
	XB_PASS_NOT_PORT,         /* ingress is not a known bridge port */
	XB_PASS_MALFORMED,        /* shorter than an Ethernet header */
	XB_PASS_SRC_INVALID,      /* multicast or zero source MAC: the kernel drops it */
	XB_PASS_LINK_LOCAL,       /* 01:80:c2:00:00:0x, STP and other control protocols */
	XB_PASS_PORT_KERNEL,      /* the port steps aside (state xbridge does not mirror) */
	XB_PASS_NOT_FORWARDING,   /* ingress port is not in the forwarding state */
	XB_PASS_VLAN,             /* 802.1Q / 802.1ad tagged */
	XB_PASS_BROADCAST,
	XB_PASS_MULTICAST,
	XB_PASS_SRC_UNKNOWN,      /* the kernel must learn the source */
	XB_PASS_SRC_MOVED,        /* source known behind another port, or local: the kernel decides */
	XB_PASS_DST_UNKNOWN,      /* unknown unicast: the kernel floods */
	XB_PASS_DST_LOCAL,        /* for the host */
	XB_PASS_SAME_PORT,        /* destination behind the ingress port: hairpin is the kernel's */
	XB_PASS_EGRESS_UNAVAILABLE, /* egress port cannot take redirected frames */
	XB_PASS_EGRESS_BLOCKED,   /* egress port is not forwarding */
	XB_PASS_ISOLATED,         /* isolated to isolated: the kernel drops it */
	XB_PASS_REDIRECT_FAILED,  /* the redirect helper refused (XDP: no devmap entry for the egress port) */
	XB_PASS_AGING,            /* one frame per sample period, so the kernel refreshes the source's entry */
	XB_PASS_TOO_BIG,          /* larger than the egress MTU: the kernel drops it (is_skb_forwardable) */
	XB_PASS_VLAN_INGRESS,     /* VLAN filtering refuses it at ingress (no PVID, not a member, VLAN not forwarding) */
	XB_PASS_VLAN_EGRESS,      /* the egress port is not a member of the VLAN, or the VLAN is not forwarding there */
	XB_DROP,                  /* reserved for rules mirrored as drops */
	XB_REASON_COUNT,
};

/* stats: per-CPU array indexed by port slot. */
struct xb_stats {
	__u64 packets[XB_REASON_COUNT];
	__u64 redirect_bytes;
	__u64 flow_copies;     /* decisions of this port's frames copied into flow_cache: its misses that forward */
	struct xb_clock clock; /* the aging clock, per CPU and slot (struct xb_clock) */
};

/* Decision actions */
#define XB_ACT_PASS     0
#define XB_ACT_REDIRECT 1
#define XB_ACT_DROP     2

/* What a redirect does to the frame's outer VLAN tag (br_handle_vlan on egress). */
#define XB_TAG_KEEP    0 /* as it came: untagged, or tagged with the same tag */
#define XB_TAG_POP     1 /* egress untagged: remove the tag */
#define XB_TAG_PUSH    2 /* came untagged (PVID), egress tagged: add vlan_proto + tci */
#define XB_TAG_REWRITE 3 /* came priority-tagged (VID 0): the tag's VID becomes the PVID */

/* trace: the last decision, written only when the xb_trace constant is set at load (tests). */
struct xb_decision {
	__u32 action;   /* XB_ACT_* */
	__u32 reason;   /* enum xb_reason */
	__u32 egress;   /* ifindex, for XB_ACT_REDIRECT */
	__u32 slot;     /* the ingress port's stats slot */
	__u16 vid;      /* the VLAN the frame was classified to (0 without VLAN filtering) */
	__u8 tag;       /* XB_TAG_*, for XB_ACT_REDIRECT */
	__u8 out_tagged; /* the frame leaves with a tag of the bridge's vlan_protocol */
	__u16 tci;      /* the tag's TCI after XB_TAG_PUSH or XB_TAG_REWRITE */
	__be16 tag_proto; /* and its TPID */
};

#endif
