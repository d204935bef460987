package dev.xbridge.bench;

import java.util.List;
import java.util.Map;

/**
 * What {@code xbridge bench} measured, as written to {@code --json}. Rates are of frames the
 * sinks received; Gbit/s counts the frames' bytes in memory (no FCS, preamble or gap).
 */
public record Report(Environment environment, List<ScenarioResult> scenarios, List<TcpResult> tcp,
        ControlPlaneResult controlPlane, List<String> notes) {

    /**
     * @param pinning role -> where it ran (generator, forwarder, sink)
     * @param bridgeNf whether br_netfilter's bridge-nf-call-* stayed on in the switch namespace
     */
    public record Environment(String kernel, int cpus, String preset, int trials, double trialSeconds, long ratePps,
            boolean bridgeNf, Map<String, String> pinning) {}

    /**
     * One trial of one path. {@code sinkWitness}: the receivers' own count over the trial (ethtool
     * xdp_drops where XDP sinks count, eth0 rx_packets for the TC hook). {@code generatorBusy}: the share of the trial (0 to 1) the generator's CPU was
     * not idle (/proc/stat); the rate is the CPU's limit only when it is near 1.
     * {@code flowCopies}: the decisions the daemon's datapath copied into its flow cache for
     * the sender's port during the trial (its flow_copies counter); null on the other paths.
     * Near 0 when every flow's frames found their copy; one a frame when they never did.
     */
    public record Trial(double seconds, long offered, long received, long receivedBytes, long sinkWitness,
            double generatorBusy, Long flowCopies) {
        public double pps() {
            return seconds > 0 ? received / seconds : 0;
        }

        public double offeredPps() {
            return seconds > 0 ? offered / seconds : 0;
        }

        public double gbps() {
            return seconds > 0 ? receivedBytes * 8 / seconds / 1e9 : 0;
        }

        /** Flow-cache copies per received frame, in percent; null where not counted. */
        public Double copiedPercent() {
            return flowCopies == null ? null : received > 0 ? 100.0 * flowCopies / received : 0;
        }

        /** Offered frames that did not arrive, in percent. */
        public double lossPercent() {
            return offered > 0 ? 100.0 * (offered - received) / offered : 0;
        }
    }

    /**
     * @param status "ok", or why the path was not measured
     * @param vsKernel median pps over the kernel bridge's median pps in the same scenario
     * @param vsBare median pps over the bare redirect's
     * @param vsKernelBest the best trial's pps over the kernel bridge's best trial: this host has
     *     spells in which a CPU runs at half speed for seconds (docs/bench.md), which only ever
     *     slow a trial down, so the best trials compare the paths with the spells left out
     * @param vsBareBest the same against the bare redirect
     * @param programNs the forwarding program's own time per frame: BPF_PROG_RUN of the program
     *     as loaded and configured (the daemon's, or the bare redirect) on the scenario's first
     *     frame, once per round; empty for the kernel bridge
     * @param program the name the kernel keeps for the program that programNs timed (e.g.
     *     "xbridge_xdp"), so a reader can tell which one it was; null for the kernel bridge
     * @param trafficNs the forwarding program's mean time a run in the scenario's own traffic, as
     *     the kernel timed it (BPF_ENABLE_STATS: run_time_ns over run_cnt), in one more trial a
     *     round whose rate is not counted: the timing adds two clock reads to every program's
     *     run. Unlike programNs it meets the caches the traffic leaves (1,024 flows' copies, the
     *     frames' pages). Empty for the kernel bridge
     * @param trafficProgram the program trafficNs timed, as the kernel names it: the forwarding
     *     program, or, for an XDP path injected at p1, "bench_inject", the generator's program,
     *     whose time includes the forwarder it tail-calls (the kernel does not time a tail call on
     *     its own); the difference between two such paths is their forwarders' difference
     * @param generatorBusyPercent the generator CPU's busy share over the trials, in percent
     * @param copiedPercent the trials' flow-cache copies per received frame, in percent
     *     ({@link Trial#copiedPercent}); empty on paths without the daemon
     */
    public record PathResult(String path, String status, List<Trial> trials, Summary mpps, Summary gbps,
            Summary offeredMpps, Summary lossPercent, Double vsKernel, Double vsBare, Double vsKernelBest,
            Double vsBareBest, Summary programNs, String program, Summary trafficNs, String trafficProgram,
            Summary generatorBusyPercent,
            Summary copiedPercent) {
        public boolean ok() {
            return status.equals("ok");
        }

        static PathResult unavailable(String path, String why) {
            Summary none = Summary.of(List.of());
            return new PathResult(path, why, List.of(), none, none, none, none, null, null, null, null, none, null, none, null, none, none);
        }
    }

    /**
     * @param fdbEntries entries in the bridge's FDB during the scenario (fillers, 2 per flow, locals)
     * @param ingress "veth" (sent by host 1 across its veth) or "port" (injected at p1)
     */
    public record ScenarioResult(String name, int frameSize, int flows, int fdbFillers, int fdbEntries, int ports,
            String ingress, List<PathResult> paths) {}

    public record TcpResult(String path, String status, Summary gbps, long retransmits) {}

    /**
     * Every figure null when not measured. Latencies in microseconds from sending the netlink
     * request to the daemon's FDB map showing the change.
     *
     * @param method how "the datapath acts on it" was observed
     */
    public record ControlPlaneResult(String method, int changes, Double addP50Micros, Double addP99Micros,
            Double delP50Micros, Double delP99Micros, Double allP50Micros, Double allP99Micros, Double allMaxMicros,
            Integer syncEntries, Double syncSeconds, Double readyEmptySeconds, Double readyWithEntriesSeconds,
            Integer rssEntries, Long rssBytes, Double readyLargeSeconds, Double idleCpuPercent, Double idleCpuPercentLarge,
            Double churnCpuPercent, Double churnChangesPerSecond) {}
}
