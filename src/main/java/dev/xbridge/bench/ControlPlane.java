package dev.xbridge.bench;

import dev.xbridge.bridge.Datapath;
import dev.xbridge.netlink.MacAddress;
import dev.xbridge.netlink.RtNetlink;
import dev.xbridge.sys.NetNamespace;
import dev.xbridge.testbed.BridgeLab;
import dev.xbridge.testbed.DaemonProcess;
import dev.xbridge.testbed.Host;
import java.util.ArrayList;
import java.util.List;

/**
 * The daemon's control-plane figures on a two-host bridge:
 * <ul>
 * <li>start-to-ready with an empty FDB and with {@code syncEntries} static entries, the median
 *     of {@link #STARTS} starts each; the difference is the time to sync them (JVM start, load
 *     and attach cancel out);
 * <li>change latency: from sending RTM_NEWNEIGH / RTM_DELNEIGH (what {@code bridge fdb add/del}
 *     sends) until a lookup in the daemon's FDB map, the map the datapath reads, sees the change.
 *     The bench polls that map through an fd it gets by id (bpf_map_get_fd_by_id), one
 *     bpf(2) lookup per poll, on the same two CPUs as the daemon;
 * <li>daemon CPU (utime + stime from /proc/PID/stat) idle and under a stream of FDB changes;
 * <li>daemon RSS (VmRSS) with {@code rssEntries} entries mirrored.
 * </ul>
 */
final class ControlPlane {
    private static final long POLL_TIMEOUT_NANOS = 2_000_000_000L;
    /**
     * Daemon starts timed with each FDB size. One start of each was too few: on two CPUs a start
     * competes with its own JIT compilers (1.9 s of their CPU in a 3 s start), and single starts
     * of the same build differed by 0.5 s. Taking the best of two empty starts against one full
     * one also tilted the difference upwards.
     */
    static final int STARTS = 3;

    private final BenchOptions o;
    private final Progress progress;
    private final List<String> notes;

    ControlPlane(BenchOptions o, Progress progress, List<String> notes) {
        this.o = o;
        this.progress = progress;
        this.notes = notes;
    }

    Report.ControlPlaneResult run() {
        progress.status("control plane: building a 2-host bridge");
        try (BridgeLab lab = BridgeLab.builder().prefix("xbc").hosts(2).hostOffloads(false).build();
                NetNamespace sw = lab.switchNs().enter()) {
            RtNetlink rt = sw.call(RtNetlink::open);
            try {
                return measure(lab, sw, rt);
            } finally {
                rt.close();
            }
        } finally {
            progress.step(1);
        }
    }

    private Report.ControlPlaneResult measure(BridgeLab lab, NetNamespace sw, RtNetlink rt) {
        Host h2 = lab.host(2);
        int port = BenchPrograms.ifindex(lab.switchNs(), h2.portName());
        int bridge = BenchPrograms.ifindex(lab.switchNs(), lab.bridge());
        int fdbMax = Bench.fdbMax(Math.max(o.syncEntries(), o.rssEntries()));
        String[] args = {"--bridge", lab.bridge(), "--fdb-max", Integer.toString(fdbMax)};

        progress.status("control plane: " + STARTS + " daemon starts with an empty FDB");
        // The median: the first start of a JVM also reads its class files cold.
        double readyEmpty = medianReady(lab, args);

        progress.status("control plane: adding " + o.syncEntries() + " FDB entries");
        fill(sw, rt, port, 0, o.syncEntries());
        progress.status("control plane: " + STARTS + " daemon starts with " + o.syncEntries() + " entries");
        double readyFull = medianReady(lab, args);
        List<Double> adds = new ArrayList<>();
        List<Double> dels = new ArrayList<>();
        double idle;
        double churnCpu;
        double churnRate;
        try (DaemonProcess d = DaemonProcess.start(lab.switchNs(), Bench.READY_TIMEOUT, args);
                DaemonMaps maps = DaemonMaps.of(d.pid(), 10_000)) {
            if (o.syncEntries() > 0 && !maps.has(bridge, BenchLab.fillerMac(o.syncEntries() - 1))) {
                notes.add("control plane: the daemon was ready before its map held the last of " + o.syncEntries() + " entries");
            }
            progress.status("control plane: " + o.controlPlaneChanges() + " fdb add/del, timed to the map");
            int timeouts = 0;
            // Warm-up changes, not counted: the daemon's event path is interpreted until the JIT compiles it.
            int warmup = Math.min(200, o.controlPlaneChanges());
            for (int i = -warmup; i < o.controlPlaneChanges(); i++) {
                MacAddress mac = changeMac(i + warmup);
                long gen = maps.generation();
                long start = System.nanoTime();
                sw.run(() -> rt.addFdb(port, mac, 0, true, false));
                double a = await(maps, bridge, mac, true, gen, start);
                gen = maps.generation();
                start = System.nanoTime();
                sw.run(() -> rt.deleteFdb(port, mac, 0));
                double dl = await(maps, bridge, mac, false, gen, start);
                if (i < 0) {
                    continue;
                }
                if (a < 0 || dl < 0) {
                    timeouts++;
                    continue;
                }
                adds.add(a);
                dels.add(dl);
            }
            if (timeouts > 0) {
                notes.add("control plane: " + timeouts + " of " + o.controlPlaneChanges()
                        + " changes did not reach the map within 2 s and are left out of the percentiles");
            }
            progress.status("control plane: idle CPU over " + o.cpuWindow().toSeconds() + " s");
            // Settle first: after the burst of changes above the JIT compiler threads are still at
            // work for a while (measured: 1.4% of a core over the 10 s from 5 s after 10,000
            // changes, nearly all C1/C2; 0.7% over a minute from a minute after start).
            Cpus.sleep(Math.max(5_000, 2 * o.cpuWindow().toMillis()));
            idle = cpuPercent(d.pid(), () -> Cpus.sleep(o.cpuWindow().toMillis()));
            progress.status("control plane: CPU under " + o.churnPerSecond() + " FDB changes/s");
            long[] made = new long[1];
            churnCpu = cpuPercent(d.pid(), () -> made[0] = churn(sw, rt, port));
            churnRate = made[0] / (o.cpuWindow().toMillis() / 1000.0);
        }

        Integer rssEntries = null;
        Long rss = null;
        Double readyLarge = null;
        Double idleLarge = null;
        if (o.rssEntries() > 0) {
            progress.status("control plane: adding FDB entries up to " + Scenario.count(o.rssEntries()));
            fill(sw, rt, port, o.syncEntries(), o.rssEntries());
            progress.status("control plane: daemon start with " + Scenario.count(o.rssEntries()) + " entries");
            long t0 = System.nanoTime();
            try (DaemonProcess d = DaemonProcess.start(lab.switchNs(), Bench.READY_TIMEOUT, args)) {
                readyLarge = (System.nanoTime() - t0) / 1e9;
                Cpus.sleep(2000);
                rss = Cpus.rssBytes(d.pid());
                rssEntries = o.rssEntries();
                progress.status("control plane: idle CPU with " + Scenario.count(o.rssEntries()) + " entries");
                idleLarge = cpuPercent(d.pid(), () -> Cpus.sleep(o.cpuWindow().toMillis()));
            }
        }
        List<Double> all = new ArrayList<>(adds);
        all.addAll(dels);
        return new Report.ControlPlaneResult(
                "RTM_NEWNEIGH/RTM_DELNEIGH sent in-process, then the daemon's fdb map and fdb_gen (map "
                        + Datapath.FDB_GEN_MAP + ") polled by id until a lookup sees the change and the generation has moved on",
                adds.size(), pct(adds, 50), pct(adds, 99), pct(dels, 50), pct(dels, 99), pct(all, 50), pct(all, 99),
                pct(all, 100), o.syncEntries(), Math.max(0, readyFull - readyEmpty), readyEmpty, readyFull, rssEntries,
                rss, readyLarge, idle, idleLarge, churnCpu, churnRate);
    }

