package dev.xbridge.cli;

import dev.xbridge.bench.Bench;
import dev.xbridge.bench.BenchOptions;
import dev.xbridge.bench.PathKind;
import dev.xbridge.bench.Progress;
import dev.xbridge.bench.Report;
import dev.xbridge.bench.ReportWriter;
import dev.xbridge.bench.Scenario;
import dev.xbridge.daemon.Privileges;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code xbridge bench}: the fast path against the kernel bridge and the bare-redirect limit, in throwaway namespaces. */
@Command(name = "bench", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Measure the kernel bridge, xbridge's hooks and a bare XDP redirect on the same testbed "
                + "(hosts on a bridge in namespaces), then the daemon's control plane. Leaves nothing behind.",
                "Default: the full matrix (several minutes). --quick: one scenario two ways, about a minute."})
final class BenchCommand implements Callable<Integer> {
    @Option(names = "--quick", description = "64 B, 1 flow, 2 ports, across the veth and injected at p1, 3 short trials, a small control plane (what CI runs).")
    boolean quick;

    @Option(names = "--sizes", split = ",", paramLabel = "BYTES", description = "Frame sizes, FCS included (64..1518); with "
            + "--flows/--fdb/--ports: their cross product replaces the preset's scenarios.")
    List<Integer> sizes;

    @Option(names = "--flows", split = ",", paramLabel = "N", description = "Flow counts (distinct MACs, IPs, UDP ports).")
    List<Integer> flows;

    @Option(names = "--fdb", split = ",", paramLabel = "N", description = "Filler FDB entries besides the flows' own.")
    List<Integer> fdb;

    @Option(names = "--ports", split = ",", paramLabel = "N", description = "Bridge ports: 1 sender, N-1 receivers.")
    List<Integer> ports;

    @Option(names = "--ingress", split = ",", paramLabel = "WHERE", description = "Where frames enter: VETH (sent by host 1 "
            + "across its veth, end to end) or PORT (injected at p1, the forwarder's own cost); default VETH.")
    List<Scenario.Ingress> ingress;

    @Option(names = "--paths", split = ",", paramLabel = "PATH", description = "Paths: ${COMPLETION-CANDIDATES}.")
    List<PathKind> paths;

    @Option(names = "--trials", paramLabel = "N", description = "Trials per path and scenario.")
    Integer trials;

    @Option(names = "--duration", paramLabel = "SECONDS", description = "Seconds per trial.")
    Double duration;

    @Option(names = "--rate", paramLabel = "PPS", description = "Offered frames per second (default: as fast as the generator goes).")
    Long rate;

    @Option(names = "--batch", paramLabel = "N", description = "Live-frame batch per BPF_PROG_RUN loop (0: kernel default, 64).")
    Integer batch;

    @Option(names = "--cpu-generator", defaultValue = "0", description = "CPU of the generator (default: ${DEFAULT-VALUE}).")
    int cpuGenerator;

    @Option(names = "--cpu-forwarder", description = "With --threaded-napi: CPU of the bridge port's NAPI, where the bridge or XDP forwards (default: 1, or 0 on one CPU).")
    Integer cpuForwarder;

    @Option(names = "--cpu-sink", defaultValue = "0", description = "With --threaded-napi: CPU of the receivers' NAPI, where the sinks count (default: ${DEFAULT-VALUE}).")
    int cpuSink;

    @Option(names = "--threaded-napi", description = {"Run the forwarder's and sinks' NAPI in kthreads pinned to "
            + "--cpu-forwarder and --cpu-sink. Default: softirq, which runs on the sending CPU, so generator, forwarder "
            + "and sink share --cpu-generator (one core, with backpressure). Threaded, the generator overruns p1's "
            + "256-frame veth ring and frames cross CPUs; slower than one CPU on a 2-CPU machine (docs/bench.md)."})
    boolean threadedNapi;

    @Option(names = "--bridge-nf", description = "Keep net.bridge.bridge-nf-call-* on in the switch namespace (bridged IPv4 crosses iptables).")
    boolean bridgeNf;

    @Option(names = "--no-tcp", description = "Skip TCP with iperf3.")
    boolean noTcp;

    @Option(names = "--changes", paramLabel = "N", description = "FDB add/del pairs for the change latency; 0 skips the control plane.")
    Integer changes;

    @Option(names = "--json", description = "Print the report as JSON instead of a table.")
    boolean json;

    @Option(names = "--svg", paramLabel = "FILE", description = "Also write a bar chart of the data-path results to FILE.")
    Path svg;

    @Option(names = "--progress", description = "Draw the progress bar even when stderr is not a terminal.")
    boolean progress;

    @Override
    public Integer call() throws Exception {
        Privileges.requireForRun();
        int cpus = Runtime.getRuntime().availableProcessors();
        var plan = new dev.xbridge.bench.BenchCpus(cpuGenerator, cpuForwarder != null ? cpuForwarder : Math.min(1, cpus - 1), cpuSink, threadedNapi);
        List<String> tc = tcHookArgs();
        BenchOptions base = quick ? BenchOptions.quick(plan, tc) : BenchOptions.full(plan, tc);
        BenchOptions o = override(base);
        Progress bar = progress ? new Progress(System.err, true) : Progress.onTerminal();
        Report report = new Bench(o, bar).run();
        System.out.print(json ? ReportWriter.json(report) + "\n" : ReportWriter.table(report));
        if (svg != null) {
            Files.writeString(svg, ReportWriter.svg(report));
            if (!json) {
                System.out.println("chart: " + svg.toAbsolutePath());
            }
        }
        return 0;
    }

    private BenchOptions override(BenchOptions b) {
        List<Scenario> scenarios = b.scenarios();
        if (sizes != null || flows != null || fdb != null || ports != null || ingress != null) {
            scenarios = new ArrayList<>();
            for (int p : ports != null ? ports : List.of(2)) {
                for (int f : fdb != null ? fdb : List.of(0)) {
                    for (Scenario.Ingress in : ingress != null ? ingress : List.of(Scenario.Ingress.VETH)) {
                        for (int n : flows != null ? flows : List.of(1)) {
                            for (int s : sizes != null ? sizes : List.of(64)) {
                                scenarios.add(new Scenario(s, n, f, p, in));
                            }
                        }
                    }
                }
            }
        }
        int n = changes != null ? changes : b.controlPlaneChanges();
        if (trials != null && trials < 1) {
            throw new IllegalArgumentException("--trials must be at least 1");
        }
        if (duration != null && duration <= 0) {
            throw new IllegalArgumentException("--duration must be positive");
        }
        return new BenchOptions(b.preset(), scenarios, paths != null ? paths : b.paths(), trials != null ? trials : b.trials(),
                duration != null ? Duration.ofMillis((long) (duration * 1000)) : b.trialDuration(),
                rate != null ? rate : b.ratePps(), batch != null ? batch : b.batch(), b.cpus(), bridgeNf, b.tcDaemonArgs(),
                b.tcp() && !noTcp, b.tcpDuration(), n, b.syncEntries(), n > 0 ? b.rssEntries() : 0, b.cpuWindow(), b.churnPerSecond());
    }

    /**
     * The {@code xbridge run} arguments that select the TC hook for a whole bridge, if this
     * build's daemon has {@code --hook NAME=HOOK} (issue 4); null otherwise, and the TC rows
     * say so. {@code %s} stands for the bridge's name.
     */
    static List<String> tcHookArgs() {
        CommandLine.Model.OptionSpec hook = CommandLine.Model.CommandSpec.forAnnotatedObject(new RunCommand()).findOption("--hook");
        return hook == null ? null : List.of("--hook", "%s=tc");
    }
}
