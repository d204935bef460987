// SPDX-License-Identifier: GPL-2.0
/* Compiles, but the verifier must reject it: the packet is read without
 * a bounds check against data_end. The load-failure test expects the
 * verifier's own words in the exception. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_unchecked(struct xdp_md *ctx)
{
	__u8 *data = (void *)(long)ctx->data;

	return data[0] ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
