package dev.xbridge.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.xbridge.bpf.BpfLink;
import dev.xbridge.bpf.BpfMap;
import dev.xbridge.bpf.BpfObject;
import dev.xbridge.bpf.LibBpf;
import dev.xbridge.bpf.RunOptions;
import dev.xbridge.bpf.RunResult;
import dev.xbridge.bpf.TcDirection;
import dev.xbridge.bpf.UpdateFlag;
import dev.xbridge.bpf.XdpMd;
import dev.xbridge.bpf.XdpMode;
import dev.xbridge.bridge.Datapath;
import dev.xbridge.sys.NetNamespace;
import dev.xbridge.testbed.Netns;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * One loaded instance of bench.bpf.o ({@code src/main/bpf/bench.bpf.c}) used in one role:
 * generator, sink or bare redirect. Each instance has its own maps, so each sink counts
 * for its own host.
 */
final class BenchPrograms implements AutoCloseable {
    static final String RESOURCE = "/bpf/bench.bpf.o";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int XDP_DROP = 1;
    private static final int XDP_TX = 3;

    private final BpfObject object;

    private BenchPrograms(BpfObject object) {
        this.object = object;
    }

    /** The programs for {@code plan}, with the MACs written as words where the host allows it. */
    static BenchPrograms load(FlowPlan plan) {
        // x86 stores words at any address, and is where the datapath's flow key reads them.
        return load(plan, Datapath.fdbCacheSafeHere());
    }

    /** The same, choosing how the generator writes the MACs: two words, or byte by byte. */
    static BenchPrograms load(FlowPlan plan, boolean wordStores) {
        BpfObject o = BpfObject.openResource(RESOURCE);
        try {
            o.setConstant("bench_flows", plan.flows());
            o.setConstant("bench_receivers", plan.receivers());
            o.setConstant("bench_word_stores", wordStores ? 1 : 0);
            o.load();
            return new BenchPrograms(o);
        } catch (RuntimeException e) {
            o.close();
            throw e;
        }
    }

    BpfObject object() {
        return object;
    }

    /** Frames and bytes counted in {@code mapName} slot 0, summed over CPUs. */
    long[] count(String mapName) {
        long[][] perCpu = countPerCpu(mapName);
        long packets = 0;
        long bytes = 0;
        for (long[] c : perCpu) {
            packets += c[0];
            bytes += c[1];
        }
        return new long[] {packets, bytes};
    }

