package dev.xbridge.daemon;

import dev.xbridge.bpf.LibBpf;
import dev.xbridge.bridge.Bridge;
import dev.xbridge.bridge.CacheSize;
import dev.xbridge.bridge.Datapath;
import dev.xbridge.bridge.KernelState;
import dev.xbridge.bridge.PortStats;
import dev.xbridge.bridge.PortView;
import dev.xbridge.bridge.Reason;
import dev.xbridge.netlink.PortState;
import dev.xbridge.netlink.PortVlan;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * What {@code xbridge status} shows, as plain records so the same data
 * serialises to JSON for {@code --json} and over the control socket.
 *
 * @param fdbRepairs FDB dumps taken again because entries or links went during the one before (Daemon)
 * @param fdbRepairWrites entries those repairs wrote
 * @param fdbRepairInMillis when the next repair is due, -1 if none is
 */
public record Status(long pid, String started, long events, long resyncs, long fdbRepairs, long fdbRepairWrites,
        long fdbRepairInMillis, long fdbWriteFailures, DatapathStatus datapath, List<BridgeStatus> bridges) {

    /** This status with only {@code only} of its bridges. */
    public Status withBridges(List<BridgeStatus> only) {
        return new Status(pid, started, events, resyncs, fdbRepairs, fdbRepairWrites, fdbRepairInMillis, fdbWriteFailures,
                datapath, only);
    }

    /** The port named {@code name}, on whichever bridge lists it. */
    public Optional<PortStatus> port(String name) {
        return bridges.stream().flatMap(b -> b.ports().stream()).filter(p -> p.name().equals(name)).findFirst();
    }

    /**
     * The loaded datapath's memory.
     *
     * @param kernelBytes what its maps take, as the kernel accounts it (memlock); -1 if it does not say
     * @param possibleCpus CPUs the kernel allocates per-CPU values for
     * @param flowCacheSets flow_cache's sets per CPU, 0 with the caches off
     * @param fdbCacheSets fdb_cache's sets per CPU, 0 with the caches off
     * @param cacheBytes what both caches take over all possible CPUs
     */
    public record DatapathStatus(long kernelBytes, int possibleCpus, int flowCacheSets, int fdbCacheSets,
            long cacheBytes) {
        static DatapathStatus of(Datapath dp) {
            int cpus = LibBpf.possibleCpus();
            CacheSize c = dp.caches();
            return new DatapathStatus(dp.kernelMemory(), cpus, c.flowSets(), c.fdbSets(), c.bytesPerCpu() * cpus);
        }

        /** One line for the human status. */
        public String describe() {
            String kernel = kernelBytes < 0 ? "kernel memory not reported" : CacheSize.bytes(kernelBytes) + " of kernel memory";
            String caches = flowCacheSets == 0 ? "per-CPU caches off"
                    : "per-CPU caches " + flowCacheSets + " flow sets and " + fdbCacheSets + " FDB sets x "
                            + possibleCpus + " possible CPUs = " + CacheSize.bytes(cacheBytes);
            return "datapath: " + kernel + " in maps; " + caches;
        }
    }

    /** @param ageingSeconds the bridge's ageing_time */
    public record BridgeStatus(String name, int index, boolean up, double ageingSeconds, List<PortStatus> ports) {}

    /**
     * @param hook "xdp", "tc" or "none"
     * @param mode "native" (XDP), "tcx" or "clsact" (TC), "" when none
     * @param reason why this hook: the automatic choice's facts, an override, or a warning
     * @param accelerated the fast path forwards frames arriving here
     * @param egress the fast path may forward frames to here
     * @param fastPackets frames forwarded by the fast path from this port
     * @param slowPackets frames from this port handed to the kernel bridge
     * @param flowCopies fast-path frames from this port that found no copy of their flow's
     *     decision in their CPU's flow cache and made one: the cache's misses. A flow's first
     *     frame on each CPU makes one, and so does its first after any FDB or port change;
     *     a share of the fast frames that stays above a few percent under steady traffic means
     *     more flows than the cache holds ({@code --cache-memory})
     * @param passed slow-path frames by reason (non-zero reasons only)
     */
    public record PortStatus(String name, int index, String state, String hook, String mode, boolean accelerated,
            boolean egress, String reason, long fastPackets, long fastBytes, long slowPackets, long droppedPackets,
            long flowCopies, Map<String, Long> passed, String peer, boolean peerGroChanged, String vlans) {}

    /**
     * A port's VLANs as xbridge mirrors them, {@code bridge vlan show} style:
     * "10 pvid untagged, 20, 30-32 blocking"; consecutive VIDs alike share a range.
     */
    static String vlans(List<PortVlan> vlans) {
        List<PortVlan> sorted = vlans.stream().sorted(Comparator.comparingInt(PortVlan::vid)).toList();
        List<String> out = new ArrayList<>();
        for (int i = 0; i < sorted.size(); ) {
            var first = sorted.get(i);
            int j = i;
            while (j + 1 < sorted.size() && sorted.get(j + 1).vid() == sorted.get(j).vid() + 1
                    && sorted.get(j + 1).flags() == first.flags() && sorted.get(j + 1).state() == first.state()) {
                j++;
            }
            String ids = i == j ? Integer.toString(first.vid()) : first.vid() + "-" + sorted.get(j).vid();
            out.add(ids + (first.pvid() ? " pvid" : "") + (first.untagged() ? " untagged" : "")
                    + (first.state() == PortState.FORWARDING.value() ? ""
                            : " " + PortState.of(first.state()).name().toLowerCase(Locale.ROOT)));
            i = j + 1;
        }
        return out.isEmpty() ? "none" : String.join(", ", out);
    }

    static Status of(Daemon d) {
        KernelState state = d.reconciler().state();
        List<PortView> views = d.reconciler().ports();
        List<BridgeStatus> bridges = new ArrayList<>();
        for (Bridge b : state.bridges()) {
            List<PortStatus> ports = new ArrayList<>();
            for (PortView v : views) {
                if (v.bridgeIndex() != b.index()) {
                    continue;
                }
                PortStats s = v.slot() > 0 && !"none".equals(v.hook()) ? d.datapath().stats(v.slot()) : PortStats.zero();
                Map<String, Long> passed = new LinkedHashMap<>();
                for (Reason r : Reason.values()) {
                    if (r.isPass() && s.packets(r) > 0) {
                        passed.put(r.key(), s.packets(r));
                    }
                }
                ports.add(new PortStatus(v.name(), v.index(), v.state().name().toLowerCase(java.util.Locale.ROOT),
                        v.hook(), v.mode(), v.accelerated(), v.egress(), v.reason(), s.fastPackets(),
                        s.redirectBytes(), s.slowPackets(), s.droppedPackets(), s.flowCopies(), passed,
                        v.peer() != null && v.peer().found() ? v.peer().where() : null, v.groChangedByUs(),
                        b.vlanFiltering() ? vlans(state.vlans(v.index())) : null));
            }
            bridges.add(new BridgeStatus(b.name(), b.index(), b.isUp(), b.ageingCentis() / 100.0, ports));
        }
        return new Status(ProcessHandle.current().pid(), d.started().toString(), d.events(), d.resyncs(),
                d.fdbRepairs(), d.fdbRepairWrites(), d.fdbRepairInMillis(), d.reconciler().fdbWriteFailures(), DatapathStatus.of(d.datapath()), bridges);
    }
}
