package dev.xbridge.bench;

import dev.xbridge.bpf.BpfLink;
import dev.xbridge.bpf.BpfProgram;
import dev.xbridge.bpf.RunOptions;
import dev.xbridge.bpf.RunResult;
import dev.xbridge.bpf.RunStats;
import dev.xbridge.bpf.SkBuff;
import dev.xbridge.bpf.Tc;
import dev.xbridge.bpf.Xdp;
import dev.xbridge.bpf.XdpMd;
import dev.xbridge.sys.NetNamespace;
import dev.xbridge.daemon.Status;
import dev.xbridge.testbed.DaemonProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * Runs the data-path scenarios on one testbed per port count, every path on the same
 * testbed, then TCP and the control plane, and returns the {@link Report}.
 *
 * <p>Per testbed the FDB only grows (fillers are added, never removed), so the scenarios
 * run in order of FDB size. Per FDB size the trials run in rounds: each round sets every path
 * up (the daemon started, or the bare program attached), runs one trial of every scenario of
 * that size, and takes it down, the paths in turn forwards then backwards. The host's speed
 * drifts over seconds (a shared VM here moved the bare redirect by 25% between runs), and
 * rounds spread every path over the same span, so the ratios compare like with like. FDB
 * sizes of {@value #LARGE_FILLERS} or more run their trials in at most {@value #LARGE_ROUNDS}
 * rounds ({@link #rounds}): a daemon start there takes most of a minute.
 */
public final class Bench {
    /** A daemon syncing 1,000,000 FDB entries took about a minute here. */
    static final java.time.Duration READY_TIMEOUT = java.time.Duration.ofMinutes(5);
    static final int LARGE_FILLERS = 100_000;
    /**
     * Rounds for a large FDB. One round put all of a path's trials in the same ten seconds, and
     * this host has spells of that length in which one CPU runs at half speed (docs/bench.md,
     * "The host's own dips"): in three full runs such a spell took one path's whole median in a
     * 1,000,000-entry row. Three rounds cost two more daemon starts per daemon path.
     */
    static final int LARGE_ROUNDS = 3;

    private final BenchOptions o;
    private final Progress progress;
    private final List<String> notes = new ArrayList<>();
    private Map<String, String> pinning = Map.of();

    public Bench(BenchOptions options, Progress progress) {
        this.o = options;
        this.progress = progress;
    }

    public Report run() {
        long steps = (long) o.scenarios().size() * o.paths().size() * o.trials();
        progress.start(steps + (o.tcp() ? 1 : 0) + (o.controlPlaneChanges() > 0 ? 1 : 0));
        Map<Scenario, Map<PathKind, Measured>> results = new LinkedHashMap<>();
        Map<Scenario, Integer> fdbSizes = new LinkedHashMap<>();
        Map<Integer, List<Scenario>> byPorts = o.scenarios().stream()
                .collect(Collectors.groupingBy(Scenario::ports, TreeMap::new, Collectors.toList()));
        for (Map.Entry<Integer, List<Scenario>> group : byPorts.entrySet()) {
            progress.status("building a testbed of " + group.getKey() + " ports");
            try (BenchLab lab = BenchLab.build(group.getKey(), o.cpus(), o.bridgeNf())) {
                pinning = lab.pinning();
                Map<Integer, List<Scenario>> byFdb = group.getValue().stream()
                        .collect(Collectors.groupingBy(Scenario::fdbFillers, TreeMap::new, Collectors.toList()));
                for (Map.Entry<Integer, List<Scenario>> sized : byFdb.entrySet()) {
                    progress.status("filling the FDB to " + Scenario.count(sized.getKey()) + " entries");
                    lab.fillFdb(sized.getKey(), () -> progress.status("filling the FDB: " + lab.fillers()));
                    int[] rounds = rounds(o.trials(), sized.getKey());
                    for (int round = 0; round < rounds.length; round++) {
                        List<PathKind> order = new ArrayList<>(o.paths());
                        if (round % 2 == 1) {
                            java.util.Collections.reverse(order);
                        }
                        int trials = rounds[round];
                        for (PathKind path : order) {
                            runPath(lab, path, sized.getKey(), sized.getValue(), trials, results, fdbSizes);
                        }
                    }
                }
            }
        }
        List<Report.ScenarioResult> scenarios = new ArrayList<>();
        for (Scenario s : o.scenarios()) {
            List<Report.PathResult> measured = new ArrayList<>();
            results.getOrDefault(s, Map.of()).forEach((kind, m) -> measured.add(m.result(kind)));
            List<Report.PathResult> paths = withRatios(measured);
            paths.sort(Comparator.comparing(p -> PathKind.valueOf(kindOf(p.path())).ordinal()));
            scenarios.add(new Report.ScenarioResult(s.name(), s.frameSize(), s.flows(), s.fdbFillers(),
                    fdbSizes.getOrDefault(s, 0), s.ports(), s.ingress().name().toLowerCase(java.util.Locale.ROOT), paths));
        }
        List<Report.TcpResult> tcp = o.tcp() ? new TcpBench(o, progress).run() : List.of();
        Report.ControlPlaneResult cp = o.controlPlaneChanges() > 0 ? new ControlPlane(o, progress, notes).run() : null;
        progress.done();
        return new Report(new Report.Environment(kernel(), Cpus.online(), o.preset(), o.trials(),
                o.trialDuration().toMillis() / 1000.0, o.ratePps(), o.bridgeNf(), pinning), scenarios, tcp, cp, notes);
    }

    /**
     * The trials of each round for an FDB of {@code fillers} entries: one per round, or for a
     * large FDB {@code trials} spread over at most {@link #LARGE_ROUNDS} rounds, the first ones
     * taking one more (5 trials: 2, 2, 1).
     */
    static int[] rounds(int trials, int fillers) {
        int n = fillers >= LARGE_FILLERS ? Math.min(trials, LARGE_ROUNDS) : trials;
        int[] rounds = new int[n];
        for (int r = 0; r < n; r++) {
            rounds[r] = trials / n + (r < trials % n ? 1 : 0);
        }
        return rounds;
    }

    /** One path's trials in one scenario, gathered over the rounds; unavailable wins. */
    private static final class Measured {
        final List<Report.Trial> trials = new ArrayList<>();
        final List<Double> programNs = new ArrayList<>();
        final List<Double> trafficNs = new ArrayList<>();
        String program;
        String trafficProgram;
        String unavailable;

        Report.PathResult result(PathKind kind) {
            return unavailable != null || trials.isEmpty()
                    ? Report.PathResult.unavailable(kind.label(), unavailable != null ? unavailable : "no trial ran")
                    : summarize(kind.label(), trials, programNs, program, trafficNs, trafficProgram);
        }
    }

    /** Runs of the forwarding program per BPF_PROG_RUN measurement: about 0.1 s at 100 ns a run. */
    static final int PROGRAM_RUNS = 1_000_000;

    /**
     * The forwarding program's own time per frame: BPF_PROG_RUN with {@code frame} arriving on
     * the sender's port, in the switch namespace (where the ingress ifindex and the program's
     * maps mean what they mean to the real traffic). Null for the kernel bridge, or when the
     * program does not redirect the frame (then the figure would time another verdict).
     */
    private Double programNs(BenchLab lab, PathKind path, int programId, byte[] frame) {
        if (programId < 0) {
            return null;
        }
        int ingress = lab.senderPortIndex();
        RunOptions repeated = RunOptions.of(frame).withRepeat(PROGRAM_RUNS);
        boolean tc = path.deliversToPeerIngress();
        RunOptions run = tc ? repeated.withContext(SkBuff.receivedOn(ingress))
                : repeated.withContext(XdpMd.forFrame(frame.length).ingressIfindex(ingress));
        int redirect = tc ? Tc.REDIRECT : Xdp.REDIRECT;
        try (NetNamespace inside = lab.lab().switchNs().enter()) {
            RunResult r = inside.call(() -> BpfProgram.runById(programId, run));
            if (r.retval() != redirect) {
                notes.add(path.label() + ": BPF_PROG_RUN of the scenario's frame returned " + r.retval()
                        + ", not a redirect; no program time recorded");
                return null;
            }
            return (double) r.durationNanos();
        }
    }

    /** The trial in which the kernel times the forwarding program ({@link #trafficNs}). */
    static final java.time.Duration TIMED_TRIAL = java.time.Duration.ofMillis(500);

    /**
     * The mean time a run of program {@code programId} in the scenario's traffic, as the kernel
     * timed it ({@link RunStats}) over one more trial of {@link #TIMED_TRIAL} whose rate is not
     * counted: the forwarding program, or the generator's program that tail-calls it. A failure
     * to time costs this figure only, with a note, and so does a run count other than the frames
     * sent (the figure would be of other traffic, or of a tail call, which the kernel does not
     * time on its own).
     */
    private Double trafficNs(PathKind path, int programId, Generator gen) {
        try (RunStats _ = RunStats.enable()) {
            RunStats.Sample before = BpfProgram.runStatsOfId(programId);
            long sent = gen.sent();
            gen.run(TIMED_TRIAL, o.ratePps());
            Cpus.sleep(20); // frames still in the veth rings arrive
            RunStats.Sample after = BpfProgram.runStatsOfId(programId);
            sent = gen.sent() - sent;
            long runs = after.runs() - before.runs();
            // Once a frame: anything else timed some other traffic, or nothing (a tail call).
            if (runs < sent * 0.99 || runs > sent * 1.01 + 64) {
                notes.add(path.label() + ": in traffic the program ran " + runs + " times for " + sent
                        + " frames sent; its time there is left out");
                return null;
            }
            return after.nanosPerRunSince(before);
        } catch (dev.xbridge.sys.SysException e) {
            notes.add(path.label() + ": the program's time in traffic was not measured: " + e.getMessage());
            return null;
        }
    }

    private void runPath(BenchLab lab, PathKind path, int fillers, List<Scenario> scenarios, int trialCount,
            Map<Scenario, Map<PathKind, Measured>> results, Map<Scenario, Integer> fdbSizes) {
        Function<Scenario, Measured> of = s -> results.computeIfAbsent(s, k -> new LinkedHashMap<>())
                .computeIfAbsent(path, k -> new Measured());
        String unavailable = null;
        DaemonProcess daemon = null;
        DaemonMaps maps = null;
        BenchPrograms bare = null;
        BpfLink bareLink = null;
        int programId = -1;
        try {
            switch (path) {
                case KERNEL -> { }
                case XDP, TC -> {
                    if (path == PathKind.TC && o.tcDaemonArgs() == null) {
                        unavailable = "not available yet: the daemon has no TC hook option (issue 4)";
                        break;
                    }
                    // A container's eth0 runs no XDP program, and the daemon hands TC frames to such a
                    // peer with bpf_redirect_peer: measure that, not the fallback an XDP sink would force.
                    lab.xdpSinks(!path.deliversToPeerIngress());
                    progress.status(path.label() + ": starting the daemon (" + Scenario.count(fillers) + " filler entries)");
                    List<String> args = new ArrayList<>(List.of("--bridge", lab.lab().bridge(),
                            "--fdb-max", Integer.toString(fdbMax(fillers))));
                    args.addAll(hookArgs(o, path, lab.lab().bridge()));
                    daemon = DaemonProcess.start(lab.lab().switchNs(), READY_TIMEOUT, args.toArray(String[]::new));
                    unavailable = notAccelerated(daemon.status(), lab.sender().portName(), path == PathKind.TC ? "tc" : "xdp");
                    maps = DaemonMaps.of(daemon.pid(), 10_000);
                    programId = DaemonMaps.programId(daemon.pid(), path == PathKind.TC ? "xbridge_tc" : "xbridge_xdp");
                }
                case BARE -> {
                    bare = BenchPrograms.load(new FlowPlan(1, 1, FlowPlan.MIN_FRAME));
                    int[] egress = lab.receiverPortIndex();
                    for (int r = 0; r < egress.length; r++) {
                        bare.setBareEgress(lab.lab().switchNs(), r, egress[r]);
                    }
                    bareLink = bare.attach(lab.lab().switchNs(), lab.sender().portName(), "bench_redirect");
                    programId = bare.object().program("bench_redirect").id();
                }
                case BARE_TC -> {
                    lab.xdpSinks(false);
                    bare = BenchPrograms.load(new FlowPlan(1, 1, FlowPlan.MIN_FRAME));
                    int[] egress = lab.receiverPortIndex();
                    for (int r = 0; r < egress.length; r++) {
                        bare.setBarePeer(r, egress[r]);
                    }
                    bareLink = bare.attachTcIngress(lab.lab().switchNs(), lab.sender().portName(), "bench_tc_redirect");
                    programId = bare.object().program("bench_tc_redirect").id();
                }
            }
            lab.repin();
        } catch (RuntimeException e) {
            unavailable = "failed: " + firstLine(e);
            notes.add(path.label() + " with " + Scenario.count(fillers) + " filler entries failed to set up: " + e.getMessage());
        }
        DaemonProcess counted = daemon;
        String sender = lab.sender().portName();
        java.util.function.LongSupplier copies = counted == null ? null : () -> flowCopies(counted.status(), sender);
        try {
            for (Scenario s : scenarios) {
                if (unavailable != null) {
                    of.apply(s).unavailable = unavailable;
                    progress.step(trialCount);
                    continue;
                }
                FlowPlan plan = s.plan();
                lab.installFlows(plan);
                if (maps != null) {
                    lab.awaitMirrored(maps, 30_000);
                }
                fdbSizes.putIfAbsent(s, lab.fdbSize());
                Double ns = programNs(lab, path, programId, plan.frame(0));
                if (ns != null) {
                    of.apply(s).programNs.add(ns);
                    of.apply(s).program = BpfProgram.nameOfId(programId);
                }
                List<Report.Trial> trials = of.apply(s).trials;
                try (Generator gen = s.ingress() == Scenario.Ingress.VETH
                        ? Generator.fromHost(lab.sender(), plan, o.cpus().generator(), o.batch())
                        : Generator.atPort(lab.sender(), lab.lab().switchNs(), lab.sender().portName(),
                                injectInto(path, programId, bare), plan, o.cpus().generator(), o.batch())) {
                    gen.run(java.time.Duration.ofMillis(200), o.ratePps()); // warm up caches, rings, the JIT
                    Cpus.sleep(50);
                    for (int t = 0; t < trialCount; t++) {
                        progress.status(s.name() + " " + path.label() + " trial " + (trials.size() + 1) + "/" + o.trials());
                        trials.add(trial(lab, gen, copies));
                        progress.step(1);
                    }
                    if (programId >= 0) {
                        progress.status(s.name() + " " + path.label() + ": timing the program in traffic");
                        // Injected at p1, an XDP forwarder runs as the generator's tail call: time both.
                        boolean tailCalled = s.ingress() == Scenario.Ingress.PORT
                                && (path == PathKind.XDP || path == PathKind.BARE);
                        int timedId = tailCalled ? gen.programId() : programId;
                        Double timed = trafficNs(path, timedId, gen);
                        if (timed != null) {
                            of.apply(s).trafficNs.add(timed);
                            of.apply(s).trafficProgram = BpfProgram.nameOfId(timedId);
                        }
                    }
                }
            }
        } catch (RuntimeException e) {
            notes.add(path.label() + " with " + Scenario.count(fillers) + " filler entries failed: " + e.getMessage());
            for (Scenario s : scenarios) {
                Measured m = of.apply(s);
                if (m.unavailable == null) {
                    m.unavailable = "failed: " + firstLine(e);
                }
            }
        } finally {
            if (bareLink != null) {
                bareLink.close();
            }
            if (bare != null) {
                bare.close();
            }
            if (maps != null) {
                maps.close();
            }
            if (daemon != null) {
                daemon.close();
            }
            lab.xdpSinks(true);
        }
    }

    /**
     * What an injected frame meets first on {@code path}: the XDP program at p1 (the daemon's,
     * by id, or the bare redirect), or bench_pass, whose XDP_PASS hands it to the stack on p1
     * (the kernel bridge, or the TC hook at p1's ingress).
     */
    private static java.util.function.Consumer<BenchPrograms> injectInto(PathKind path, int programId, BenchPrograms bare) {
        return switch (path) {
            case XDP -> p -> BpfProgram.withFdOfId(programId, p::setInjectNext);
            case BARE -> p -> p.setInjectNext(bare.object().program("bench_redirect").fd());
            case KERNEL, TC, BARE_TC -> p -> p.setInjectNext(p.object().program("bench_pass").fd());
        };
    }

    private Report.Trial trial(BenchLab lab, Generator gen, java.util.function.LongSupplier flowCopies) {
        Long c0 = flowCopies == null ? null : flowCopies.getAsLong();
        long[] s0 = lab.sinkCounts();
        long w0 = lab.receiverWitness();
        long g0 = gen.sent();
        long nanos = gen.run(o.trialDuration(), o.ratePps());
        Cpus.sleep(100); // frames still in the veth rings arrive
        long[] s1 = lab.sinkCounts();
        long w1 = lab.receiverWitness();
        long g1 = gen.sent();
        Long copies = c0 == null ? null : flowCopies.getAsLong() - c0;
        return new Report.Trial(nanos / 1e9, g1 - g0, s1[0] - s0[0], s1[1] - s0[1], w1 - w0, gen.busy(), copies);
    }

    static Report.PathResult summarize(String path, List<Report.Trial> trials, List<Double> programNs,
            String program, List<Double> trafficNs, String trafficProgram) {
        Function<Function<Report.Trial, Double>, Summary> sum = f -> Summary.of(trials.stream().map(f).toList());
        return new Report.PathResult(path, "ok", trials, sum.apply(t -> t.pps() / 1e6), sum.apply(Report.Trial::gbps),
                sum.apply(t -> t.offeredPps() / 1e6), sum.apply(Report.Trial::lossPercent), null, null, null, null,
                Summary.of(programNs), program, Summary.of(trafficNs), trafficProgram, Summary.of(trials.stream().map(t -> 100 * t.generatorBusy())
                        .filter(Double::isFinite).toList()),
                Summary.of(trials.stream().map(Report.Trial::copiedPercent).filter(java.util.Objects::nonNull).toList()));
    }

    /**
     * Adds the ratios to the kernel bridge and to the bare redirect at the path's own hook
     * ({@link PathKind#bare()}; same scenario): of medians, and of best trials.
     */
    static List<Report.PathResult> withRatios(List<Report.PathResult> paths) {
        Function<PathKind, Summary> of = kind -> paths.stream().filter(p -> p.ok() && p.path().equals(kind.label()))
                .findFirst().map(Report.PathResult::mpps).orElse(null);
        Summary kernel = of.apply(PathKind.KERNEL);
        List<Report.PathResult> out = new ArrayList<>();
        for (Report.PathResult p : paths) {
            if (!p.ok()) {
                out.add(p);
                continue;
            }
            Summary bare = of.apply(PathKind.valueOf(kindOf(p.path())).bare());
            out.add(new Report.PathResult(p.path(), p.status(), p.trials(), p.mpps(), p.gbps(), p.offeredMpps(),
                    p.lossPercent(), ratio(p.mpps().median(), kernel, Summary::median),
                    ratio(p.mpps().median(), bare, Summary::median), ratio(p.mpps().max(), kernel, Summary::max),
                    ratio(p.mpps().max(), bare, Summary::max), p.programNs(), p.program(), p.trafficNs(),
                    p.trafficProgram(), p.generatorBusyPercent(),
                    p.copiedPercent()));
        }
        return out;
    }

    private static Double ratio(double value, Summary of, java.util.function.ToDoubleFunction<Summary> figure) {
        if (of == null) {
            return null;
        }
        double base = figure.applyAsDouble(of);
        return base > 0 ? value / base : null;
    }

    static String kindOf(String label) {
        for (PathKind k : PathKind.values()) {
            if (k.label().equals(label)) {
                return k.name();
            }
        }
        throw new IllegalArgumentException(label);
    }

    /** Room for every filler, 2 entries per flow (up to 65,536 flows) and locals. */
    static int fdbMax(int fillers) {
        return Math.max(65_536, fillers + 2 * FlowPlan.MAX_FLOWS + 1024);
    }

    /** The flow_copies counter of {@code port} in the daemon's status. */
    static long flowCopies(Status status, String port) {
        return status.port(port).map(Status.PortStatus::flowCopies)
                .orElseThrow(() -> new IllegalStateException("the daemon does not list port " + port));
    }

    private static String notAccelerated(Status status, String port, String hook) {
        Status.PortStatus p = status.port(port).orElse(null);
        if (p == null) {
            return "the daemon does not list port " + port;
        }
        return p.accelerated() && p.hook().equals(hook) ? null
                : "the daemon did not attach " + hook + " to " + port + " (hook " + p.hook() + "): " + p.reason();
    }

    /**
     * {@code xbridge run} arguments that force {@code path}'s hook on the whole bridge: the
     * TC arguments the CLI found (with the bridge's name for {@code %s}) for TC; for XDP,
     * {@code --hook BRIDGE=xdp} when the daemon has hooks to choose from (the TC arguments
     * exist), nothing otherwise (it only has XDP).
     */
    static List<String> hookArgs(BenchOptions o, PathKind path, String bridge) {
        List<String> tc = o.tcDaemonArgs();
        if (tc == null) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        for (String a : tc) {
            out.add(a.contains("%s") ? String.format(a, bridge) : a);
        }
        if (path == PathKind.XDP) {
            out.replaceAll(a -> a.equals(bridge + "=tc") ? bridge + "=xdp" : a);
        }
        return out;
    }

    private static String firstLine(Throwable e) {
        String m = e.getMessage() == null ? e.toString() : e.getMessage();
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl);
    }

    static String kernel() {
        try {
            return Files.readString(Path.of("/proc/sys/kernel/osrelease")).strip();
        } catch (java.io.IOException e) {
            return "unknown";
        }
    }
}
