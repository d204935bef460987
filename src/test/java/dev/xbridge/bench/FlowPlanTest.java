package dev.xbridge.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.xbridge.bridge.Datapath;
import dev.xbridge.testing.Requires;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class FlowPlanTest {
    @Test
    void aMinimumFrameIsSixtyBytesOfValidEthernetIpv4Udp() {
        FlowPlan plan = new FlowPlan(1, 1, 64);
        byte[] f = plan.template();
        assertThat(f).hasSize(60);
        assertThat(hex(f, 0, 6)).isEqualTo("025e02000000");
        assertThat(hex(f, 6, 6)).isEqualTo("025e01000000");
        assertThat(hex(f, 12, 2)).isEqualTo("0800");
        assertThat(f[14]).isEqualTo((byte) 0x45);
        assertThat(u16(f, 16)).isEqualTo(46); // IP total length: 60 - 14
        assertThat(FlowPlan.ipv4Checksum(f, 14, 20)).as("header sums to 0xffff").isZero();
        assertThat(hex(f, 26, 8)).isEqualTo("c6128000" + "c6130000"); // 198.18.128.0 -> 198.19.0.0
        assertThat(u16(f, 34)).isEqualTo(1024);
        assertThat(u16(f, 36)).isEqualTo(9);
        assertThat(u16(f, 38)).isEqualTo(26); // UDP length
    }

    @Test
    void aMaximumFrameFillsTheMtu() {
        byte[] f = new FlowPlan(1, 1, 1518).template();
        assertThat(f).hasSize(1514);
        assertThat(u16(f, 16)).isEqualTo(1500);
    }

    @Test
    void checksumMatchesAKnownHeader() {
        // RFC 1071 example header from Wikipedia's "IPv4 header checksum": 0xb861
        byte[] h = bytes("450000730000400040110000c0a80001c0a800c7");
        assertThat(FlowPlan.ipv4Checksum(h, 0, 20)).isEqualTo(0xb861);
    }

    @Test
    void flowsAreDistinctAndSpreadOverReceivers() {
        FlowPlan plan = new FlowPlan(1024, 7, 64);
        Set<Object> macs = new HashSet<>();
        Set<Integer> ips = new HashSet<>();
        int[] perReceiver = new int[7];
        for (int f = 0; f < 1024; f++) {
            macs.add(plan.sourceMac(f));
            macs.add(plan.destinationMac(f));
            ips.add(plan.sourceIp(f));
            ips.add(plan.destinationIp(f));
            perReceiver[plan.receiverOf(f)]++;
            assertThat(plan.destinationMac(f).bytes()[3]).isEqualTo((byte) plan.receiverOf(f));
            assertThat(plan.sourceMac(f).isMulticast()).isFalse();
        }
        assertThat(macs).hasSize(2048);
        assertThat(ips).hasSize(2048);
        assertThat(java.util.Arrays.stream(perReceiver).boxed().toList()).allSatisfy(n -> assertThat(n).isBetween(146, 147));
    }

    @Test
    void limitsAreExplained() {
        assertThatThrownBy(() -> new FlowPlan(1, 1, 60)).hasMessageContaining("64..1518");
        assertThatThrownBy(() -> new FlowPlan(0, 1, 64)).hasMessageContaining("flows must be");
        assertThatThrownBy(() -> new FlowPlan(2, 1, 64).sourceMac(2)).hasMessageContaining("outside 0..1");
    }

    /**
     * The BPF generator rewrites the template into exactly the frames FlowPlan describes, flow
     * after flow on each CPU.
     */
    @ParameterizedTest(name = "word stores {0}")
    @MethodSource("storesHere")
    void theBpfGeneratorSendsTheFramesThePlanDescribes(boolean wordStores) {
        Requires.root();
        FlowPlan plan = new FlowPlan(300, 3, 64);
        try (BenchPrograms gen = BenchPrograms.load(plan, wordStores)) {
            byte[] template = plan.template();
            for (int run = 0; run < 305; run++) {
                long[][] before = gen.countPerCpu("gen_count");
                byte[] out = gen.generateOnce(template);
                int cpu = ranOn(before, gen.countPerCpu("gen_count"));
                assertThat(out).as("run %d, on CPU %d", run, cpu).isEqualTo(plan.frame((int) (before[cpu][0] % 300)));
            }
            assertThat(gen.count("gen_count")[0]).isEqualTo(305);
            assertThat(gen.count("gen_count")[1]).isEqualTo(305L * 60);
        }
        FlowPlan one = new FlowPlan(1, 1, 1518);
        try (BenchPrograms gen = BenchPrograms.load(one)) {
            assertThat(gen.generateOnce(one.template())).isEqualTo(one.template());
        }
    }

    /** How the generator may write the MACs here: byte by byte everywhere, as words on x86 too. */
    static List<Boolean> storesHere() {
        return Datapath.fdbCacheSafeHere() ? List.of(true, false) : List.of(false);
    }

    /** The injector makes the same frames before its tail call (here to nothing: it drops them). */
    @Test
    void theInjectorMakesTheSameFrames() {
        Requires.root();
        FlowPlan plan = new FlowPlan(300, 3, 64);
        try (BenchPrograms inject = BenchPrograms.load(plan)) {
            for (int run = 0; run < 301; run++) {
                long[][] before = inject.countPerCpu("gen_count");
                byte[] out = inject.injectOnce(plan.template());
                int cpu = ranOn(before, inject.countPerCpu("gen_count"));
                assertThat(out).as("run %d, on CPU %d", run, cpu).isEqualTo(plan.frame((int) (before[cpu][0] % 300)));
            }
            assertThat(inject.count("gen_count")[0]).as("offered").isEqualTo(301);
        }
    }

    /**
     * The CPU a single test run ran on: the one whose count rose by one frame. The test thread
     * may move between CPUs from one run to the next (it did in CI), and each CPU keeps its
     * own place in the flows, so the frame to expect depends on where the run landed.
     */
    private static int ranOn(long[][] before, long[][] after) {
        int cpu = -1;
        for (int c = 0; c < before.length; c++) {
            long d = after[c][0] - before[c][0];
            assertThat(d).as("frames counted on CPU %d by one run", c).isBetween(0L, 1L);
            if (d == 1) {
                assertThat(cpu).as("a second CPU counted the same run").isEqualTo(-1);
                cpu = c;
            }
        }
        assertThat(cpu).as("no CPU counted the run").isNotNegative();
        return cpu;
    }

    private static int u16(byte[] b, int off) {
        return ((b[off] & 0xff) << 8) | (b[off + 1] & 0xff);
    }

    private static String hex(byte[] b, int off, int len) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < len; i++) {
            sb.append(String.format("%02x", b[off + i]));
        }
        return sb.toString();
    }

    private static byte[] bytes(String hex) {
        byte[] b = new byte[hex.length() / 2];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) Integer.parseInt(hex.substring(2 * i, 2 * i + 2), 16);
        }
        return b;
    }
}
