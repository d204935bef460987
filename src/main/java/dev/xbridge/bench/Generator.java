package dev.xbridge.bench;

import dev.xbridge.bpf.BpfLink;
import dev.xbridge.sys.NetNamespace;
import dev.xbridge.testbed.Host;
import dev.xbridge.testbed.Netns;
import java.time.Duration;
import java.util.function.Consumer;

/**
 * The traffic generator: a program of bench.bpf.o under BPF_PROG_RUN with live frames, on a
 * JVM thread that entered the namespace of the ingress device (the context's ingress_ifindex
 * is resolved there) and is pinned to one CPU. Each call sends {@code repeat} frames in batches
 * of {@code batch}; with a rate, calls are spaced so the average stays at it. Two kinds:
 * <ul>
 * <li>{@link #fromHost}: bench_gen with host 1's eth0 as the ingress; its XDP_TX sends the
 * frame out of eth0, across the veth to p1, where the forwarder runs in p1's NAPI.
 * <li>{@link #atPort}: bench_inject with p1 as the ingress; it tail-calls the forwarder
 * (whatever {@code wire} put into its inject_next slot), so the frame meets the forwarder as
 * if p1 had received it, with no veth in front: the forwarder's own cost shows more.
 * </ul>
 *
 * <p>The program stays attached, for the generator's life, to a veth pair of its own in host
 * 1's namespace ({@value #HOLD_DEV}, down, never carrying a frame). BPF_PROG_RUN of an XDP
 * program puts it into the kernel's XDP dispatcher for the run and takes it out after
 * (bpf_prog_test_run_xdp -> bpf_prog_change_xdp), and each change of the dispatcher waits for
 * an RCU grace period (bpf_dispatcher_update -> synchronize_rcu): two per call, 10-20 ms each
 * here, during which the generator's CPU idled for 65% of a trial, so every path was measured
 * at a third of the load it could take. A program the dispatcher already holds is only
 * reference-counted (bpf_dispatcher_add_prog), and an attached one is held.
 */
final class Generator implements AutoCloseable {
    /** Frames per BPF_PROG_RUN call: ~20 ms at 2 Mpps, short enough to stop on time. */
    static final int DEFAULT_REPEAT = 1 << 15;
    /** The device the program is attached to so the XDP dispatcher keeps it (and its peer, {@value #HOLD_DEV}p). */
    static final String HOLD_DEV = "xbgen";

    private final BenchPrograms programs;
    private final String program;
    private final NetNamespace thread;
    private final Host holder;
    private final BpfLink hold;
    private final int ifindex;
    private final byte[] template;
    private final int batch;
    private final int cpu;
    private double busy = Double.NaN;

    private Generator(BenchPrograms programs, String program, NetNamespace thread, Host holder, BpfLink hold,
            int ifindex, byte[] template, int batch, int cpu) {
        this.programs = programs;
        this.program = program;
        this.thread = thread;
        this.holder = holder;
        this.hold = hold;
        this.ifindex = ifindex;
        this.template = template;
        this.batch = batch;
        this.cpu = cpu;
    }

    /** bench_gen, sending out of {@code sender}'s eth0. */
    static Generator fromHost(Host sender, FlowPlan plan, int cpu, int batch) {
        return start(sender, sender.ns(), sender.ifname(), "bench_gen", p -> { }, plan, cpu, batch);
    }

    /**
     * bench_inject, with {@code port} in {@code ns} as the ingress, tail-calling what {@code wire}
     * puts into the loaded object's inject_next ({@link BenchPrograms#setInjectNext}).
     * {@code holder} is the host whose namespace keeps the dispatcher's hold device.
     */
    static Generator atPort(Host holder, Netns ns, String port, Consumer<BenchPrograms> wire, FlowPlan plan, int cpu,
            int batch) {
        return start(holder, ns, port, "bench_inject", wire, plan, cpu, batch);
    }

    private static Generator start(Host holder, Netns ns, String dev, String program, Consumer<BenchPrograms> wire,
            FlowPlan plan, int cpu, int batch) {
        BenchPrograms p = BenchPrograms.load(plan);
        NetNamespace t = null;
        BpfLink hold = null;
        try {
            wire.accept(p);
            int ifindex = BenchPrograms.ifindex(ns, dev);
            holder.ns().ip("link", "add", HOLD_DEV, "type", "veth", "peer", "name", HOLD_DEV + "p");
            hold = p.attach(holder.ns(), HOLD_DEV, program);
            t = ns.enter();
            t.run(() -> Cpus.pin(0, cpu));
            return new Generator(p, program, t, holder, hold, ifindex, plan.template(), batch, cpu);
        } catch (RuntimeException e) {
            if (t != null) {
                t.close();
            }
            if (hold != null) {
                hold.close();
            }
            holder.ns().tryExec("ip", "link", "del", HOLD_DEV);
            p.close();
            throw e;
        }
    }

    /** The kernel's id of the generator's program (bench_gen, or bench_inject). */
    int programId() {
        return programs.object().program(program).id();
    }

    /** Frames made so far (the offered load): handed to XDP_TX, or to the forwarder. */
    long sent() {
        return programs.count("gen_count")[0];
    }

    /**
     * The share of its last {@link #run} that the generator's CPU was not idle (/proc/stat), 0
     * to 1: the BPF_PROG_RUN calls and the softirqs they raise (the port's and the receivers'
     * veth NAPI run there). Near 1 when that CPU is the limit, as a rate without {@code --rate}
     * should be; well below when the generator waits for something else.
     */
    double busy() {
        return busy;
    }

    /** Sends for {@code duration} at {@code ratePps} (0: as fast as it can); returns the nanoseconds it took. */
    long run(Duration duration, long ratePps) {
        return thread.call(() -> {
            long[] ticks0 = Cpus.ticks(cpu);
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
                programs.sendLive(program, template, ifindex, repeat, batch);
                sent += repeat;
            }
            long wall = System.nanoTime() - start;
            long[] ticks1 = Cpus.ticks(cpu);
            long total = ticks1[1] - ticks0[1];
            busy = total > 0 ? (double) (ticks1[0] - ticks0[0]) / total : Double.NaN;
            return wall;
        });
    }

    @Override
    public void close() {
        thread.close();
        hold.close();
        holder.ns().tryExec("ip", "link", "del", HOLD_DEV);
        programs.close();
    }
}
