package dev.xbridge.bpf;

/**
 * Input to BPF_PROG_RUN ({@link BpfProgram#run}).
 *
 * @param data            the frame (data_in)
 * @param context         the program's context struct (ctx_in; for XDP a {@link XdpMd}), or null
 * @param repeat          runs; the kernel treats 0 as 1 and reports the mean duration
 * @param flags           BPF_F_TEST_* ({@link #BPF_F_TEST_XDP_LIVE_FRAMES})
 * @param cpu             for BPF_F_TEST_RUN_ON_CPU; XDP test runs reject that flag and run on
 *                        the calling thread's CPU, so pin the thread instead
 * @param batchSize       live-frame batch (0 = kernel default, NAPI_POLL_WEIGHT)
 * @param dataOutCapacity bytes for data_out; 0 for none. Live-frame runs never get data_out
 *                        or ctx_out (the kernel refuses them, EINVAL)
 */
public record RunOptions(byte[] data, byte[] context, int repeat, int flags, int cpu, int batchSize, int dataOutCapacity) {
    /** UAPI linux/bpf.h: run a raw tracepoint program on {@code cpu}. */
    public static final int BPF_F_TEST_RUN_ON_CPU = 1 << 0;
    /** UAPI linux/bpf.h: XDP frames really go out (XDP_TX, XDP_REDIRECT) instead of being reported. */
    public static final int BPF_F_TEST_XDP_LIVE_FRAMES = 1 << 1;

    public RunOptions {
        if (data == null) {
            throw new IllegalArgumentException("data is required (may be empty)");
        }
        if (repeat < 0 || batchSize < 0 || dataOutCapacity < 0) {
            throw new IllegalArgumentException("negative repeat, batchSize or dataOutCapacity");
        }
    }

    /**
     * One run over {@code data}, with room for the program to grow the frame by a page
     * (bpf_xdp_adjust_head/tail) before data_out would be truncated (ENOSPC).
     */
    public static RunOptions of(byte[] data) {
        return new RunOptions(data, null, 1, 0, 0, 0, data.length + 4096);
    }

    public RunOptions withContext(byte[] ctx) {
        return new RunOptions(data, ctx, repeat, flags, cpu, batchSize, dataOutCapacity);
    }

    public RunOptions withContext(XdpMd ctx) {
        return withContext(ctx.toBytes());
    }

    public RunOptions withContext(SkBuff ctx) {
        return withContext(ctx.toBytes());
    }

    public RunOptions withRepeat(int n) {
        return new RunOptions(data, context, n, flags, cpu, batchSize, dataOutCapacity);
    }

    public RunOptions withFlags(int f) {
        return new RunOptions(data, context, repeat, f, cpu, batchSize, dataOutCapacity);
    }

    public RunOptions withCpu(int c) {
        return new RunOptions(data, context, repeat, flags, c, batchSize, dataOutCapacity);
    }

    public RunOptions withBatchSize(int b) {
        return new RunOptions(data, context, repeat, flags, cpu, b, dataOutCapacity);
    }

    public RunOptions withDataOutCapacity(int bytes) {
        return new RunOptions(data, context, repeat, flags, cpu, batchSize, bytes);
    }

    boolean live() {
        return (flags & BPF_F_TEST_XDP_LIVE_FRAMES) != 0;
    }
}
