package dev.xbridge.bench;

import dev.xbridge.sys.NetNamespace;
import dev.xbridge.testbed.Host;
import java.time.Duration;

/**
 * The traffic generator: bench_gen under BPF_PROG_RUN with live frames, on a JVM thread that
 * entered the sender's namespace (the context's ingress_ifindex is resolved there) and is
 * pinned to one CPU. Each call sends {@code repeat} frames in batches of {@code batch}; with
 * a rate, calls are spaced so the average stays at it.
 */
final class Generator implements AutoCloseable {
    /** Frames per BPF_PROG_RUN call: ~20 ms at 2 Mpps, short enough to stop on time. */
    static final int DEFAULT_REPEAT = 1 << 15;

    private final BenchPrograms programs;
    private final NetNamespace thread;
    private final int ifindex;
    private final byte[] template;
    private final int batch;

    private Generator(BenchPrograms programs, NetNamespace thread, int ifindex, byte[] template, int batch) {
        this.programs = programs;
        this.thread = thread;
        this.ifindex = ifindex;
        this.template = template;
        this.batch = batch;
    }

    static Generator start(Host sender, FlowPlan plan, int cpu, int batch) {
        BenchPrograms p = BenchPrograms.load(plan);
        NetNamespace t = null;
        try {
            int ifindex = BenchPrograms.ifindex(sender.ns(), sender.ifname());
            t = sender.ns().enter();
            t.run(() -> Cpus.pin(0, cpu));
            return new Generator(p, t, ifindex, plan.template(), batch);
        } catch (RuntimeException e) {
            if (t != null) {
                t.close();
            }
            p.close();
            throw e;
        }
    }

    /** Frames handed to XDP_TX so far (the offered load). */
    long sent() {
        return programs.count("gen_count")[0];
    }

    /** Sends for {@code duration} at {@code ratePps} (0: as fast as it can); returns the nanoseconds it took. */
    long run(Duration duration, long ratePps) {
        return thread.call(() -> {
            long start = System.nanoTime();
            long end = start + duration.toNanos();
            int repeat = ratePps > 0 ? (int) Math.max(1, Math.min(DEFAULT_REPEAT, ratePps / 100)) : DEFAULT_REPEAT;
            long sent = 0;
            long now;
            while ((now = System.nanoTime()) < end) {
                if (ratePps > 0) {
                    long due = start + sent * 1_000_000_000L / ratePps;
                    if (due > now) {
                        Thread.sleep(Math.max(0, (due - now) / 1_000_000), (int) ((due - now) % 1_000_000));
                        continue;
                    }
                }
                programs.sendLive(template, ifindex, repeat, batch);
                sent += repeat;
            }
            return System.nanoTime() - start;
        });
    }

    @Override
    public void close() {
        thread.close();
        programs.close();
    }
}