    /** The median start-to-ready, in seconds, of {@link #STARTS} daemons started one after another. */
    private static double medianReady(BridgeLab lab, String[] args) {
        List<Double> ready = new ArrayList<>();
        for (int i = 0; i < STARTS; i++) {
            long t0 = System.nanoTime();
            try (DaemonProcess _ = DaemonProcess.start(lab.switchNs(), Bench.READY_TIMEOUT, args)) {
                ready.add((System.nanoTime() - t0) / 1e9);
            }
        }
        return Summary.percentile(ready, 50);
    }

    private void fill(NetNamespace sw, RtNetlink rt, int port, int from, int to) {
        sw.run(() -> {
            for (int i = from; i < to; i++) {
                rt.addFdb(port, BenchLab.fillerMac(i), 0, true, true);
            }
        });
    }

    /** Paced adds and deletes at {@code churnPerSecond} for the CPU window; returns how many were made. */
    private long churn(NetNamespace sw, RtNetlink rt, int port) {
        return sw.call(() -> {
            long start = System.nanoTime();
            long end = start + o.cpuWindow().toNanos();
            long made = 0;
            int pool = 4096;
            while (System.nanoTime() < end) {
                long due = start + made * 1_000_000_000L / o.churnPerSecond();
                long now = System.nanoTime();
                if (due > now) {
                    Thread.sleep((due - now) / 1_000_000, (int) ((due - now) % 1_000_000));
                    continue;
                }
                int i = (int) (made % (2L * pool));
                MacAddress mac = changeMac(1_000_000 + (i % pool));
                if (i < pool) {
                    rt.addFdb(port, mac, 0, true, true);
                } else {
                    rt.deleteFdb(port, mac, 0);
                }
                made++;
            }
            return made;
        });
    }

    /**
     * Microseconds from {@code start} until the map shows the change and the FDB generation has
     * moved past {@code genBefore} (read before the request: frames see a change once it is
     * bumped), or -1 after the poll timeout.
     */
    private static double await(DaemonMaps maps, int bridge, MacAddress mac, boolean present, long genBefore, long start) {
        while (maps.has(bridge, mac) != present || maps.generation() <= genBefore) {
            if (System.nanoTime() - start > POLL_TIMEOUT_NANOS) {
                return -1;
            }
            Thread.onSpinWait();
        }
        return (System.nanoTime() - start) / 1e3;
    }

    private static double cpuPercent(long pid, Runnable during) {
        double c0 = Cpus.cpuSeconds(pid);
        long t0 = System.nanoTime();
        during.run();
        double c1 = Cpus.cpuSeconds(pid);
        return 100 * (c1 - c0) / ((System.nanoTime() - t0) / 1e9);
    }

    static MacAddress changeMac(int i) {
        return MacAddress.of(new byte[] {0x02, 0x5d, (byte) (i >>> 24), (byte) (i >>> 16), (byte) (i >>> 8), (byte) i});
    }

    private static Double pct(List<Double> v, double p) {
        return v.isEmpty() ? null : Summary.percentile(v, p);
    }
}
