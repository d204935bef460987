package dev.xbridge.cli;

import dev.xbridge.bridge.Reconciler;
import dev.xbridge.daemon.ControlClient;
import dev.xbridge.daemon.FdbRow;
import dev.xbridge.daemon.Status;
import dev.xbridge.netlink.FdbEntry;
import dev.xbridge.netlink.Link;
import dev.xbridge.netlink.RtNetlink;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code xbridge check}: the daemon's FDB mirror against the kernel's FDB, entry by entry.
 *
 * <p>Both sides move while they are read: events are in flight to the daemon, entries age
 * and are learned, and a kernel dump taken while entries go skips others (br_fdb_dump()
 * resumes at an index into the bridge's list). So when a comparison finds differences,
 * a second one follows {@code --settle-ms} later, and only a difference found both times,
 * the same both times, is reported. A difference the daemon's next FDB repair may mend
 * (Daemon) is still one; the report says when that repair is due.
 */
@Command(name = "check", mixinStandardHelpOptions = true,
        description = {"Compare the daemon's FDB mirror with the kernel's FDB (bridge fdb show).",
                "What differs is compared again --settle-ms later; only differences found both times count.",
                "Exit status: 0 in step, 4 different, 3 no daemon, 1 error."})
final class CheckCommand implements Callable<Integer> {
    static final int EXIT_DIFFERENT = 4;
    /** Rows the human output lists; --json lists every difference. */
    static final int SHOWN = 50;

    @Mixin
    DaemonQuery query;

    @Option(names = "--settle-ms", paramLabel = "MS", defaultValue = "1000",
            description = "Time between the two comparisons (default: ${DEFAULT-VALUE}).")
    long settleMillis;

    /** An entry's identity in both FDBs; what each side says of it is "PORT KIND". */
    record Key(String bridge, int vlan, String mac) {}

    /**
     * @param kernel what the kernel's FDB has ("PORT KIND"), null if it lacks the entry
     * @param mirror what the daemon's mirror has, null if it lacks the entry
     */
    public record Difference(String bridge, String mac, int vlan, String kernel, String mirror) {}

    public record BridgeCount(String bridge, long kernel, long mirror) {}

    /**
     * @param fdbRepairInMillis when the daemon's next FDB repair is due, -1 if none is (or in step)
     * @param fdbWriteFailures writes the daemon's FDB map refused, full (0 when in step)
     */
    public record Report(boolean inStep, long settleMillis, long fdbRepairInMillis, long fdbWriteFailures,
            List<BridgeCount> bridges, List<Difference> differences) {}

    @Override
    public Integer call() throws Exception {
        if (settleMillis < 0) {
            throw new IllegalArgumentException("--settle-ms must be 0 or more, not " + settleMillis);
        }
        ControlClient client = query.client();
        Comparison first = compare(client);
        Comparison last = first;
        List<Difference> persisting = first.differences;
        if (!persisting.isEmpty()) {
            Thread.sleep(settleMillis);
            last = compare(client);
            Set<Difference> again = new HashSet<>(last.differences);
            persisting = first.differences.stream().filter(again::contains).toList();
        }
        // What the daemon knows of why the mirror may lack entries.
        Status status = persisting.isEmpty() ? null : client.status();
        Report report = new Report(persisting.isEmpty(), settleMillis, status == null ? -1 : status.fdbRepairInMillis(),
                status == null ? 0 : status.fdbWriteFailures(), last.counts, persisting);
        if (query.json) {
            DaemonQuery.printJson(report);
        } else {
            print(report, first.differences.size());
        }
        return report.inStep() ? 0 : EXIT_DIFFERENT;
    }

    private static void print(Report r, int firstTime) {
        for (BridgeCount c : r.bridges()) {
            System.out.println("bridge " + c.bridge() + ": " + c.kernel() + " FDB entries in the kernel, " + c.mirror()
                    + " in the mirror");
        }
        if (r.inStep()) {
            System.out.println(firstTime == 0 ? "in step"
                    : "in step (" + firstTime + (firstTime == 1 ? " difference" : " differences") + " the first time, gone "
                            + r.settleMillis() + " ms later)");
            return;
        }
        System.out.println(r.differences().size() + (r.differences().size() == 1 ? " difference" : " differences")
                + ", found twice " + r.settleMillis() + " ms apart:");
        Table t = new Table("BRIDGE", "MAC", "VLAN", "KERNEL", "MIRROR");
        for (Difference d : r.differences().subList(0, Math.min(SHOWN, r.differences().size()))) {
            t.row(d.bridge(), d.mac(), d.vlan() == 0 ? "-" : d.vlan(), d.kernel() == null ? "(none)" : d.kernel(),
                    d.mirror() == null ? "(none)" : d.mirror());
        }
        System.out.print(t);
        if (r.differences().size() > SHOWN) {
            System.out.println("... and " + (r.differences().size() - SHOWN) + " more (--json lists them all)");
        }
        if (r.fdbWriteFailures() > 0) {
            System.out.println("The daemon's FDB map refused " + r.fdbWriteFailures() + " writes, full: raise --fdb-max"
                    + " (entries not mirrored go through the kernel bridge).");
        }
        if (r.fdbRepairInMillis() >= 0) {
            System.out.println("The daemon's next FDB repair (a dump taken again because entries went during the last)"
                    + " is due in " + r.fdbRepairInMillis() + " ms; what it writes may close these.");
        }
    }

    private record Comparison(List<BridgeCount> counts, List<Difference> differences) {}

    /** The mirror first, then the kernel: an entry the kernel gains in between shows as missing once only. */
    private Comparison compare(ControlClient client) {
        List<FdbRow> rows = client.fdb();
        Map<Key, String> kernel = new HashMap<>();
        try (RtNetlink rt = RtNetlink.open()) {
            Map<Integer, Link> links = new HashMap<>();
            rt.links().forEach(l -> links.put(l.index(), l));
            if (query.bridge != null && links.values().stream().noneMatch(l -> l.isBridge() && l.name().equals(query.bridge))) {
                throw new IllegalArgumentException("no bridge named '" + query.bridge + "' in this network namespace; bridges: "
                        + String.join(", ", links.values().stream().filter(Link::isBridge).map(Link::name).sorted().toList()));
            }
            rt.fdb(e -> {
                if (!e.isBridgeEntry()) {
                    return;
                }
                Link bridge = links.get(e.bridgeIndex());
                if (bridge == null || !bridge.isBridge() || !wanted(bridge.name())) {
                    return;
                }
                kernel.put(new Key(bridge.name(), e.vlan(), e.mac().toString()), side(e, links));
            });
        }
        Map<Key, String> mirror = new HashMap<>();
        for (FdbRow r : rows) {
            if (wanted(r.bridge())) {
                mirror.put(new Key(r.bridge(), r.vlan(), r.mac()), r.port() + " " + r.kind());
            }
        }
        Map<String, long[]> counts = new TreeMap<>();
        kernel.keySet().forEach(k -> counts.computeIfAbsent(k.bridge(), b -> new long[2])[0]++);
        mirror.keySet().forEach(k -> counts.computeIfAbsent(k.bridge(), b -> new long[2])[1]++);
        List<Difference> differences = new ArrayList<>();
        kernel.forEach((k, v) -> {
            String m = mirror.get(k);
            if (!v.equals(m)) {
                differences.add(new Difference(k.bridge(), k.mac(), k.vlan(), v, m));
            }
        });
        mirror.forEach((k, v) -> {
            if (!kernel.containsKey(k)) {
                differences.add(new Difference(k.bridge(), k.mac(), k.vlan(), null, v));
            }
        });
        differences.sort(Comparator.comparing(Difference::bridge).thenComparing(Difference::mac)
                .thenComparingInt(Difference::vlan));
        List<BridgeCount> bridgeCounts = new ArrayList<>();
        counts.forEach((b, c) -> bridgeCounts.add(new BridgeCount(b, c[0], c[1])));
        return new Comparison(bridgeCounts, differences);
    }

    private boolean wanted(String bridge) {
        return query.bridge == null || query.bridge.equals(bridge);
    }

    /**
     * "PORT KIND" as {@code xbridge fdb} would show the mirror of {@code e}; the bridge's own
     * entries name the bridge as their device, as the mirror's rows do.
     */
    private static String side(FdbEntry e, Map<Integer, Link> links) {
        Link port = links.get(e.ifindex());
        return (port == null ? "#" + e.ifindex() : port.name()) + " " + FdbRow.kind(Reconciler.mirroredFlags(e));
    }
}
