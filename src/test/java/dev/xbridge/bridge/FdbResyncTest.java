package dev.xbridge.bridge;

import static org.assertj.core.api.Assertions.assertThat;

import dev.xbridge.netlink.FdbEntry;
import dev.xbridge.netlink.MacAddress;
import dev.xbridge.netlink.NdMsg;
import dev.xbridge.netlink.RtNetlink;
import dev.xbridge.sys.NetNamespace;
import dev.xbridge.testbed.Netns;
import dev.xbridge.testing.Requires;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@link Reconciler#resyncFdb} against a real bridge FDB and the real FDB map, in a fresh
 * namespace per test: br0 with ports p1 and p2 (veth peers q1, q2). The resync streams the
 * dump, walks the map in batches and writes in batches; these tests hold it to the old
 * contract: afterwards the map is exactly the mirror of the kernel FDB, and an entry whose
 * port and flags were already right is not written (its datapath-owned sampled_ns stays).
 */
class FdbResyncTest {
    /** More than Reconciler.FDB_BATCH, so walks, deletes and writes take several batches. */
    static final int FILLERS = 10_000;

    Netns netns;
    NetNamespace inside;
    RtNetlink rt;
    Datapath dp;
    VethPeers peers;
    Reconciler reconciler;
    int br0;
    int p1;
    int p2;

    void lab(int fdbMax) {
        Requires.root();
        netns = Netns.create("xbt-rs");
        netns.ip("link", "add", "br0", "type", "bridge");
        for (int i = 1; i <= 2; i++) {
            netns.ip("link", "add", "p" + i, "type", "veth", "peer", "name", "q" + i);
            netns.ip("link", "set", "p" + i, "master", "br0");
            netns.ip("link", "set", "p" + i, "up");
            netns.ip("link", "set", "q" + i, "up");
            // Nothing learned from the peers' own frames (IPv6 DAD, MLD) changes the FDB under a test.
            netns.exec("bridge", "link", "set", "dev", "p" + i, "learning", "off");
        }
        netns.ip("link", "set", "br0", "up");
        br0 = ifindex("br0");
        p1 = ifindex("p1");
        p2 = ifindex("p2");
        inside = netns.enter();
        inside.run(() -> {
            rt = RtNetlink.open();
            dp = Datapath.load(fdbMax, false);
            peers = new VethPeers(rt);
            reconciler = new Reconciler(dp, peers, Acceleration.all());
            reconciler.apply(KernelState.of(rt.links(), rt.bridgePorts()), false);
        });
    }

    @AfterEach
    void cleanup() {
        if (inside != null) {
            inside.run(() -> {
                reconciler.close();
                peers.close();
                dp.close();
                rt.close();
            });
        }
        if (netns != null) {
            netns.close();
        }
    }

    int ifindex(String dev) {
        return Integer.parseInt(netns.exec("cat", "/sys/class/net/" + dev + "/ifindex").stdout().trim());
    }

    static MacAddress filler(int i) {
        return MacAddress.of(new byte[] {0x02, (byte) 0xfb, 0, (byte) (i >>> 16), (byte) (i >>> 8), (byte) i});
    }

