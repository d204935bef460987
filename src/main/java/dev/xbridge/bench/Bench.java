package dev.xbridge.bench;

import dev.xbridge.bpf.BpfLink;
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
 * run in order of FDB size; per FDB size each path is set up once (the daemon started, or
 * the bare program attached) and runs every scenario of that size, {@code trials} times.
 */
public final class Bench {
    /** A daemon syncing 1,000,000 FDB entries took about a minute here. */
    static final java.time.Duration READY_TIMEOUT = java.time.Duration.ofMinutes(5);

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
        Map<Scenario, List<Report.PathResult>> results = new LinkedHashMap<>();
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
                    for (PathKind path : o.paths()) {
                        runPath(lab, path, sized.getKey(), sized.getValue(), results, fdbSizes);
                    }
                }
            }
        }
        List<Report.ScenarioResult> scenarios = new ArrayList<>();
        for (Scenario s : o.scenarios()) {
            List<Report.PathResult> paths = withRatios(results.getOrDefault(s, List.of()));
            paths.sort(Comparator.comparing(p -> PathKind.valueOf(kindOf(p.path())).ordinal()));
            scenarios.add(new Report.ScenarioResult(s.name(), s.frameSize(), s.flows(), s.fdbFillers(),
                    fdbSizes.getOrDefault(s, 0), s.ports(), paths));
        }
        List<Report.TcpResult> tcp = o.tcp() ? new TcpBench(o, progress).run() : List.of();
        Report.ControlPlaneResult cp = o.controlPlaneChanges() > 0 ? new ControlPlane(o, progress, notes).run() : null;
        progress.done();
        return new Report(new Report.Environment(kernel(), Cpus.online(), o.preset(), o.trials(),
                o.trialDuration().toMillis() / 1000.0, o.ratePps(), o.bridgeNf(), pinning), scenarios, tcp, cp, notes);
    }

    private void runPath(BenchLab lab, PathKind path, int fillers, List<Scenario> scenarios,
            Map<Scenario, List<Report.PathResult>> results, Map<Scenario, Integer> fdbSizes) {
        String unavailable = null;
        DaemonProcess daemon = null;
        DaemonMaps maps = null;
        BenchPrograms bare = null;
        BpfLink bareLink = null;
        try {
            switch (path) {
                case KERNEL -> { }
                case XDP, TC -> {
                    if (path == PathKind.TC && o.tcDaemonArgs() == null) {
                        unavailable = "not available yet: the daemon has no TC hook option (issue 4)";
                        break;
                    }
                    progress.status(path.label() + ": starting the daemon (" + Scenario.count(fillers) + " filler entries)");
                    List<String> args = new ArrayList<>(List.of("--bridge", lab.lab().bridge(),
                            "--fdb-max", Integer.toString(fdbMax(fillers))));
                    args.addAll(hookArgs(o, path, lab.lab().bridge()));
                    daemon = DaemonProcess.start(lab.lab().switchNs(), READY_TIMEOUT, args.toArray(String[]::new));
                    unavailable = notAccelerated(daemon.status(), lab.sender().portName(), path == PathKind.TC ? "tc" : "xdp");
                    maps = DaemonMaps.of(daemon.pid(), 10_000);
                }
                case BARE -> {
                    bare = BenchPrograms.load(new FlowPlan(1, 1, FlowPlan.MIN_FRAME));
                    int[] egress = lab.receiverPortIndex();
                    for (int r = 0; r < egress.length; r++) {
                        bare.setBareEgress(lab.lab().switchNs(), r, egress[r]);
                    }
                    bareLink = bare.attach(lab.lab().switchNs(), lab.sender().portName(), "bench_redirect");
                }
            }
            lab.repin();
        } catch (RuntimeException e) {
            unavailable = "failed: " + firstLine(e);
            notes.add(path.label() + " with " + Scenario.count(fillers) + " filler entries failed to set up: " + e.getMessage());
        }
        try {
            for (Scenario s : scenarios) {
                if (unavailable != null) {
                    results.computeIfAbsent(s, k -> new ArrayList<>()).add(Report.PathResult.unavailable(path.label(), unavailable));
                    progress.step(o.trials());
                    continue;
                }
                FlowPlan plan = s.plan();
                lab.installFlows(plan);
                if (maps != null) {
                    lab.awaitMirrored(maps, 30_000);
                }
                fdbSizes.putIfAbsent(s, lab.fdbSize());
                List<Report.Trial> trials = new ArrayList<>();
                try (Generator gen = Generator.start(lab.sender(), plan, o.cpus().generator(), o.batch())) {
                    gen.run(java.time.Duration.ofMillis(200), o.ratePps()); // warm up caches, rings, the JIT
                    Cpus.sleep(50);
                    for (int t = 0; t < o.trials(); t++) {
                        progress.status(s.name() + " " + path.label() + " trial " + (t + 1) + "/" + o.trials());
                        trials.add(trial(lab, gen));
                        progress.step(1);
                    }
                }
                results.computeIfAbsent(s, k -> new ArrayList<>()).add(summarize(path.label(), trials));
            }
        } catch (RuntimeException e) {
            notes.add(path.label() + " with " + Scenario.count(fillers) + " filler entries failed: " + e.getMessage());
            for (Scenario s : scenarios) {
                List<Report.PathResult> got = results.computeIfAbsent(s, k -> new ArrayList<>());
                if (got.stream().noneMatch(p -> p.path().equals(path.label()))) {
                    got.add(Report.PathResult.unavailable(path.label(), "failed: " + firstLine(e)));
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
        }
    }

    private Report.Trial trial(BenchLab lab, Generator gen) {
        long[] s0 = lab.sinkCounts();
        long w0 = lab.receiverXdpDrops();
        long g0 = gen.sent();
        long nanos = gen.run(o.trialDuration(), o.ratePps());
        Cpus.sleep(100); // frames still in the veth rings arrive
        long[] s1 = lab.sinkCounts();
        long w1 = lab.receiverXdpDrops();
        long g1 = gen.sent();
        return new Report.Trial(nanos / 1e9, g1 - g0, s1[0] - s0[0], s1[1] - s0[1], w1 - w0);
    }

    static Report.PathResult summarize(String path, List<Report.Trial> trials) {
        Function<Function<Report.Trial, Double>, Summary> sum = f -> Summary.of(trials.stream().map(f).toList());
        return new Report.PathResult(path, "ok", trials, sum.apply(t -> t.pps() / 1e6), sum.apply(Report.Trial::gbps),
                sum.apply(t -> t.offeredPps() / 1e6), sum.apply(Report.Trial::lossPercent), null, null);
    }

    /** Adds the ratios to the kernel bridge and to the bare redirect (medians, same scenario). */
    static List<Report.PathResult> withRatios(List<Report.PathResult> paths) {
        Double kernel = median(paths, PathKind.KERNEL);
        Double bare = median(paths, PathKind.BARE);
        List<Report.PathResult> out = new ArrayList<>();
        for (Report.PathResult p : paths) {
            if (!p.ok()) {
                out.add(p);
                continue;
            }
            double m = p.mpps().median();
            out.add(new Report.PathResult(p.path(), p.status(), p.trials(), p.mpps(), p.gbps(), p.offeredMpps(),
                    p.lossPercent(), kernel != null && kernel > 0 ? m / kernel : null, bare != null && bare > 0 ? m / bare : null));
        }
        return out;
    }

    private static Double median(List<Report.PathResult> paths, PathKind kind) {
        return paths.stream().filter(p -> p.ok() && p.path().equals(kind.label())).findFirst()
                .map(p -> p.mpps().median()).orElse(null);
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

    private static String notAccelerated(Status status, String port, String hook) {
        for (Status.BridgeStatus b : status.bridges()) {
            for (Status.PortStatus p : b.ports()) {
                if (p.name().equals(port)) {
                    if (p.accelerated() && p.hook().equals(hook)) {
                        return null;
                    }
                    return "the daemon did not attach " + hook + " to " + port + " (hook " + p.hook() + "): " + p.reason();
                }
            }
        }
        return "the daemon does not list port " + port;
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
