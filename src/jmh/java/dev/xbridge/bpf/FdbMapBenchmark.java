package dev.xbridge.bpf;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * The FDB map from Java (needs root: it loads the real datapath object): one update per
 * entry, as the daemon mirrors events; a batch of 1,024 (bpf_map_update_batch), what a bulk
 * sync could do; and the full-map walk that a resync (Reconciler.resyncFdb) makes, over
 * 11,024 entries: key by key (bpf_map_get_next_key, keys only) and in batches of 4,096
 * (bpf_map_lookup_batch, keys and values, read in place). Results per entry.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class FdbMapBenchmark {
    static final int BATCH = 1024;
    static final int WALK = 10_000;

    private BpfObject object;
    private BpfMap fdb;
    private Arena arena;
    private MemorySegment keys;
    private MemorySegment values;
    private int next;

    @Setup(Level.Trial)
    public void load() {
        object = BpfObject.openResource("/bpf/xbridge.bpf.o");
        object.setMaxEntries("fdb", 65536);
        object.load();
        fdb = object.map("fdb");
        arena = Arena.ofShared();
        keys = arena.allocate((long) BATCH * fdb.keySize(), 8);
        values = arena.allocate((long) BATCH * fdb.valueSize(), 8);
        for (int i = 0; i < BATCH; i++) {
            key(keys.asSlice((long) i * fdb.keySize(), fdb.keySize()), 0x10000 + i);
            values.set(ValueLayout.JAVA_INT, (long) i * fdb.valueSize(), 7);
        }
        MemorySegment k = arena.allocate(fdb.keySize(), 8);
        for (int i = 0; i < WALK; i++) {
            key(k, i);
            fdb.update(k, values.asSlice(0, fdb.valueSize()), UpdateFlag.ANY);
        }
    }

    private static void key(MemorySegment k, int i) {
        k.set(ValueLayout.JAVA_INT, 0, 5); // bridge ifindex
        k.set(ValueLayout.JAVA_BYTE, 6, (byte) 0x02);
        k.set(ValueLayout.JAVA_BYTE, 8, (byte) (i >>> 24));
        k.set(ValueLayout.JAVA_BYTE, 9, (byte) (i >>> 16));
        k.set(ValueLayout.JAVA_BYTE, 10, (byte) (i >>> 8));
        k.set(ValueLayout.JAVA_BYTE, 11, (byte) i);
    }

    @TearDown(Level.Trial)
    public void close() {
        object.close();
        arena.close();
    }

    /** One bpf_map_update_elem, as the daemon mirrors one RTM_NEWNEIGH. */
    @Benchmark
    public void updateOne() {
        int i = next++ & (BATCH - 1);
        fdb.update(keys.asSlice((long) i * fdb.keySize(), fdb.keySize()), values.asSlice((long) i * fdb.valueSize(),
                fdb.valueSize()), UpdateFlag.ANY);
    }

    /** bpf_map_update_batch of 1,024 entries; the time is per entry. */
    @Benchmark
    @OperationsPerInvocation(BATCH)
    public int updateBatch() {
        return fdb.updateBatch(keys, values, BATCH, UpdateFlag.ANY);
    }

    /** The key walk a resync did before batches (10,000 + 1,024 entries, keys only); the time is per entry. */
    @Benchmark
    @OperationsPerInvocation(WALK + BATCH)
    public void resyncWalk(Blackhole bh) {
        bh.consume(fdb.keyBytes());
    }

    /** The walk a resync does now: keys and values, 4,096 per bpf_map_lookup_batch, each key read in place. */
    @Benchmark
    @OperationsPerInvocation(WALK + BATCH)
    public long resyncBatchWalk() {
        long[] sum = {0};
        fdb.forEachBatch(4096, (k, v, n) -> {
            for (int i = 0; i < n; i++) {
                sum[0] += k.get(ValueLayout.JAVA_INT_UNALIGNED, (long) i * 12 + 8) + v.get(ValueLayout.JAVA_INT, (long) i * 16);
            }
        });
        return sum[0];
    }
}
