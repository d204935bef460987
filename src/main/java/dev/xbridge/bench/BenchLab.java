package dev.xbridge.bench;

import dev.xbridge.bpf.BpfLink;
import dev.xbridge.netlink.MacAddress;
import dev.xbridge.netlink.RtNetlink;
import dev.xbridge.sys.NetNamespace;
import dev.xbridge.testbed.BridgeLab;
import dev.xbridge.testbed.EthtoolStats;
import dev.xbridge.testbed.Host;
import dev.xbridge.testbed.LinkStats;
import dev.xbridge.testbed.Netns;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The bench's testbed: a {@link BridgeLab} of {@code ports} hosts with offloads off (native
 * XDP on veth needs finished frames), host 1 the sender, the others receivers with a sink on
 * their {@code eth0}. The sender's port {@code p1} has GRO on, so that it has NAPI and
 * accepts the generator's frames whatever is attached to it (a veth takes XDP frames only
 * then, docs/PLATFORM.md). NAPI of {@code p1} (the forwarder: kernel bridge or XDP program
 * both run there) and of each receiver's {@code eth0} (the sink) run threaded and pinned.
 *
 * <p>Each receiver counts at two sinks into one map: XDP on {@code eth0} (frames that cross
 * the veth) and TC ingress (frames a TC hook hands over with bpf_redirect_peer, which skips
 * XDP). The XDP sinks come off while the TC hook is measured ({@link #xdpSinks}): the daemon
 * uses bpf_redirect_peer only into a peer that runs no XDP program, as a container's eth0
 * runs none, and the bench measures that path, not the fallback through the port's transmit.
 */
final class BenchLab implements AutoCloseable {
    private final BridgeLab lab;
    private final Host sender;
    private final List<Host> receivers;
    private final NetNamespace switchThread;
    private final RtNetlink rt;
    private final int bridgeIndex;
    private final int[] receiverPortIndex;
    private final int senderPortIndex;
    private final List<BenchPrograms> sinks = new ArrayList<>();
    private final List<BpfLink> xdpSinkLinks = new ArrayList<>();
    private final List<BpfLink> tcSinkLinks = new ArrayList<>();
    private final Map<String, String> pinning = new LinkedHashMap<>();
    private final List<Long> forwarderThreads;
    private final List<Long> sinkThreads = new ArrayList<>();
    private final BenchCpus cpus;
    private int fillers;
    private FlowPlan flowsInstalled;

    private BenchLab(BridgeLab lab, BenchCpus cpus, boolean bridgeNf) {
        this.lab = lab;
        this.cpus = cpus;
        this.sender = lab.host(1);
        this.receivers = lab.hosts().subList(1, lab.hosts().size());
        Netns sw = lab.switchNs();
        if (!bridgeNf) {
            // br_netfilter is built in here and on by default in every namespace: bridged IPv4
            // would cross iptables. The bench compares bridges, so it is off unless asked for.
            sw.exec("sysctl", "-q", "-w", "net.bridge.bridge-nf-call-iptables=0",
                    "net.bridge.bridge-nf-call-ip6tables=0", "net.bridge.bridge-nf-call-arptables=0");
        }
        this.switchThread = sw.enter();
        this.rt = switchThread.call(RtNetlink::open);
        this.bridgeIndex = BenchPrograms.ifindex(sw, lab.bridge());
        this.senderPortIndex = BenchPrograms.ifindex(sw, sender.portName());
        this.receiverPortIndex = receivers.stream().mapToInt(h -> BenchPrograms.ifindex(sw, h.portName())).toArray();
        this.forwarderThreads = Cpus.threadedNapi(sw, sender.portName(), cpus.threadedNapi(),
                () -> sw.exec("ethtool", "-K", sender.portName(), "gro", "on"));
        for (Host r : receivers) {
            BenchPrograms sink = BenchPrograms.load(new FlowPlan(1, 1, FlowPlan.MIN_FRAME));
            sinks.add(sink);
            // Frames the TC hook hands over with bpf_redirect_peer skip XDP; they are counted (in the same map) here.
            tcSinkLinks.add(sink.attachTcIngress(r.ns(), r.ifname(), "bench_tc_sink"));
        }
        xdpSinks(true);
    }

    /**
     * Attaches ({@code on}) or detaches the receivers' XDP sinks. Without them a receiver's veth
     * has no NAPI, so XDP frames redirected to it would be dropped, and the frames the kernel
     * bridge or the TC hook deliver reach the TC sink.
     */
    void xdpSinks(boolean on) {
        if (on == !xdpSinkLinks.isEmpty()) {
            return;
        }
        if (on) {
            sinkThreads.clear();
            for (int i = 0; i < receivers.size(); i++) {
                Host r = receivers.get(i);
                BenchPrograms sink = sinks.get(i);
                sinkThreads.addAll(Cpus.threadedNapi(r.ns(), r.ifname(), cpus.threadedNapi(),
                        () -> xdpSinkLinks.add(sink.attach(r.ns(), r.ifname(), "bench_sink"))));
            }
        } else {
            xdpSinkLinks.forEach(BpfLink::close);
            xdpSinkLinks.clear();
            sinkThreads.clear();
        }
        repin();
    }

    static BenchLab build(int ports, BenchCpus cpus, boolean bridgeNf) {
        if (ports < 2) {
            throw new IllegalArgumentException("a bench needs at least 2 ports (a sender and a receiver): " + ports);
        }
        BridgeLab lab = BridgeLab.builder().prefix("xbb").hosts(ports).hostOffloads(false).build();
        try {
            return new BenchLab(lab, cpus, bridgeNf);
        } catch (RuntimeException e) {
            lab.close();
            throw e;
        }
    }

    /** Pins the forwarder and sink NAPI threads again (cheap; a re-created NAPI gets a new thread). */
    void repin() {
        pinning.clear();
        pin("forwarder", sender.portName(), forwarderThreads, cpus.forwarder());
        pin("sink", "eth0 of each receiver", sinkThreads, cpus.sink());
    }

    private void pin(String role, String where, List<Long> pids, int cpu) {
        if (!cpus.threadedNapi()) {
            pinning.put(role, "softirq NAPI of " + where + ", on the CPU that sends to it ("
                    + (role.equals("forwarder") ? "the generator's, CPU " + cpus.generator() : "the forwarder's") + ")");
            return;
        }
        if (pids.isEmpty()) {
            pinning.put(role, "NAPI of " + where + ": not pinned (no napi thread found; runs in softirq of the CPU that scheduled it)");
            return;
        }
        for (long pid : pids) {
            Cpus.pin(pid, cpu);
        }
        pinning.put(role, "CPU " + cpu + " (threaded NAPI of " + where + ", pids " + pids + ")");
    }

    Map<String, String> pinning() {
        Map<String, String> all = new LinkedHashMap<>();
        all.put("generator", "CPU " + cpus.generator() + " (BPF_PROG_RUN live frames from a JVM thread in host 1, sched_setaffinity)");
        all.putAll(pinning);
        return all;
    }

    BenchCpus cpus() {
        return cpus;
    }

    BridgeLab lab() {
        return lab;
    }

    Host sender() {
        return sender;
    }

    List<Host> receivers() {
        return receivers;
    }

    int bridgeIndex() {
        return bridgeIndex;
    }

    int senderPortIndex() {
        return senderPortIndex;
    }

    int[] receiverPortIndex() {
        return receiverPortIndex.clone();
    }

    /** Adds static FDB entries (02:5f:..., spread over the receivers' ports) until {@code count} fillers are there. */
    void fillFdb(int count, Runnable progress) {
        switchThread.run(() -> {
            for (int i = fillers; i < count; i++) {
                rt.addFdb(receiverPortIndex[i % receiverPortIndex.length], fillerMac(i), 0, true, true);
                if ((i & 0xffff) == 0) {
                    progress.run();
                }
            }
        });
        fillers = Math.max(fillers, count);
    }

    int fillers() {
        return fillers;
    }

    static MacAddress fillerMac(int i) {
        return MacAddress.of(new byte[] {0x02, 0x5f, (byte) (i >>> 24), (byte) (i >>> 16), (byte) (i >>> 8), (byte) i});
    }

    /**
     * Makes the FDB hold exactly the entries {@code plan} needs: each flow's source MAC dynamic
     * on the sender's port, as a learned source is (the fast path then pays the aging check every
     * learned source costs; a static one would skip it), and its destination MAC static on its
     * receiver's port (the receivers never send, so a dynamic one would age). Nothing is learned
     * or moved during a trial. The previous plan's entries go.
     */
    void installFlows(FlowPlan plan) {
        if (plan.receivers() != receivers.size()) {
            throw new IllegalArgumentException("plan for " + plan.receivers() + " receivers on a lab with " + receivers.size());
        }
        FlowPlan old = flowsInstalled;
        switchThread.run(() -> {
            if (old != null) {
                for (int f = 0; f < old.flows(); f++) {
                    rt.deleteFdb(senderPortIndex, old.sourceMac(f), 0);
                    rt.deleteFdb(receiverPortIndex[old.receiverOf(f)], old.destinationMac(f), 0);
                }
            }
            for (int f = 0; f < plan.flows(); f++) {
                rt.addFdb(senderPortIndex, plan.sourceMac(f), 0, false, true);
                rt.addFdb(receiverPortIndex[plan.receiverOf(f)], plan.destinationMac(f), 0, true, true);
            }
        });
        flowsInstalled = plan;
    }

    /** Entries in the bridge's FDB now (from a netlink dump), local ones included. */
    int fdbSize() {
        return switchThread.call(() -> (int) rt.fdb().stream().filter(e -> e.isBridgeEntry()).count());
    }

    /**
     * A MAC no flow (02:5e:01 and 02:5e:02) or filler (02:5f) uses: the barrier
     * {@link #awaitMirrored} puts behind the changes it waits for.
     */
    static final MacAddress BARRIER_MAC = MacAddress.of(new byte[] {0x02, 0x5e, 0x03, 0, 0, 0});

    /**
     * Waits until the daemon has taken every FDB change made so far, and its map holds every
     * entry of the installed flows. Seeing the flows' keys alone is not enough: a key both the
     * old and the new plan have is deleted and added again, so its old copy may still be in the
     * map with the delete not yet mirrored (frames measured then met no entry). The daemon takes
     * netlink events in order (or resyncs from a dump after an overrun), so once a barrier entry
     * added after the changes is in its map, so are they. The barrier then goes, and is seen gone.
     */
    void awaitMirrored(DaemonMaps maps, long timeoutMillis) {
        FlowPlan plan = flowsInstalled;
        long end = System.nanoTime() + timeoutMillis * 1_000_000;
        switchThread.run(() -> rt.addFdb(senderPortIndex, BARRIER_MAC, 0, true, true));
        try {
            awaitBarrier(maps, true, end, timeoutMillis);
        } finally {
            switchThread.run(() -> rt.deleteFdb(senderPortIndex, BARRIER_MAC, 0));
        }
        awaitBarrier(maps, false, end, timeoutMillis);
        for (int f = 0; f < plan.flows(); f++) {
            while (!maps.has(bridgeIndex, plan.sourceMac(f)) || !maps.has(bridgeIndex, plan.destinationMac(f))) {
                if (System.nanoTime() > end) {
                    throw new IllegalStateException("the daemon did not mirror flow " + f + " (" + plan.sourceMac(f)
                            + " -> " + plan.destinationMac(f) + ") within " + timeoutMillis + " ms");
                }
                Cpus.sleep(2);
            }
        }
    }

    private void awaitBarrier(DaemonMaps maps, boolean present, long end, long timeoutMillis) {
        while (maps.has(bridgeIndex, BARRIER_MAC) != present) {
            if (System.nanoTime() > end) {
                throw new IllegalStateException("the daemon did not mirror the " + (present ? "addition" : "deletion")
                        + " of the barrier entry " + BARRIER_MAC + " within " + timeoutMillis + " ms");
            }
            Cpus.sleep(2);
        }
    }

    /** Frames and bytes the sinks counted, summed. */
    long[] sinkCounts() {
        long[] sum = new long[2];
        for (BenchPrograms s : sinks) {
            long[] c = s.count("sink_count");
            sum[0] += c[0];
            sum[1] += c[1];
        }
        return sum;
    }

    /**
     * The receivers' own count of the frames they got, the sinks' independent witness: with
     * the XDP sinks on, the frames their XDP dropped (ethtool -S xdp_drops); without, their
     * eth0's rx_packets, which bpf_redirect_peer counts as it hands a frame over
     * (skb_do_redirect: dev_sw_netstats_rx_add).
     */
    long receiverWitness() {
        long sum = 0;
        for (Host r : receivers) {
            sum += xdpSinkLinks.isEmpty() ? LinkStats.of(r.ns(), r.ifname()).rxPackets()
                    : EthtoolStats.xdpDrops(r.ns(), r.ifname());
        }
        return sum;
    }

    /** Frames that reached {@code p1}'s XDP and what it did with them (ethtool -S), for the record. */
    Map<String, Long> forwarderCounters() {
        Map<String, Long> all = EthtoolStats.of(lab.switchNs(), sender.portName());
        Map<String, Long> out = new LinkedHashMap<>();
        all.forEach((k, v) -> {
            if (k.contains("xdp") || k.startsWith("rx_queue_0_drops") || k.equals("peer_ifindex")) {
                out.put(k, v);
            }
        });
        return out;
    }

    @Override
    public void close() {
        xdpSinkLinks.forEach(BpfLink::close);
        tcSinkLinks.forEach(BpfLink::close);
        for (BenchPrograms s : sinks) {
            s.close();
        }
        try {
            rt.close();
        } catch (RuntimeException e) {
            // the namespace goes anyway
        }
        switchThread.close();
        lab.close();
    }
}