    /** {@code bridge -batch}: one process for thousands of entries. */
    void bridgeBatch(List<String> lines) {
        try {
            Path file = Files.createTempFile("xbt-fdb-", ".batch");
            try {
                Files.write(file, lines);
                netns.exec("bridge", "-batch", file.toString());
            } finally {
                Files.delete(file);
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The mirror of the kernel's FDB as the per-entry path computes it, from the List dump. */
    Map<FdbKey, FdbValue> expectedMirror() {
        Map<FdbKey, FdbValue> want = new HashMap<>();
        for (FdbEntry e : inside.call(rt::fdb)) {
            reconciler.mirror(e).ifPresent(m -> want.put(m.getKey(), m.getValue()));
        }
        return want;
    }

    Map<FdbKey, FdbValue> map() {
        return inside.call(dp::fdbEntries);
    }

    static FdbValue samePortAndFlags(FdbValue v) {
        return new FdbValue(v.port(), v.flags(), 0);
    }

    static Map<FdbKey, FdbValue> withoutSampled(Map<FdbKey, FdbValue> m) {
        Map<FdbKey, FdbValue> out = new HashMap<>();
        m.forEach((k, v) -> out.put(k, samePortAndFlags(v)));
        return out;
    }

    @Test
    void resyncMakesTheMapTheMirrorAndWritesOnlyWhatChanged() {
        lab(65_536);
        MacAddress a = MacAddress.parse("02:aa:00:00:00:0a");
        MacAddress b = MacAddress.parse("02:aa:00:00:00:0b");
        MacAddress c = MacAddress.parse("02:aa:00:00:00:0c");
        MacAddress stale = MacAddress.parse("02:aa:00:00:00:0d");
        List<String> lines = new java.util.ArrayList<>();
        for (int i = 0; i < FILLERS; i++) {
            lines.add("fdb add " + filler(i) + " dev p1 master static");
        }
        lines.add("fdb add " + a + " dev p2 master dynamic");
        lines.add("fdb add " + b + " dev p1 master static");
        lines.add("fdb add " + c + " dev p2 master sticky static");
        bridgeBatch(lines);

        // From an empty map: every entry is written.
        Map<FdbKey, FdbValue> want = expectedMirror();
        assertThat(want).hasSizeGreaterThan(FILLERS + 3); // plus the bridge's and ports' own addresses
        int first = inside.call(() -> reconciler.resyncFdb(rt::fdb));
        assertThat(first).isEqualTo(want.size());
        assertThat(map()).isEqualTo(want);

        // What the datapath and time did meanwhile: sampled times on every entry, a wrong
        // port, a missing entry, stale entries (one of a bridge that does not exist), and
        // a kernel entry deleted behind the daemon's back.
        inside.run(() -> {
            for (Map.Entry<FdbKey, FdbValue> e : want.entrySet()) {
                FdbValue v = e.getValue();
                dp.putFdb(e.getKey(), new FdbValue(v.port(), v.flags(), 1_000_000 + e.getKey().mac().bits()));
            }
            dp.putFdb(new FdbKey(br0, 0, b), new FdbValue(p2, 0, 42));
            dp.removeFdb(new FdbKey(br0, 0, c));
            dp.putFdb(new FdbKey(br0, 0, stale), new FdbValue(p1, 0, 43));
            dp.putFdb(new FdbKey(999_999, 0, a), new FdbValue(p1, 0, 44));
        });
        netns.exec("bridge", "fdb", "del", filler(5).toString(), "dev", "p1", "master");

        int changes = inside.call(() -> reconciler.resyncFdb(rt::fdb));
        // b rewritten, c added; stale, the other bridge's entry and filler 5 deleted.
        assertThat(changes).isEqualTo(5);
        Map<FdbKey, FdbValue> now = expectedMirror();
        assertThat(now).doesNotContainKey(new FdbKey(br0, 0, filler(5)));
        Map<FdbKey, FdbValue> map = map();
        assertThat(withoutSampled(map)).isEqualTo(now);
        assertThat(map.get(new FdbKey(br0, 0, b))).isEqualTo(new FdbValue(p1, 0, 0));
        assertThat(map.get(new FdbKey(br0, 0, c))).isEqualTo(new FdbValue(p2, FdbValue.STICKY, 0));
        assertThat(map.get(new FdbKey(br0, 0, a))).isEqualTo(new FdbValue(p2, FdbValue.REFRESH, 1_000_000 + a.bits()));
        // Every entry that was right already kept the time the datapath wrote.
        map.forEach((k, v) -> {
            if (!k.mac().equals(b) && !k.mac().equals(c)) {
                assertThat(v.sampledNanos()).as("sampled_ns of %s", k).isEqualTo(1_000_000 + k.mac().bits());
            }
        });

        // Nothing left to do; the List form agrees.
        assertThat(inside.call(() -> reconciler.resyncFdb(rt::fdb))).isZero();
        assertThat(inside.call(() -> reconciler.resyncFdb(rt.fdb()))).isZero();
        assertThat(map()).isEqualTo(map);
    }

    /**
     * The kernel's FDB dump is no snapshot: br_fdb_dump() resumes each datagram at an index
     * into the bridge's fdb_list, so entries removed during the dump from the part it has
     * passed make it skip as many entries nobody touched. Here the removals come from a second socket
     * while the resync's own dump is half read. The mirror then lacks untouched entries;
     * {@link Reconciler#mergeFdb} (the daemon's FDB repair) takes them from a quiet dump, and
     * deletes nothing, not even an entry its own dump lacks.
     */
    @Test
    void aRepairWritesWhatADumpSkippedWhileEntriesWentAndDeletesNothing() {
        lab(65_536);
        int churn = 300;
        List<String> lines = new java.util.ArrayList<>();
        for (int i = 0; i < FILLERS; i++) {
            lines.add("fdb add " + filler(i) + " dev p1 master static");
        }
        // Added last, so at the head of fdb_list: the dump hands them over first.
        for (int i = 0; i < churn; i++) {
            lines.add("fdb add " + filler(FILLERS + i) + " dev p1 master static");
        }
        bridgeBatch(lines);

        int[] seen = {0};
        inside.run(() -> {
            try (RtNetlink other = RtNetlink.open()) {
                reconciler.resyncFdb(each -> rt.fdb(e -> {
                    each.accept(e);
                    if (e.mac().equals(filler(FILLERS - 1))) { // the first filler: the dump has passed every churn entry
                        for (int i = 0; i < churn; i++) {
                            other.deleteFdb(p1, filler(FILLERS + i), 0);
                        }
                    }
                    seen[0]++;
                }));
            }
        });
        Map<FdbKey, FdbValue> kernel = expectedMirror();
        assertThat(kernel).doesNotContainKey(new FdbKey(br0, 0, filler(FILLERS)));
        java.util.Set<FdbKey> skipped = new java.util.HashSet<>(kernel.keySet());
        skipped.removeAll(map().keySet());
        assertThat(skipped).as("untouched entries the kernel's dump skipped (%d entries seen)", seen[0])
                .hasSize(churn) // one per removal: the dump had passed them all
                .allSatisfy(k -> assertThat(k.mac().bits() & 0xffffff).isLessThan(FILLERS));

        // Behind the daemon's back, as a skip would look to the repair: in the map, not in the dump.
        netns.exec("bridge", "fdb", "del", filler(7).toString(), "dev", "p1", "master");
        int written = inside.call(() -> reconciler.mergeFdb(rt::fdb));
        assertThat(written).isEqualTo(skipped.size());
        // The map now has every entry the kernel has, and still what no dump since had: filler 7,
        // and the removed entries the first dump carried (in the daemon, their removals follow).
        Map<FdbKey, FdbValue> map = map();
        java.util.Set<FdbKey> extra = new java.util.HashSet<>(map.keySet());
        extra.removeAll(expectedMirror().keySet());
        java.util.Set<FdbKey> notInKernel = new java.util.HashSet<>();
        notInKernel.add(new FdbKey(br0, 0, filler(7)));
        for (int i = 0; i < churn; i++) {
            notInKernel.add(new FdbKey(br0, 0, filler(FILLERS + i)));
        }
        assertThat(extra).isEqualTo(notInKernel);
        assertThat(map).containsAllEntriesOf(expectedMirror());
        assertThat(inside.call(() -> reconciler.mergeFdb(rt::fdb))).as("nothing left to write").isZero();
    }

    /**
     * The daemon's first sync, into a map nothing has written to, writes each batch while the
     * dump is still being handed over, rather than after it: the kernel builds the rest of the
     * dump meanwhile. An entry the dump hands over twice ends as the later says.
     */
    @Test
    void theFirstSyncWritesEachBatchWhileTheDumpGoesOnAndTheLaterOfTwoCopiesWins() {
        lab(65_536);
        List<String> lines = new java.util.ArrayList<>();
        for (int i = 0; i < FILLERS; i++) {
            lines.add("fdb add " + filler(i) + " dev p1 master static");
        }
        bridgeBatch(lines);
        MacAddress moved = filler(FILLERS + 1);
        int[] handed = {0};
        int[] inMapMidway = {-1};
        int written = inside.call(() -> reconciler.resyncFdb(each -> {
            each.accept(new FdbEntry(p1, br0, moved, 0, NdMsg.NUD_NOARP, NdMsg.NTF_MASTER, 0, 0, 0));
            rt.fdb(e -> {
                if (++handed[0] == 2 * Reconciler.FDB_BATCH) { // the fillers are most of the dump, and more
                    // than two batches: one is written by now whatever else the dump has
                    inMapMidway[0] = dp.fdbEntries().size();
                }
                each.accept(e);
            });
            each.accept(new FdbEntry(p2, br0, moved, 0, NdMsg.NUD_NOARP, NdMsg.NTF_MASTER, 0, 0, 0));
        }));

        assertThat(inMapMidway[0]).as("entries in the map after %d of the dump's", 2 * Reconciler.FDB_BATCH)
                .isBetween(Reconciler.FDB_BATCH, 2 * Reconciler.FDB_BATCH);
        Map<FdbKey, FdbValue> want = expectedMirror();
        want.put(new FdbKey(br0, 0, moved), new FdbValue(p2, 0, 0));
        assertThat(map()).isEqualTo(want);
        assertThat(written).isEqualTo(want.size() + 1); // the moved entry twice
        // A later sync compares: the moved entry is not the kernel's, so it goes.
        assertThat(inside.call(() -> reconciler.resyncFdb(rt::fdb))).isEqualTo(1);
        assertThat(map()).isEqualTo(expectedMirror());
    }

    @Test
    void aFullMapLeavesTheRestOutAndCountsThem() {
        lab(16);
        List<String> lines = new java.util.ArrayList<>();
        for (int i = 0; i < 24; i++) {
            lines.add("fdb add " + filler(i) + " dev p1 master static");
        }
        bridgeBatch(lines);
        Map<FdbKey, FdbValue> want = expectedMirror();
        assertThat(want.size()).isGreaterThan(16);

        inside.call(() -> reconciler.resyncFdb(rt::fdb));

        Map<FdbKey, FdbValue> map = map();
        assertThat(map).hasSize(16);
        assertThat(want).containsAllEntriesOf(map);
        assertThat(reconciler.fdbWriteFailures()).isEqualTo(want.size() - 16);
    }

    @Test
    void aRemovedBridgeTakesItsEntriesAlong() {
        lab(65_536);
        List<String> lines = new java.util.ArrayList<>();
        for (int i = 0; i < 5000; i++) {
            lines.add("fdb add " + filler(i) + " dev p1 master static");
        }
        bridgeBatch(lines);
        inside.call(() -> reconciler.resyncFdb(rt::fdb));
        int other = 999_999;
        inside.run(() -> dp.putFdb(new FdbKey(other, 0, filler(1)), new FdbValue(p1, 0, 0)));
        assertThat(map()).hasSizeGreaterThan(5000);

        netns.ip("link", "del", "br0");
        inside.run(() -> reconciler.apply(KernelState.of(rt.links(), rt.bridgePorts()), false));

        assertThat(map()).containsOnlyKeys(new FdbKey(other, 0, filler(1)));
    }
}
