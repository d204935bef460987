package dev.xbridge.bpf;

import static dev.xbridge.sys.Native.C_INT;
import static dev.xbridge.sys.Native.C_LONG;
import static dev.xbridge.sys.Native.C_POINTER;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.xbridge.bpf.Probe.Verdict;
import dev.xbridge.sys.Errno;
import dev.xbridge.sys.Native;
import dev.xbridge.sys.NetNamespace;
import dev.xbridge.sys.SysException;
import dev.xbridge.testing.Requires;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class BpfProgramTest {
    private static final MethodHandle SCHED_SETAFFINITY =
            Native.libc("sched_setaffinity", FunctionDescriptor.of(C_INT, C_INT, C_LONG, C_POINTER));

    private BpfObject obj;
    private BpfProgram probe;
    private TypedMap<Integer, Verdict> verdicts;

    @BeforeEach
    void load() {
        Requires.root();
        obj = Probe.load();
        probe = obj.program("xdp_probe");
        verdicts = new TypedMap<>(obj.map("verdicts"), Codec.u32(), Verdict.CODEC);
    }

    @AfterEach
    void close() {
        if (obj != null) {
            obj.close();
        }
    }

    @Test
    void runReturnsTheVerdictAndTheFrameAfterTheProgram() {
        verdicts.put(5, Verdict.of(Xdp.TX));
        byte[] frame = Probe.frame(5);
        RunResult tx = probe.run(RunOptions.of(frame));
        assertThat(tx.retval()).isEqualTo(Xdp.TX);
        assertThat(tx.dataOut()).hasSize(frame.length);
        assertThat(tx.dataOut()[0]).isEqualTo((byte) 5);
        assertThat(tx.dataOut()[1]).isEqualTo((byte) 0xaa);
        assertThat(tx.contextOut()).isNull();

        RunResult pass = probe.run(RunOptions.of(Probe.frame(6)));
        assertThat(pass.retval()).isEqualTo(Xdp.PASS);
        assertThat(pass.dataOut()).isEqualTo(Probe.frame(6));

        probe.run(RunOptions.of(frame).withRepeat(10));
        assertThat(verdicts.get(5)).map(Verdict::hits).contains(11L);
    }

    /** What xbridge bench does with the daemon's program: run it by id, on its own maps. */
    @Test
    void runByIdRunsThatProgramWithItsMaps() {
        verdicts.put(7, Verdict.of(Xdp.TX));
        RunResult r = BpfProgram.runById(probe.id(), RunOptions.of(Probe.frame(7)).withRepeat(100));
        assertThat(r.retval()).isEqualTo(Xdp.TX);
        assertThat(verdicts.get(7)).map(Verdict::hits).contains(100L);
        assertThat(r.durationNanos()).as("mean per run").isPositive();

        int gone = probe.id();
        obj.close();
        obj = null;
        assertThatThrownBy(() -> BpfProgram.runById(gone, RunOptions.of(Probe.frame(7))))
                .isInstanceOf(BpfException.class).hasMessageContaining("bpf_prog_get_fd_by_id " + gone);
    }

    /**
     * The kernel times runs only while stats are enabled, and what runStatsOfId reads is what the
     * kernel's own fdinfo of the program says; closing the holder turns the timing off again.
     */
    @Test
    void runStatsCountEachRunWhileEnabledAsFdinfoDoes() throws IOException {
        Path sysctl = Path.of("/proc/sys/kernel/bpf_stats_enabled");
        boolean heldElsewhere = Files.readString(sysctl).strip().equals("1");
        int id = probe.id();
        RunStats.Sample before;
        RunStats.Sample after;
        try (RunStats _ = RunStats.enable()) {
            before = BpfProgram.runStatsOfId(id);
            probe.run(RunOptions.of(Probe.frame(1)).withRepeat(1000));
            after = BpfProgram.runStatsOfId(id);
            Map<String, String> fdinfo = fdinfo(probe.fd());
            assertThat(fdinfo).containsEntry("run_cnt", Long.toString(after.runs()))
                    .containsEntry("run_time_ns", Long.toString(after.runTimeNanos()));
        }
        assertThat(after.runs() - before.runs()).isEqualTo(1000);
        assertThat(after.nanosPerRunSince(before)).isPositive();
        assertThat(after.nanosPerRunSince(after)).as("no run between").isNull();
        if (!heldElsewhere) { // the sysctl shows its own setting, not the holders of an fd
            probe.run(RunOptions.of(Probe.frame(1)).withRepeat(10));
            assertThat(BpfProgram.runStatsOfId(id)).isEqualTo(after);
        }
    }

    private static Map<String, String> fdinfo(int fd) throws IOException {
        Map<String, String> out = new HashMap<>();
        for (String line : Files.readAllLines(Path.of("/proc/self/fdinfo/" + fd))) {
            int colon = line.indexOf(':');
            if (colon > 0) {
                out.put(line.substring(0, colon), line.substring(colon + 1).strip());
            }
        }
        return out;
    }

    @Test
    void dataOutCanBeLeftOut() {
        RunResult r = probe.run(RunOptions.of(Probe.frame(1)).withDataOutCapacity(0));
        assertThat(r.retval()).isEqualTo(Xdp.PASS);
        assertThat(r.dataOut()).isEmpty();
    }

    @Test
    void perCpuCountersFollowTheCpuThatRan() throws Exception {
        int cpus = LibBpf.possibleCpus();
        int online = Runtime.getRuntime().availableProcessors();
        Requires.that(online >= 2 && cpus >= 2, "needs two CPUs");
        // XDP test runs refuse BPF_F_TEST_RUN_ON_CPU (bpf_prog_test_run_xdp accepts only
        // BPF_F_TEST_XDP_LIVE_FRAMES) and run on the caller's CPU: pin the caller instead.
        assertThatThrownBy(() -> probe.run(RunOptions.of(Probe.frame(1))
                        .withFlags(RunOptions.BPF_F_TEST_RUN_ON_CPU).withCpu(1)))
                .isInstanceOfSatisfying(BpfException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EINVAL));
        for (int cpu = 0; cpu < 2; cpu++) {
            int c = cpu;
            onCpu(c, () -> probe.run(RunOptions.of(Probe.frame(1)).withRepeat(3 + c)));
        }
        PerCpuMap<Integer, Long> counters = new PerCpuMap<>(obj.map("counters"), Codec.u32(), Codec.u64());
        assertThat(counters.get(Xdp.PASS).subList(0, 2)).containsExactly(3L, 4L);
        assertThat(counters.get(Xdp.DROP)).containsOnly(0L);
    }

    @Test
    void contextRoundTripsAndIsValidated() {
        RunResult r = probe.run(RunOptions.of(Probe.frame(1)).withContext(XdpMd.forFrame(64)));
        XdpMd out = XdpMd.of(r.contextOut());
        assertThat(out.data()).isZero();
        assertThat(out.dataEnd()).isEqualTo(64);
        // data_meta must be 0 on input (bpf_prog_test_run_xdp: no user data before the metadata).
        assertThatThrownBy(() -> probe.run(RunOptions.of(Probe.frame(1)).withContext(XdpMd.forFrame(64).dataMeta(4))))
                .isInstanceOfSatisfying(BpfException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EINVAL))
                .hasMessage("bpf_prog_test_run_opts xdp_probe: invalid argument (EINVAL)");
    }

    @Test
    void ingressIfindexIsResolvedInTheCallersNamespace() {
        TypedMap<Integer, Integer> seen = new TypedMap<>(obj.map("seen"), Codec.u32(), Codec.u32());
        try (ScratchNet net = ScratchNet.create()) {
            net.veth("v0", "v1");
            int v0 = net.ifindex("v0");
            try (NetNamespace ns = NetNamespace.named(net.ns)) {
                ns.run(() -> probe.run(RunOptions.of(Probe.frame(1)).withContext(XdpMd.forFrame(64).ingressIfindex(v0))));
            }
            assertThat(seen.get(0)).contains(v0);
        }
    }

    @Test
    void redirectMapSendsToThePortInTheDevmap() {
        BpfProgram redirect = obj.program("xdp_redirect");
        TypedMap<Integer, Integer> ports = new TypedMap<>(obj.map("ports"), Codec.u32(), Codec.u32());
        try (ScratchNet net = ScratchNet.create()) {
            net.veth("v0", "v1");
            int v1 = net.ifindex("v1");
            // A devmap resolves the ifindex at update time, in the updater's namespace.
            try (NetNamespace ns = NetNamespace.named(net.ns)) {
                ns.run(() -> ports.put(3, v1));
            }
            assertThat(ports.get(3)).contains(v1);
            assertThat(redirect.run(RunOptions.of(Probe.frame(3))).retval()).isEqualTo(Xdp.REDIRECT);
            // Absent key: bpf_redirect_map returns the low bits of its flags, here XDP_PASS.
            assertThat(redirect.run(RunOptions.of(Probe.frame(4))).retval()).isEqualTo(Xdp.PASS);
            // Shorter than an Ethernet header: bpf_test_init refuses the frame (size < ETH_HLEN).
            assertThatThrownBy(() -> redirect.run(RunOptions.of(new byte[13])))
                    .isInstanceOfSatisfying(BpfException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EINVAL));
        }
    }

    @Test
    void liveFramesLeaveThroughTheIngressDevice() throws Exception {
        verdicts.put(7, Verdict.of(Xdp.TX));
        try (ScratchNet net = ScratchNet.create()) {
            net.veth("v0", "v1");
            // veth delivers XDP-transmitted frames only to a peer with NAPI: GRO on gives it one.
            ScratchNet.run("ip", "netns", "exec", net.ns, "ethtool", "-K", "v1", "gro", "on");
            int v0 = net.ifindex("v0");
            long before = rxPackets(net, "v1");
            AtomicReference<RunResult> result = new AtomicReference<>();
            try (NetNamespace ns = NetNamespace.named(net.ns)) {
                ns.run(() -> result.set(probe.run(RunOptions.of(Probe.frame(7))
                        .withContext(XdpMd.forFrame(64).ingressIfindex(v0))
                        .withFlags(RunOptions.BPF_F_TEST_XDP_LIVE_FRAMES)
                        .withRepeat(10))));
            }
            assertThat(result.get().dataOut()).isEmpty();
            assertThat(result.get().contextOut()).isNull();
            long deadline = System.nanoTime() + 2_000_000_000L;
            while (rxPackets(net, "v1") < before + 10 && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertThat(rxPackets(net, "v1") - before).isEqualTo(10);
        }
    }

    private static long rxPackets(ScratchNet net, String dev) throws Exception {
        String json = net.ip("-j", "-s", "link", "show", "dev", dev);
        return new ObjectMapper().readTree(json).get(0).path("stats64").path("rx").path("packets").asLong();
    }

    /** Runs {@code work} on a new platform thread pinned to {@code cpu} (sched_setaffinity on itself). */
    private static void onCpu(int cpu, Runnable work) throws InterruptedException {
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread t = Thread.ofPlatform().start(() -> {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment mask = arena.allocate(128, 8);
                mask.set(ValueLayout.JAVA_LONG, (cpu / 64) * 8L, 1L << (cpu % 64));
                MemorySegment capture = Native.allocateCapture(arena);
                int rc = (int) SCHED_SETAFFINITY.invokeExact(capture, 0, 128L, mask);
                if (rc < 0) {
                    throw new SysException("sched_setaffinity cpu " + cpu, Native.errno(capture));
                }
                work.run();
            } catch (Throwable e) {
                failure.set(e);
            }
        });
        t.join();
        if (failure.get() != null) {
            throw new AssertionError("on cpu " + cpu, failure.get());
        }
    }
}
