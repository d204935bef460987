// SPDX-License-Identifier: GPL-2.0
/* Test object for dev.xbridge.bpf: one map of each kind the bindings
 * treat differently (hash, per-CPU array, plain array, devmap hash), a
 * `const volatile` global for setConstant, and two XDP programs whose
 * verdicts depend only on map contents and the frame's first byte, and a
 * TC program that passes everything. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* A value with padding-free but non-uniform members, so the BTF layout
 * test sees offsets that differ from a naive 4-byte stride. */
struct probe_verdict {
	__u32 action;
	__u16 port;
	__u8 flags;
	__u8 pad;
	__u64 hits;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, struct probe_verdict);
} verdicts SEC(".maps");

/* Indexed by the XDP action returned; one counter per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 5);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/* Slot 0: the ingress ifindex of the last frame. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} seen SEC(".maps");

/* Shared with user space through mmap (BpfMap.mmap). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 3);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, __u64);
} shared SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u32);
} ports SEC(".maps");

/* Set from Java before load; nonzero overrides every verdict. */
const volatile __u32 answer = 0;

static __always_inline void count(__u32 action)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &action);

	if (c)
		*c += 1;
}

SEC("xdp")
int xdp_probe(struct xdp_md *ctx)
{
	__u8 *data = (void *)(long)ctx->data;
	__u8 *end = (void *)(long)ctx->data_end;
	__u32 zero = 0, ifindex = ctx->ingress_ifindex;
	__u32 action = XDP_PASS;

	bpf_map_update_elem(&seen, &zero, &ifindex, BPF_ANY);
	if (answer) {
		action = answer;
	} else if (data + 2 <= end) {
		__u32 key = data[0];
		struct probe_verdict *v = bpf_map_lookup_elem(&verdicts, &key);

		if (v) {
			action = v->action;
			__sync_fetch_and_add(&v->hits, 1);
			/* Mark the frame so a test can see data_out change. */
			if (action == XDP_TX)
				data[1] = 0xaa;
		}
	}
	if (action > XDP_REDIRECT)
		action = XDP_ABORTED;
	count(action);
	return action;
}

SEC("xdp")
int xdp_redirect(struct xdp_md *ctx)
{
	__u8 *data = (void *)(long)ctx->data;
	__u8 *end = (void *)(long)ctx->data_end;

	if (data + 1 > end)
		return XDP_ABORTED;
	return bpf_redirect_map(&ports, data[0], XDP_PASS);
}

/* TC: records the device it runs on in seen[0] and lets every frame pass. */
SEC("tc")
int tc_probe(struct __sk_buff *skb)
{
	__u32 zero = 0, ifindex = skb->ifindex;

	bpf_map_update_elem(&seen, &zero, &ifindex, BPF_ANY);
	return 0; /* TC_ACT_OK */
}

char _license[] SEC("license") = "GPL";
