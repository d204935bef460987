package dev.xbridge.netlink;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * Netlink decode, the daemon's per-event cost: one RTM_NEWNEIGH (an FDB change) and a
 * captured FDB dump (the resync path), from the fixtures in src/test/resources/netlink.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class DecodeBenchmark {
    @Param({"newneigh-fdb-static.bin", "dump-fdb.bin", "newlink-port-afbridge.bin"})
    public String fixture;

    private MemorySegment segment;
    private long length;

    @Setup
    public void load() throws IOException {
        try (InputStream in = DecodeBenchmark.class.getResourceAsStream("/netlink/" + fixture)) {
            byte[] b = in.readAllBytes();
            segment = MemorySegment.ofArray(b);
            length = b.length;
        }
    }

    /** Every message of the fixture decoded into events, as RtMonitor does on receive. */
    @Benchmark
    public void decode(Blackhole bh) {
        Messages.forEach(segment, length, (s, off) -> {
            bh.consume(RtMonitor.decode(s, off));
            return true;
        });
    }
}