    /**
     * Frames and bytes counted in {@code mapName} slot 0, per possible CPU. gen_count is also
     * where the generator keeps its place: each CPU walks the flows from its own count.
     */
    long[][] countPerCpu(String mapName) {
        BpfMap map = object.map(mapName);
        int cpus = LibBpf.possibleCpus();
        long[][] out = new long[cpus][2];
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment key = arena.allocate(4, 4);
            MemorySegment values = arena.allocate(map.valueBufferSize(), 8);
            if (!map.lookup(key, values)) {
                return out;
            }
            for (int cpu = 0; cpu < cpus; cpu++) {
                long at = (long) cpu * map.valueSlotSize();
                out[cpu][0] = values.get(ValueLayout.JAVA_LONG, at);
                out[cpu][1] = values.get(ValueLayout.JAVA_LONG, at + 8);
            }
            return out;
        }
    }

    /** Attaches {@code program} to {@code dev} in {@code ns}, native mode. */
    BpfLink attach(Netns ns, String dev, String program) {
        int ifindex = ifindex(ns, dev);
        try (NetNamespace inside = ns.enter()) {
            return inside.call(() -> object.program(program).attachXdp(ifindex, XdpMode.NATIVE));
        }
    }

    /** Attaches {@code program} at TC ingress of {@code dev} in {@code ns} (a tcx link). */
    BpfLink attachTcIngress(Netns ns, String dev, String program) {
        int ifindex = ifindex(ns, dev);
        try (NetNamespace inside = ns.enter()) {
            return inside.call(() -> object.program(program).attachTcx(ifindex, TcDirection.INGRESS));
        }
    }

    /**
     * bare_tx[receiver] = egress ifindex. A devmap resolves the ifindex at update time in the
     * updating thread's namespace (dev_map_update_elem: dev_get_by_index(current->nsproxy->net_ns)),
     * so the update runs inside {@code ns}, where the ports are; from the root namespace it
     * would name some other device there.
     */
    void setBareEgress(Netns ns, int receiver, int ifindex) {
        BpfMap map = object.map("bare_tx");
        try (NetNamespace inside = ns.enter()) {
            inside.run(() -> {
                try (Arena arena = Arena.ofConfined()) {
                    map.update(arena.allocateFrom(ValueLayout.JAVA_INT, receiver),
                            arena.allocateFrom(ValueLayout.JAVA_INT, ifindex), UpdateFlag.ANY);
                }
            });
        }
    }

    /** bare_peer[receiver] = the receiver's port ifindex, whose veth peer bench_tc_redirect hands frames to. */
    void setBarePeer(int receiver, int ifindex) {
        BpfMap map = object.map("bare_peer");
        try (Arena arena = Arena.ofConfined()) {
            map.update(arena.allocateFrom(ValueLayout.JAVA_INT, receiver), arena.allocateFrom(ValueLayout.JAVA_INT, ifindex),
                    UpdateFlag.ANY);
        }
    }

    /**
     * Runs bench_gen once on {@code frame} without live frames and returns the frame as it would
     * leave (data_out), to check the generator's rewriting against {@link FlowPlan}.
     */
    byte[] generateOnce(byte[] frame) {
        return once("bench_gen", frame, XDP_TX);
    }

    /**
     * Runs bench_inject once on {@code frame} without live frames and with nothing in
     * inject_next, so the tail call falls through to XDP_DROP: the frame as the forwarder
     * would get it.
     */
    byte[] injectOnce(byte[] frame) {
        return once("bench_inject", frame, XDP_DROP);
    }

    private byte[] once(String program, byte[] frame, int expected) {
        RunResult r = object.program(program).run(RunOptions.of(frame));
        if (r.retval() != expected) {
            throw new IllegalStateException(program + " returned " + r.retval() + ", expected " + expected);
        }
        return r.dataOut();
    }

    /**
     * One live-frames run (BPF_PROG_RUN with BPF_F_TEST_XDP_LIVE_FRAMES) of {@code program} on the
     * calling thread: {@code repeat} frames built from {@code template}, arriving on
     * {@code ifindex} (bench_gen sends them back out of it with XDP_TX; bench_inject hands them
     * to the forwarder in inject_next).
     */
    void sendLive(String program, byte[] template, int ifindex, int repeat, int batch) {
        RunOptions o = new RunOptions(template, XdpMd.forFrame(template.length).ingressIfindex(ifindex).toBytes(),
                repeat, RunOptions.BPF_F_TEST_XDP_LIVE_FRAMES, 0, batch, 0);
        object.program(program).run(o);
    }

    /** inject_next[0] = the XDP program {@code programFd}: what bench_inject tail-calls (the array takes a reference). */
    void setInjectNext(int programFd) {
        BpfMap map = object.map("inject_next");
        try (Arena arena = Arena.ofConfined()) {
            map.update(arena.allocateFrom(ValueLayout.JAVA_INT, 0), arena.allocateFrom(ValueLayout.JAVA_INT, programFd),
                    UpdateFlag.ANY);
        }
    }

    static int ifindex(Netns ns, String dev) {
        String out = ns.ip("-j", "link", "show", "dev", dev).stdout();
        try {
            return JSON.readTree(out).path(0).path("ifindex").asInt();
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("cannot parse `ip -j link show dev " + dev + "` in " + ns + ": " + out, e);
        }
    }

    @Override
    public void close() {
        object.close();
    }
}
