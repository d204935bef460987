// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xbridge bench: the traffic generator, the sink, and the bare redirects (XDP
 * and TC) that are the limits a bridge fast path is measured against. Not part of the
 * datapath; dev.xbridge.bench loads one instance per role.
 *
 * bench_gen runs under BPF_PROG_RUN with BPF_F_TEST_XDP_LIVE_FRAMES: its
 * XDP_TX becomes a redirect out of the context's ingress device
 * (net/bpf/test_run.c xdp_test_run_batch), a host's eth0, so the frames
 * really leave through the veth towards the bridge port.
 *
 * Flow f (0 <= f < bench_flows) has source MAC 02:5e:01:00:FH:FL, destination
 * MAC 02:5e:02:RR:FH:FL (RR = f % bench_receivers, the receiver index),
 * IPv4 198.18.(128 + FH).FL -> 198.19.FH.FL, UDP 1024 + f -> 9. Java builds
 * the template frame (flow 0) and the FDB entries with the same rule
 * (dev.xbridge.bench.FlowPlan); a unit test holds the two together.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set before load. */
const volatile __u32 bench_flows = 1;
const volatile __u32 bench_receivers = 1;
/*
 * 1 on x86 (the loader's choice): the MACs go as two words at bytes 0 and 4.
 * Elsewhere the verifier may check packet alignment, and would refuse them.
 */
const volatile __u32 bench_word_stores = 0;

struct bench_count {
	__u64 packets;
	__u64 bytes;
};

/* Generator: slot 0 counts frames handed to XDP_TX; per-CPU, so no atomics. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bench_count);
} gen_count SEC(".maps");

/* Sink: slot 0 counts frames received (and dropped) at a receiving host. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bench_count);
} sink_count SEC(".maps");

/* Bare redirect: receiver index (destination MAC byte 3) -> egress ifindex. */
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u32);
} bare_tx SEC(".maps");

/* Bare TC redirect: receiver index (destination MAC byte 3) -> the receiver's port, whose peer takes the frame. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u32);
} bare_peer SEC(".maps");

static __always_inline void add(void *map, __u64 bytes)
{
	__u32 zero = 0;
	struct bench_count *c = bpf_map_lookup_elem(map, &zero);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

/* RFC 1071 over the 20-byte header (no options), checksum field zeroed first. */
static __always_inline __u16 ip_checksum(struct iphdr *ip)
{
	__u16 *w = (__u16 *)ip;
	__u32 sum = 0;

	ip->check = 0;
#pragma unroll
	for (int i = 0; i < 10; i++)
		sum += w[i];
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return ~sum;
}

/*
 * Injection: bench_inject makes the frame as bench_gen does, then tail-calls
 * the forwarder in slot 0, so a frame reaches the forwarder as if p1 had just
 * received it (live frames with p1 as the ingress), without a veth in front:
 * the forwarder's own cost shows. Slot 0 holds xbridge_xdp, bench_redirect,
 * or bench_pass, whose XDP_PASS hands the frame to the stack on p1 (the
 * kernel bridge, or the TC hook).
 */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} inject_next SEC(".maps");

/*
 * The frame of the next flow, in place, counted as offered. 0, or -1 for a
 * frame too short to be one of ours.
 */
static __always_inline int next_frame(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip + 1);
	__u32 zero = 0;
	struct bench_count *c = bpf_map_lookup_elem(&gen_count, &zero);

	if (!c || (void *)(udp + 1) > data_end)
		return -1;
	if (bench_flows > 1) {
		/* The page pool keeps what we wrote last time: rewrite every varying field. */
		__u32 f = c->packets % bench_flows;
		__u8 hi = f >> 8, lo = f & 0xff;

		/*
		 * Both MACs (02:5e:02:RR:FH:FL, 02:5e:01:00:FH:FL), written from
		 * constants as the two little-endian words xbridge_xdp's flow key
		 * reads (bytes 0..3 and 4..11), where the loader allows words.
		 * Injected at p1 the forwarder reads them a few instructions after
		 * these stores, from the store buffer: a load that spans several
		 * narrower stores cannot be forwarded and waits for them to reach
		 * the cache, which no frame a NIC or a veth delivers makes it do.
		 * With byte stores that cost xbridge 4-5 ns a frame at p1 with 128
		 * flows (docs/bench.md). Patching the words read from the frame
		 * instead made every path, the bare redirect too, 2-3 ns slower.
		 */
		if (bench_word_stores) {
			__u32 *w0 = (void *)eth;
			__u64 *w1 = (void *)((char *)eth + 4);

			*w0 = 0x00025e02u | (f % bench_receivers) << 24;
			*w1 = 0x00015e020000ull | hi | (__u64)lo << 8 | (__u64)hi << 48 | (__u64)lo << 56;
		} else {
			eth->h_source[4] = hi;
			eth->h_source[5] = lo;
			eth->h_dest[3] = f % bench_receivers;
			eth->h_dest[4] = hi;
			eth->h_dest[5] = lo;
		}
		ip->saddr = bpf_htonl((198u << 24) | (18u << 16) | ((128u + hi) << 8) | lo);
		ip->daddr = bpf_htonl((198u << 24) | (19u << 16) | ((__u32)hi << 8) | lo);
		ip->check = ip_checksum(ip);
		udp->source = bpf_htons(1024 + f);
	}
	c->packets++;
	c->bytes += data_end - data;
	return 0;
}

SEC("xdp")
int bench_gen(struct xdp_md *ctx)
{
	return next_frame(ctx) ? XDP_ABORTED : XDP_TX;
}

SEC("xdp")
int bench_inject(struct xdp_md *ctx)
{
	if (next_frame(ctx))
		return XDP_ABORTED;
	bpf_tail_call(ctx, &inject_next, 0);
	return XDP_DROP; /* no forwarder in slot 0: offered, never received */
}

/* The stack's turn: the frame goes up on the ingress device (p1), to the bridge or to TC. */
SEC("xdp")
int bench_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("xdp")
int bench_sink(struct xdp_md *ctx)
{
	add(&sink_count, ctx->data_end - ctx->data);
	return XDP_DROP;
}

/*
 * The same count at TC ingress of a receiver's eth0: the TC hook delivers with
 * bpf_redirect_peer straight into the peer's ingress (another round of
 * sch_handle_ingress), which XDP on that device never sees.
 */
SEC("tc")
int bench_tc_sink(struct __sk_buff *skb)
{
	add(&sink_count, skb->len);
	return 2; /* TC_ACT_SHOT */
}

/* The limit: no parsing beyond one byte, no FDB, no port checks. */
SEC("xdp")
int bench_redirect(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;
	return bpf_redirect_map(&bare_tx, eth->h_dest[3], XDP_DROP);
}

/*
 * The TC hook's limit: what xbridge_tc does for a known unicast frame into a
 * container (bpf_redirect_peer into the port's veth peer), without the
 * decision. One array lookup finds the port.
 */
SEC("tc")
int bench_tc_redirect(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return 2; /* TC_ACT_SHOT */
	__u32 receiver = eth->h_dest[3];
	__u32 *port = bpf_map_lookup_elem(&bare_peer, &receiver);
	if (!port)
		return 2;
	return bpf_redirect_peer(*port, 0);
}
