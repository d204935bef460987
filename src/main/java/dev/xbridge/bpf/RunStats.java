package dev.xbridge.bpf;

import dev.xbridge.sys.Native;
import java.lang.foreign.MemorySegment;

/**
 * The kernel's own timing of BPF programs (bpf(BPF_ENABLE_STATS, BPF_STATS_RUN_TIME), 5.8+).
 * While one is open, every run through bpf_prog_run() (a NAPI poll's XDP program, a tcx or
 * cls_bpf program, BPF_PROG_RUN) adds its time to the program's run_time_ns and one to its
 * run_cnt, which {@link BpfProgram#runStatsOfId} reads. A tail call runs inside its caller's
 * time and is not counted itself.
 *
 * <p>The kernel times every program on the host while any holder is open, at the cost of two
 * clock reads a run, and stops when the last holder's fd closes: closing this, or the process
 * ending, leaves the host as it was (unlike the kernel.bpf_stats_enabled sysctl, which stays
 * set). Needs CAP_SYS_ADMIN.
 */
public final class RunStats implements AutoCloseable {
    private static final int BPF_STATS_RUN_TIME = 0; // UAPI enum bpf_stats_type

    private final int fd;
    private boolean closed;

    private RunStats(int fd) {
        this.fd = fd;
    }

    /** Has the kernel time programs until {@link #close()}. */
    public static RunStats enable() {
        try {
            MemorySegment capture = LibBpf.capture();
            int fd = (int) LibBpf.ENABLE_STATS.invokeExact(capture, BPF_STATS_RUN_TIME);
            if (fd < 0) {
                throw new BpfException("bpf_enable_stats(BPF_STATS_RUN_TIME)", LibBpf.errno(fd, capture),
                        "timing programs needs CAP_SYS_ADMIN and Linux 5.8 or later");
            }
            return new RunStats(fd);
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /** A program's totals at one moment: nanoseconds in its runs, and the runs, while timed. */
    public record Sample(long runTimeNanos, long runs) {
        /** The mean nanoseconds a run from {@code earlier} to this one; null if none was counted. */
        public Double nanosPerRunSince(Sample earlier) {
            long n = runs - earlier.runs;
            return n > 0 ? (double) (runTimeNanos - earlier.runTimeNanos) / n : null;
        }
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            BpfFd.close(fd);
        }
    }
}
