package dev.xbridge.bench;

import java.time.Duration;
import java.util.List;

/**
 * How a bench runs.
 *
 * @param tcDaemonArgs extra {@code xbridge run} arguments that select the TC hook, or null
 *                     when the daemon has none (the TC rows then say so)
 * @param controlPlaneChanges FDB add+del pairs timed for the change latency (0: skip the control plane)
 * @param syncEntries FDB entries present when the daemon starts, for the sync time
 * @param rssEntries FDB entries for the RSS figure (0: skip)
 */
public record BenchOptions(String preset, List<Scenario> scenarios, List<PathKind> paths, int trials, Duration trialDuration,
        long ratePps, int batch, BenchCpus cpus, boolean bridgeNf, List<String> tcDaemonArgs,
        boolean tcp, Duration tcpDuration, int controlPlaneChanges, int syncEntries, int rssEntries,
        Duration cpuWindow, int churnPerSecond) {

    /**
     * What CI can run in about a minute: 64 B, 1 flow, 2 ports, sent across host 1's veth and
     * injected at p1; every path, short trials, a small control plane.
     */
    public static BenchOptions quick(BenchCpus cpus, List<String> tcDaemonArgs) {
        return new BenchOptions("quick", List.of(new Scenario(64, 1, 0, 2), new Scenario(64, 1, 0, 2, Scenario.Ingress.PORT)),
                List.of(PathKind.KERNEL, PathKind.XDP, PathKind.TC, PathKind.BARE, PathKind.BARE_TC), 3, Duration.ofMillis(1000), 0, 0,
                cpus, false, tcDaemonArgs, false, Duration.ofSeconds(2), 200, 1000, 0, Duration.ofSeconds(2), 1000);
    }

    /**
     * The scenarios, one factor at a time from the base (64 B, 1 flow, no filler, 2
     * ports): 1518 B frames; 1,024 flows; 10,000 and 1,000,000 FDB entries; 8 ports; and the
     * worst case of all (1,024 flows, 1,000,000 entries, 8 ports); the base and 1,024 flows
     * again with the frames injected at p1. TCP with iperf3, and the whole control plane.
     */
    public static BenchOptions full(BenchCpus cpus, List<String> tcDaemonArgs) {
        List<Scenario> s = List.of(
                new Scenario(64, 1, 0, 2),
                new Scenario(1518, 1, 0, 2),
                new Scenario(64, 1024, 0, 2),
                new Scenario(64, 1, 10_000, 2),
                new Scenario(64, 1, 1_000_000, 2),
                new Scenario(64, 1024, 1_000_000, 2),
                new Scenario(64, 1, 0, 8),
                new Scenario(64, 1024, 0, 8),
                new Scenario(1518, 1024, 0, 8),
                new Scenario(64, 1, 0, 2, Scenario.Ingress.PORT),
                new Scenario(64, 1024, 0, 2, Scenario.Ingress.PORT));
        return new BenchOptions("full", s, List.of(PathKind.KERNEL, PathKind.XDP, PathKind.TC, PathKind.BARE, PathKind.BARE_TC), 5,
                Duration.ofSeconds(2), 0, 0, cpus, false, tcDaemonArgs, true, Duration.ofSeconds(5), 10_000, 100_000,
                1_000_000, Duration.ofSeconds(10), 10_000);
    }
}
