package dev.xbridge.bridge;

import dev.xbridge.netlink.FdbEntry;
import dev.xbridge.netlink.MacAddress;
import dev.xbridge.netlink.NdMsg;
import dev.xbridge.netlink.RtNetlink;
import dev.xbridge.sys.NetNamespace;
import dev.xbridge.testbed.Netns;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The reconciler's FDB work, on the real datapath and a real bridge (needs root: it makes a
 * namespace with br0 and two veth ports and loads the datapath):
 * <ul>
 * <li>{@code fdbEvent}: one RTM_NEWNEIGH as the daemon handles it (Reconciler.fdbChanged):
 * the mirror computed, the map entry read to skip refreshes, the new one written, the FDB
 * generation bumped. The entry alternates between the two ports, so every call writes.
 * <li>{@code resyncInStep}: a resync (Reconciler.resyncFdb) of {@code entries} dumped
 * entries into a map that already holds them, what a restart or an overrun costs when
 * nothing changed: the dump folded into the packed table, the map walked in batches and
 * compared, nothing written. Per resync, in microseconds.
 * </ul>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class ReconcileBenchmark {
    @Param({"10000", "100000"})
    public int entries;

    private Netns netns;
    private NetNamespace inside;
    private RtNetlink rt;
    private Datapath dp;
    private VethPeers peers;
    private Reconciler reconciler;
    private List<FdbEntry> dump;
    private FdbEntry[] moving;
    private int flip;

    @Setup(Level.Trial)
    public void lab() {
        netns = Netns.create("xbj-rc");
        netns.ip("link", "add", "br0", "type", "bridge");
        for (int i = 1; i <= 2; i++) {
            netns.ip("link", "add", "p" + i, "type", "veth", "peer", "name", "q" + i);
            netns.ip("link", "set", "p" + i, "master", "br0", "up");
            netns.ip("link", "set", "q" + i, "up");
        }
        netns.ip("link", "set", "br0", "up");
        int br0 = ifindex("br0");
        int p1 = ifindex("p1");
        int p2 = ifindex("p2");
        inside = netns.enter();
        inside.run(() -> {
            rt = RtNetlink.open();
            dp = Datapath.load(entries + 1024, false);
            peers = new VethPeers(rt);
            reconciler = new Reconciler(dp, peers, Acceleration.all());
            reconciler.apply(KernelState.of(rt.links(), rt.bridgePorts()), false);
        });
        dump = new ArrayList<>(entries);
        for (int i = 0; i < entries; i++) {
            dump.add(entry(i % 2 == 0 ? p1 : p2, br0, i));
        }
        reconciler.resyncFdb(dump);
        moving = new FdbEntry[] {entry(p1, br0, 1 << 22), entry(p2, br0, 1 << 22)};
    }

    private static FdbEntry entry(int port, int bridge, int i) {
        MacAddress mac = MacAddress.of(new byte[] {0x02, (byte) 0xfa, (byte) (i >>> 24), (byte) (i >>> 16), (byte) (i >>> 8), (byte) i});
        return new FdbEntry(port, bridge, mac, 0, NdMsg.NUD_REACHABLE, NdMsg.NTF_MASTER, 0, 0, 0);
    }

    private int ifindex(String dev) {
        return Integer.parseInt(netns.exec("cat", "/sys/class/net/" + dev + "/ifindex").stdout().trim());
    }

    @Benchmark
    public void fdbEvent() {
        reconciler.fdbChanged(moving[flip ^= 1]);
    }

    @Benchmark
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public int resyncInStep() {
        int changes = reconciler.resyncFdb(dump);
        if (changes != 0) {
            throw new IllegalStateException("a resync of an FDB already mirrored made " + changes + " changes");
        }
        return changes;
    }

    @TearDown(Level.Trial)
    public void close() {
        inside.run(() -> {
            reconciler.close();
            peers.close();
            dp.close();
            rt.close();
        });
        netns.close();
    }
}
