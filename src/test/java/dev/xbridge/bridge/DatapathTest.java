package dev.xbridge.bridge;

import static org.assertj.core.api.Assertions.assertThat;

import dev.xbridge.bench.Cpus;
import dev.xbridge.bpf.BpfException;
import dev.xbridge.bpf.LibBpf;
import dev.xbridge.bpf.RunOptions;
import dev.xbridge.bpf.RunResult;
import dev.xbridge.bpf.SkBuff;
import dev.xbridge.bpf.Tc;
import dev.xbridge.bpf.UpdateFlag;
import dev.xbridge.bpf.Xdp;
import dev.xbridge.bpf.XdpMd;
import dev.xbridge.netlink.MacAddress;
import dev.xbridge.sys.NetNamespace;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Every verdict rule of the datapath, frame by frame, through BPF_PROG_RUN
 * on the real program (loaded with the trace switch so the redirect target
 * is observable). This class runs each frame through the XDP entry point;
 * {@link TcDatapathTest} runs the same tests through the TC entry point, so
 * both are held to the same decisions. Runs in a fresh namespace because the kernel resolves the
 * test context's ingress_ifindex and the devmap's targets there.
 *
 * <p>Not covered here: runts (XB_PASS_MALFORMED). BPF_PROG_RUN refuses
 * frames shorter than ETH_HLEN, with or without XDP metadata in front; the
 * bounds check in the program is one the verifier demands anyway.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DatapathTest {
    static final int BRIDGE = 1000;
    static final int OTHER_BRIDGE = 2000;
    static final MacAddress A = MacAddress.parse("02:00:00:00:00:0a");
    static final MacAddress B = MacAddress.parse("02:00:00:00:00:0b");
    static final MacAddress C = MacAddress.parse("02:00:00:00:00:0c");
    static final MacAddress HOST = MacAddress.parse("02:00:00:00:00:f0");
    static final MacAddress UNKNOWN = MacAddress.parse("02:00:00:00:00:99");
    static final MacAddress BROADCAST = MacAddress.parse("ff:ff:ff:ff:ff:ff");

    /** Both egress flags: a port any entry point may redirect to. */
    static final int TARGET = PortRecord.EGRESS | PortRecord.XDP_EGRESS;

    /** The entry point a run goes through. */
    enum Entry { XDP, TC }

    /** A verdict in either entry point's terms. */
    enum Verdict { PASS, REDIRECT, DROP, OTHER }

    Entry entry() {
        return Entry.XDP;
    }

    /** The per-CPU caches of the datapath under test: the daemon's default on this machine. */
    CacheSize caches() {
        return Datapath.cachesFor(CacheSize.DEFAULT_BUDGET);
    }

    /** Whether the datapath under test looks FDB entries up through its per-CPU cache. */
    final boolean fdbCache() {
        return caches().on();
    }

    DatapathBench bench;
    NetNamespace inside;
    Datapath dp;
    int p1;
    int p2;
    int p3;
    int stranger;

    @BeforeAll
    void setUp() {
        bench = DatapathBench.open("xbt-dp", 4, caches());
        dp = bench.datapath();
        inside = bench.inside();
        p1 = bench.port(1);
        p2 = bench.port(2);
        p3 = bench.port(3);
        stranger = bench.port(4);
    }

    @AfterAll
    void tearDown() {
        if (bench != null) {
            bench.close();
        }
    }

    /** p1, p2 forwarding, learning, egress on BRIDGE; p3 on another bridge; A behind p1, B behind p2, C behind p3. */
    @BeforeEach
    void standardState() {
        inside.run(() -> {
            for (var k : dp.fdbEntries().keySet()) {
                dp.removeFdb(k);
            }
            dp.putPort(p1, port(BRIDGE, 1, PortRecord.LEARNING | TARGET, 3));
            dp.putPort(p2, port(BRIDGE, 2, PortRecord.LEARNING | TARGET, 3));
            dp.putPort(p3, port(OTHER_BRIDGE, 3, PortRecord.LEARNING | TARGET, 3));
            dp.removePort(stranger);
            dp.putTxPort(1, p1);
            dp.putTxPort(2, p2);
            dp.putTxPort(3, p3);
            for (int slot = 0; slot < 4; slot++) {
                dp.resetStats(slot);
            }
            dp.putFdb(new FdbKey(BRIDGE, 0, A), new FdbValue(p1, FdbValue.REFRESH, 0));
            dp.putFdb(new FdbKey(BRIDGE, 0, B), new FdbValue(p2, FdbValue.REFRESH, 0));
            dp.putFdb(new FdbKey(OTHER_BRIDGE, 0, C), new FdbValue(p3, FdbValue.REFRESH, 0));
            dp.putFdb(new FdbKey(BRIDGE, 0, HOST), new FdbValue(0, FdbValue.LOCAL, 0));
        });
    }

    static PortRecord port(int bridge, int slot, int flags, int state) {
        return new PortRecord(bridge, slot, flags, state);
    }

    /** @param raw the program's own return value (XDP_* or TC_ACT_*) */
    record Outcome(Verdict verdict, int raw, Decision decision) {}

    Outcome run(int ingress, byte[] frame) {
        return run(ingress, frame, 0);
    }

    /** Runs one frame through {@link #entry()}; for XDP, {@code meta} leading bytes become XDP metadata. */
    Outcome run(int ingress, byte[] frame, int meta) {
        return run(entry(), ingress, frame, meta);
    }

    Outcome run(Entry through, int ingress, byte[] frame, int meta) {
        return inside.call(() -> {
            if (through == Entry.XDP) {
                XdpMd ctx = XdpMd.forFrame(frame.length).data(meta).ingressIfindex(ingress);
                RunResult r = dp.xdpProgram().run(RunOptions.of(frame).withContext(ctx));
                Verdict v = switch (r.retval()) {
                    case Xdp.PASS -> Verdict.PASS;
                    case Xdp.REDIRECT -> Verdict.REDIRECT;
                    case Xdp.DROP -> Verdict.DROP;
                    default -> Verdict.OTHER;
                };
                return new Outcome(v, r.retval(), dp.lastDecision());
            }
            RunResult r = dp.tcProgram().run(RunOptions.of(frame).withContext(SkBuff.receivedOn(ingress)));
            Verdict v = switch (r.retval()) {
                case Tc.OK -> Verdict.PASS;
                case Tc.REDIRECT -> Verdict.REDIRECT;
                case Tc.SHOT -> Verdict.DROP;
                default -> Verdict.OTHER;
            };
            return new Outcome(v, r.retval(), dp.lastDecision());
        });
    }

    void assertPass(Outcome o, Reason reason) {
        assertThat(o.decision().reason()).isEqualTo(reason);
        assertThat(o.decision().action()).isEqualTo(Decision.Action.PASS);
        assertThat(o.verdict()).as(entry() + " verdict " + o.raw()).isEqualTo(Verdict.PASS);
    }

    <T> T in(Supplier<T> s) {
        return inside.call(s::get);
    }

    @Test
    void knownUnicastIsRedirectedToTheFdbPort() {
        Outcome o = run(p1, Frames.ipv4(B, A));
        assertThat(o.verdict()).isEqualTo(Verdict.REDIRECT);
        assertThat(o.decision()).isEqualTo(new Decision(Decision.Action.REDIRECT, Reason.REDIRECT, p2, 1));
        Outcome back = run(p2, Frames.ipv4(A, B));
        assertThat(back.decision().egress()).isEqualTo(p1);
    }

    @Test
    void broadcastGoesToTheKernel() {
        assertPass(run(p1, Frames.ipv4(BROADCAST, A)), Reason.PASS_BROADCAST);
    }

    @Test
    void multicastGoesToTheKernel() {
        assertPass(run(p1, Frames.ipv4(MacAddress.parse("01:00:5e:00:00:01"), A)), Reason.PASS_MULTICAST);
        assertPass(run(p1, Frames.ipv4(MacAddress.parse("33:33:00:00:00:01"), A)), Reason.PASS_MULTICAST);
    }

    @Test
    void linkLocalControlFramesGoToTheKernel() {
        for (String dst : new String[] {"01:80:c2:00:00:00", "01:80:c2:00:00:02", "01:80:c2:00:00:0e"}) {
            assertPass(run(p1, Frames.ethernet(MacAddress.parse(dst), A, 0x0026, 46)), Reason.PASS_LINK_LOCAL);
        }
        // 01:80:c2:00:00:10 is not link-local: ordinary multicast.
        assertPass(run(p1, Frames.ipv4(MacAddress.parse("01:80:c2:00:00:10"), A)), Reason.PASS_MULTICAST);
    }

    @Test
    void unknownDestinationGoesToTheKernelToFlood() {
        assertPass(run(p1, Frames.ipv4(UNKNOWN, A)), Reason.PASS_DST_UNKNOWN);
    }

    @Test
    void framesForTheHostGoToTheKernel() {
        assertPass(run(p1, Frames.ipv4(HOST, A)), Reason.PASS_DST_LOCAL);
    }

    @Test
    void unknownSourceGoesToTheKernelToLearn() {
        assertPass(run(p1, Frames.ipv4(B, UNKNOWN)), Reason.PASS_SRC_UNKNOWN);
    }

    @Test
    void sourceKnownBehindAnotherPortGoesToTheKernelToMove() {
        assertPass(run(p2, Frames.ipv4(B, A)), Reason.PASS_SRC_MOVED);
    }

    @Test
    void aMovedSourceIsForgottenAtOnceSoFramesToItGoToTheKernel() {
        run(p2, Frames.ipv4(B, A));
        assertThat(in(() -> dp.fdb(new FdbKey(BRIDGE, 0, A)))).as("A's stale entry behind p1").isEmpty();
        assertPass(run(p2, Frames.ipv4(A, B)), Reason.PASS_DST_UNKNOWN);
    }

    @Test
    void stickyAndLocalSourcesAreNotForgotten() {
        in(() -> {
            dp.putFdb(new FdbKey(BRIDGE, 0, A), new FdbValue(p1, FdbValue.STICKY, 0));
            return null;
        });
        assertPass(run(p2, Frames.ipv4(B, A)), Reason.PASS_SRC_MOVED);
        assertThat(in(() -> dp.fdb(new FdbKey(BRIDGE, 0, A)))).as("sticky entries do not move").isPresent();
        assertPass(run(p1, Frames.ipv4(B, HOST)), Reason.PASS_SRC_MOVED);
        assertThat(in(() -> dp.fdb(new FdbKey(BRIDGE, 0, HOST)))).as("local entries stay").isPresent();
    }

    @Test
    void invalidSourceGoesToTheKernelWhichDropsIt() {
        assertPass(run(p1, Frames.ipv4(B, MacAddress.parse("01:00:00:00:00:01"))), Reason.PASS_SRC_INVALID);
        assertPass(run(p1, Frames.ipv4(B, MacAddress.parse("00:00:00:00:00:00"))), Reason.PASS_SRC_INVALID);
    }

    @Test
    void onlyForwardingIngressPortsForward() {
        for (int state : new int[] {0, 1, 2, 4}) {
            in(() -> {
                dp.putPort(p1, port(BRIDGE, 1, PortRecord.LEARNING | TARGET, state));
                return null;
            });
            assertPass(run(p1, Frames.ipv4(B, A)), Reason.PASS_NOT_FORWARDING);
        }
    }

    @Test
    void onlyForwardingEgressPortsReceive() {
        for (int state : new int[] {0, 1, 2, 4}) {
            in(() -> {
                dp.putPort(p2, port(BRIDGE, 2, PortRecord.LEARNING | TARGET, state));
                return null;
            });
            assertPass(run(p1, Frames.ipv4(B, A)), Reason.PASS_EGRESS_BLOCKED);
        }
    }

    @Test
    void destinationBehindTheIngressPortGoesToTheKernel() {
        in(() -> {
            dp.putFdb(new FdbKey(BRIDGE, 0, B), new FdbValue(p1, FdbValue.REFRESH, 0));
            return null;
        });
        assertPass(run(p1, Frames.ipv4(B, A)), Reason.PASS_SAME_PORT);
    }

    @Test
    void egressThatCannotReceiveRedirectsGoesToTheKernel() {
        in(() -> {
            dp.putPort(p2, port(BRIDGE, 2, PortRecord.LEARNING, 3));
            return null;
        });
        assertPass(run(p1, Frames.ipv4(B, A)), Reason.PASS_EGRESS_UNAVAILABLE);
    }

    @Test
    void egressUnknownOrOnAnotherBridgeGoesToTheKernel() {
        in(() -> {
            dp.putFdb(new FdbKey(BRIDGE, 0, C), new FdbValue(p3, FdbValue.REFRESH, 0));
            dp.putFdb(new FdbKey(BRIDGE, 0, UNKNOWN), new FdbValue(stranger, FdbValue.REFRESH, 0));
            return null;
        });
        assertPass(run(p1, Frames.ipv4(C, A)), Reason.PASS_EGRESS_UNAVAILABLE);
        assertPass(run(p1, Frames.ipv4(UNKNOWN, A)), Reason.PASS_EGRESS_UNAVAILABLE);
    }

    /** Ifindexes grow with every device a namespace ever made: one past port_slots takes the hash. */
    @Test
    void aPortWithAnIfindexBeyondTheDirectTableForwardsBothWays() {
        int far = in(() -> farPort());
        assertThat(far).isGreaterThanOrEqualTo(Datapath.IFINDEX_DIRECT);
        try {
            in(() -> {
                dp.putPort(far, port(BRIDGE, 5, PortRecord.LEARNING | TARGET, 3));
                dp.putTxPort(5, far);
                dp.putFdb(new FdbKey(BRIDGE, 0, UNKNOWN), new FdbValue(far, FdbValue.REFRESH, 0));
                return null;
            });
            assertThat(in(() -> dp.port(far))).hasValueSatisfying(r -> assertThat(r.slot()).isEqualTo(5));
            Outcome out = run(p1, Frames.ipv4(UNKNOWN, A));
            assertThat(out.verdict()).isEqualTo(Verdict.REDIRECT);
            assertThat(out.decision().egress()).isEqualTo(far);
            Outcome back = run(far, Frames.ipv4(A, UNKNOWN));
            assertThat(back.verdict()).isEqualTo(Verdict.REDIRECT);
            assertThat(back.decision().egress()).isEqualTo(p1);
            assertThat(back.decision().slot()).as("the far port's stats slot").isEqualTo(5);

            in(() -> {
                dp.removePort(far);
                return null;
            });
            assertThat(in(() -> dp.port(far))).isEmpty();
            assertPass(run(p1, Frames.ipv4(UNKNOWN, A)), Reason.PASS_EGRESS_UNAVAILABLE);
            assertPass(run(far, Frames.ipv4(A, UNKNOWN)), Reason.PASS_NOT_PORT);
        } finally {
            in(() -> {
                dp.removePort(far);
                dp.removeTxPort(5);
                return null;
            });
        }
    }

    private int farCache;

    private int farPort() {
        if (farCache == 0) {
            farCache = bench.addVeth("pfar", "qfar", Datapath.IFINDEX_DIRECT + 4464);
        }
        return farCache;
    }

    /**
     * A slot given to another port while an ifindex still points at it (a frame that read the
     * old slot, or a daemon that has not unlinked it yet) is not that port's: the record names
     * its own ifindex.
     */
    @Test
    void aSlotHoldingAnotherPortIsNotTaken() {
        in(() -> {
            dp.removePort(p2);
            dp.putPort(stranger, port(BRIDGE, 2, PortRecord.LEARNING | TARGET, 3));
            dp.putTxPort(2, stranger);
            dp.putFdb(new FdbKey(BRIDGE, 0, UNKNOWN), new FdbValue(stranger, FdbValue.REFRESH, 0));
            // p2's ifindex still points at slot 2.
            dp.rawMap("port_slots").update(u32(p2), u32(2), UpdateFlag.ANY);
            return null;
        });
        try {
            assertPass(run(p1, Frames.ipv4(B, A)), Reason.PASS_EGRESS_UNAVAILABLE);
            assertPass(run(p2, Frames.ipv4(A, B)), Reason.PASS_NOT_PORT);
            assertThat(in(() -> dp.port(p2))).isEmpty();
            assertThat(run(p1, Frames.ipv4(UNKNOWN, A)).decision().egress()).as("the slot's own port").isEqualTo(stranger);
        } finally {
            in(() -> {
                dp.removePort(stranger);
                dp.putTxPort(2, p2);
                return null;
            });
        }
    }

    private static MemorySegment u32(int v) {
        MemorySegment s = Arena.ofAuto().allocate(4, 4);
        s.set(ValueLayout.JAVA_INT, 0, v);
        return s;
    }

    @Test
    void missingDevmapEntryFallsBackToTheKernelOnXdpAndDoesNotMatterToTc() {
        in(() -> {
            dp.removeTxPort(2);
            return null;
        });
        Outcome o = run(p1, Frames.ipv4(B, A));
        if (entry() == Entry.XDP) {
            assertPass(o, Reason.PASS_REDIRECT_FAILED);
        } else {
            assertThat(o.verdict()).as("the devmap is XDP's alone").isEqualTo(Verdict.REDIRECT);
        }
    }

    @Test
    void eachEntryPointRedirectsOnlyToPortsThatCanTakeItsFrames() {
        in(() -> {
            dp.putPort(p2, port(BRIDGE, 2, PortRecord.LEARNING | PortRecord.XDP_EGRESS, 3));
            return null;
        });
        Outcome xdpOnly = run(p1, Frames.ipv4(B, A));
        in(() -> {
            dp.putPort(p2, port(BRIDGE, 2, PortRecord.LEARNING | PortRecord.EGRESS | PortRecord.PEER, 3));
            return null;
        });
        Outcome skbOnly = run(p1, Frames.ipv4(B, A));
        if (entry() == Entry.XDP) {
            assertThat(xdpOnly.verdict()).isEqualTo(Verdict.REDIRECT);
            assertPass(skbOnly, Reason.PASS_EGRESS_UNAVAILABLE);
        } else {
            assertPass(xdpOnly, Reason.PASS_EGRESS_UNAVAILABLE);
            assertThat(skbOnly.verdict()).as("bpf_redirect_peer, as bpf_redirect, answers TC_ACT_REDIRECT")
                    .isEqualTo(Verdict.REDIRECT);
            assertThat(skbOnly.decision().egress()).isEqualTo(p2);
        }
    }

    @Test
    void isolatedToIsolatedGoesToTheKernelWhichDropsIt() {
        in(() -> {
            dp.putPort(p1, port(BRIDGE, 1, PortRecord.LEARNING | TARGET | PortRecord.ISOLATED, 3));
            return null;
        });
        assertThat(run(p1, Frames.ipv4(B, A)).verdict()).as("isolated to non-isolated").isEqualTo(Verdict.REDIRECT);
        in(() -> {
            dp.putPort(p2, port(BRIDGE, 2, PortRecord.LEARNING | TARGET | PortRecord.ISOLATED, 3));
            return null;
        });
        assertPass(run(p1, Frames.ipv4(B, A)), Reason.PASS_ISOLATED);
    }

    @Test
    void vlanTaggedFramesGoToTheKernel() {
        assertPass(run(p1, Frames.tagged(B, A, Frames.ETH_P_8021Q, 10)), Reason.PASS_VLAN);
        assertPass(run(p1, Frames.tagged(B, A, Frames.ETH_P_8021AD, 10)), Reason.PASS_VLAN);
    }

    @Test
    void framesFromInterfacesThatAreNotPortsGoToTheKernel() {
        Outcome o = run(stranger, Frames.ipv4(B, A));
        assertPass(o, Reason.PASS_NOT_PORT);
        assertThat(o.decision().slot()).isZero();
    }

    @Test
    void aPortThatStepsAsidePassesEverything() {
        in(() -> {
            dp.putPort(p1, port(BRIDGE, 1, PortRecord.LEARNING | TARGET | PortRecord.KERNEL, 3));
            return null;
        });
        assertPass(run(p1, Frames.ipv4(B, A)), Reason.PASS_PORT_KERNEL);
    }

    @Test
    void withLearningOffTheSourceNeedNotBeKnown() {
        in(() -> {
            dp.putPort(p1, port(BRIDGE, 1, TARGET, 3));
            return null;
        });
        Outcome o = run(p1, Frames.ipv4(B, UNKNOWN));
        assertThat(o.verdict()).isEqualTo(Verdict.REDIRECT);
        assertThat(o.decision().egress()).isEqualTo(p2);
    }

    /**
     * Aging: once per sample period a refreshable source's frame goes to the
     * kernel (which refreshes the entry itself and forwards the frame to the
     * same port); the frames in between take the fast path.
     */
    @Test
    void oneFramePerSourceAndSamplePeriodGoesToTheKernelForAging() throws Exception {
        in(() -> {
            dp.putPort(p1, new PortRecord(BRIDGE, 1, PortRecord.LEARNING | TARGET, 3, 1500, 200));
            return null;
        });
        long before = System.nanoTime();
        assertPass(run(p1, Frames.ipv4(B, A)), Reason.PASS_AGING);
        long sampled = in(() -> dp.fdb(new FdbKey(BRIDGE, 0, A)).orElseThrow().sampledNanos());
        // The datapath reads CLOCK_MONOTONIC once per tick, CPU and slot: at most a tick old, 10 ms at HZ=100.
        assertThat(sampled).isBetween(before - 10_000_000, System.nanoTime());
        for (int i = 0; i < 5; i++) {
            assertThat(run(p1, Frames.ipv4(B, A)).decision().reason()).as("within the period").isEqualTo(Reason.REDIRECT);
        }
        Thread.sleep(250);
        assertPass(run(p1, Frames.ipv4(B, A)), Reason.PASS_AGING);
        assertThat(run(p1, Frames.ipv4(B, A)).decision().reason()).isEqualTo(Reason.REDIRECT);
    }

    @Test
    void staticEntriesAndPortsWithoutSamplingAreNeverSampled() {
        in(() -> {
            dp.putPort(p1, new PortRecord(BRIDGE, 1, PortRecord.LEARNING | TARGET, 3, 1500, 200));
            dp.putFdb(new FdbKey(BRIDGE, 0, A), new FdbValue(p1, 0, 0));
            return null;
        });
        assertThat(run(p1, Frames.ipv4(B, A)).decision().reason()).as("static source").isEqualTo(Reason.REDIRECT);
        in(() -> {
            dp.putPort(p1, new PortRecord(BRIDGE, 1, PortRecord.LEARNING | TARGET, 3, 1500, 0));
            dp.putFdb(new FdbKey(BRIDGE, 0, A), new FdbValue(p1, FdbValue.REFRESH, 0));
            return null;
        });
        assertThat(run(p1, Frames.ipv4(B, A)).decision().reason()).as("sample period 0").isEqualTo(Reason.REDIRECT);
    }

    /**
     * The kernel learns from broadcast, multicast and link-local frames too:
     * a MAC announcing itself on a new port with a broadcast (GARP, RARP)
     * must stop being redirected to its old port at once.
     */
    @Test
    void aSourceMovingWithABroadcastOrALinkLocalFrameIsForgottenToo() {
        assertPass(run(p2, Frames.ipv4(MacAddress.parse("ff:ff:ff:ff:ff:ff"), A)), Reason.PASS_BROADCAST);
        assertThat(in(() -> dp.fdb(new FdbKey(BRIDGE, 0, A)))).as("A forgotten on a broadcast from p2").isEmpty();
        standardState();
        assertPass(run(p2, Frames.ethernet(MacAddress.parse("01:80:c2:00:00:0e"), A, 0x88cc, 46)), Reason.PASS_LINK_LOCAL);
        assertThat(in(() -> dp.fdb(new FdbKey(BRIDGE, 0, A)))).as("A forgotten on LLDP from p2").isEmpty();
    }

    /** In states where the kernel does not learn, a frame from a known MAC moves nothing; the entry stays. */
    @Test
    void aSourceSeenOnABlockingPortIsNotForgotten() {
        in(() -> {
            dp.putPort(p2, port(BRIDGE, 2, PortRecord.LEARNING | TARGET, 4));
            return null;
        });
        assertPass(run(p2, Frames.ipv4(B, A)), Reason.PASS_NOT_FORWARDING);
        assertThat(in(() -> dp.fdb(new FdbKey(BRIDGE, 0, A)))).isPresent();
    }

    /**
     * With proxy_arp, proxy_arp_wifi or neigh_suppress on some port of the
     * bridge, every port's ARP and ICMPv6 NS/NA go to the kernel; other
     * unicast is still fast-pathed.
     */
    @Test
    void neighbourFramesGoToTheKernelWhenTheBridgeProxiesOrSuppressesThem() {
        byte[] arp = Frames.ethernet(B, A, 0x0806, 46);
        byte[] ns = Frames.ethernet(B, A, 0x86dd, 64);
        ns[20] = 58;
        ns[54] = (byte) 135;
        byte[] tcp6 = Frames.ethernet(B, A, 0x86dd, 64);
        tcp6[20] = 6;
        assertThat(run(p1, arp).decision().reason()).as("no NEIGH flag").isEqualTo(Reason.REDIRECT);
        in(() -> {
            dp.putPort(p1, port(BRIDGE, 1, PortRecord.LEARNING | TARGET | PortRecord.NEIGH, 3));
            return null;
        });
        assertPass(run(p1, arp), Reason.PASS_PORT_KERNEL);
        assertPass(run(p1, ns), Reason.PASS_PORT_KERNEL);
        assertThat(run(p1, tcp6).decision().reason()).as("other IPv6").isEqualTo(Reason.REDIRECT);
        assertPass(run(p1, arp), Reason.PASS_PORT_KERNEL);
    }

    @Test
    void everyVerdictIsCountedPerPortSlot() {
        run(p1, Frames.ipv4(B, A));
        run(p1, Frames.ipv4(B, A));
        run(p1, Frames.ipv4(BROADCAST, A));
        run(p2, Frames.ipv4(UNKNOWN, B));
        run(stranger, Frames.ipv4(B, A));
        PortStats s1 = in(() -> dp.stats(1));
        PortStats s2 = in(() -> dp.stats(2));
        PortStats s0 = in(() -> dp.stats(0));
        assertThat(s1.fastPackets()).isEqualTo(2);
        assertThat(s1.redirectBytes()).isEqualTo(2L * Frames.ipv4(B, A).length);
        assertThat(s1.packets(Reason.PASS_BROADCAST)).isEqualTo(1);
        assertThat(s1.slowPackets()).isEqualTo(1);
        assertThat(s2.packets(Reason.PASS_DST_UNKNOWN)).isEqualTo(1);
        assertThat(s2.fastPackets()).isZero();
        assertThat(s0.packets(Reason.PASS_NOT_PORT)).isEqualTo(1);
    }

    @Test
    void javaLayoutsMatchTheObjectsBtf() {
        var btf = dp.object().btf();
        assertLayout(btf, "xb_port", PortRecord.SIZE, "bridge", PortRecord.BRIDGE_OFFSET, "ifindex",
                PortRecord.IFINDEX_OFFSET, "flags", PortRecord.FLAGS_OFFSET, "state", PortRecord.STATE_OFFSET, "mtu",
                PortRecord.MTU_OFFSET, "sample_ms", PortRecord.SAMPLE_MS_OFFSET, "pvid", PortRecord.PVID_OFFSET,
                "vlan_proto", PortRecord.VLAN_PROTO_OFFSET);
        assertLayout(btf, "xb_vlan_key", VlanKey.SIZE, "ifindex", VlanKey.IFINDEX_OFFSET, "vid", VlanKey.VID_OFFSET);
        assertLayout(btf, "xb_vlan", VlanValue.SIZE, "flags", VlanValue.FLAGS_OFFSET, "state", VlanValue.STATE_OFFSET);
        assertLayout(btf, "xb_fdb_key", FdbKey.SIZE, "bridge", FdbKey.BRIDGE_OFFSET, "vid", FdbKey.VID_OFFSET,
                "mac", FdbKey.MAC_OFFSET);
        assertLayout(btf, "xb_fdb_val", FdbValue.SIZE, "port", FdbValue.PORT_OFFSET, "flags",
                FdbValue.FLAGS_OFFSET, "sampled_ns", FdbValue.SAMPLED_OFFSET);
        assertLayout(btf, "xb_stats", PortStats.SIZE, "packets", PortStats.PACKETS_OFFSET, "redirect_bytes",
                PortStats.REDIRECT_BYTES_OFFSET, "flow_copies", PortStats.FLOW_COPIES_OFFSET, "clock",
                PortStats.CLOCK_OFFSET);
        assertLayout(btf, "xb_clock", 16, "jiffies", 0, "ns", 8);
        assertLayout(btf, "xb_decision", Decision.SIZE, "action", Decision.ACTION_OFFSET, "reason",
                Decision.REASON_OFFSET, "egress", Decision.EGRESS_OFFSET, "slot", Decision.SLOT_OFFSET, "vid",
                Decision.VID_OFFSET, "tag", Decision.TAG_OFFSET, "out_tagged", Decision.OUT_TAGGED_OFFSET, "tci",
                Decision.TCI_OFFSET, "tag_proto", Decision.TAG_PROTO_OFFSET);
        assertLayout(btf, "xb_fdb_cached", CACHED_SIZE, "key", 0, "flags", FdbKey.SIZE, "out_flags", 14,
                "port", CACHED_PORT_OFFSET, "out_slot", 20, "out_mtu", 24, "out_found", 28, "out_state", 29,
                "pad", 30, "gen", CACHED_GEN_OFFSET, "sampled_ns", 40);
        assertLayout(btf, "xb_fdb_cache_set", CacheSize.FDB_SET_BYTES, "way", 0);
        assertThat(CacheSize.FDB_SET_BYTES).isEqualTo(CACHE_WAYS * CACHED_SIZE);
        assertLayout(btf, "xb_flow", FLOW_SIZE, "key", 0, "gen", FLOW_GEN_OFFSET, "sampled_ns", 24, "bridge", 32,
                "in_slot", 36, "egress", FLOW_EGRESS_OFFSET, "out_slot", 44, "out_mtu", 48, "sample_ms", 52,
                "out_flags", 56, "pad", 58, "tick", 60);
        assertLayout(btf, "xb_flow_set", CacheSize.FLOW_SET_BYTES, "way", 0);
        assertThat(CacheSize.FLOW_SET_BYTES).isEqualTo(FLOW_WAYS * FLOW_SIZE);
    }

    /** struct xb_flow and xb_flow_set, which only this test reads from Java. */
    static final int FLOW_WAYS = 2;
    static final int FLOW_SIZE = 64;
    static final int FLOW_GEN_OFFSET = 16;
    static final int FLOW_EGRESS_OFFSET = 40;

    /** struct xb_fdb_cached and xb_fdb_cache_set, which only this test reads from Java. */
    static final int CACHE_WAYS = 2;
    static final int CACHED_SIZE = 48;
    static final int CACHED_PORT_OFFSET = 16;
    static final int CACHED_GEN_OFFSET = 32;

    static void assertLayout(dev.xbridge.bpf.Btf btf, String struct, int size, Object... memberOffsets) {
        var info = btf.struct(struct).orElseThrow(() -> new AssertionError("no struct " + struct + " in BTF"));
        assertThat(info.size()).as(struct + " size").isEqualTo(size);
        for (int i = 0; i < memberOffsets.length; i += 2) {
            String name = (String) memberOffsets[i];
            int offset = (Integer) memberOffsets[i + 1];
            var m = info.members().stream().filter(x -> x.name().equals(name)).findFirst()
                    .orElseThrow(() -> new AssertionError(struct + " has no member " + name));
            assertThat(m.offset()).as(struct + "." + name + " offset").isEqualTo(offset);
        }
        assertThat(info.members()).as(struct + " members").hasSize(memberOffsets.length / 2 + extraMembers(struct));
    }

    /** Padding members the Java side does not name (xb_decision's pad now carries out_tagged). */
    static int extraMembers(String struct) {
        return switch (struct) {
            case "xb_port", "xb_fdb_val", "xb_vlan_key", "xb_vlan" -> 1;
            default -> 0;
        };
    }

    /**
     * With fdb_cache on, a frame leaves copies of both its lookups in this CPU's cache, tagged
     * with the FDB generation, which every change of the fdb map moves on; without, it leaves
     * none. The rules above hold either way (UncachedDatapathTest runs them with it off).
     */
    @Test
    void knownFlowsAreCopiedIntoThisCpusCacheUnderTheCurrentGeneration() {
        assertThat(dp.fdbCache()).isEqualTo(fdbCache());
        long gen = in(dp::fdbGeneration);
        in(() -> {
            dp.putFdb(new FdbKey(BRIDGE, 0, B), new FdbValue(p2, FdbValue.REFRESH, 0));
            return null;
        });
        assertThat(in(dp::fdbGeneration)).as("a write moves the generation on").isEqualTo(gen + 1);
        assertThat(run(p1, Frames.ipv4(B, A)).decision().reason()).isEqualTo(Reason.REDIRECT);
        Set<String> cached = cachedNow();
        if (fdbCache()) {
            assertThat(cached).containsExactlyInAnyOrder(A + "@" + p1, B + "@" + p2);
            assertThat(flowsNow()).as("the decision too").containsExactly(flow(p1, B, A, p2));
        } else {
            assertThat(cached).isEmpty();
            assertThat(flowsNow()).isEmpty();
        }
    }

    /**
     * A decision is copied only when it rests on the MACs and on maps under the FDB
     * generation: not for a port whose bridge proxies or suppresses neighbour frames (the
     * ethertype decides there), nor for a tagged frame.
     */
    @Test
    void decisionsThatDependOnMoreThanTheMacsAreNotCopied() {
        inside.run(() -> dp.putPort(p2, port(BRIDGE, 2, PortRecord.LEARNING | TARGET | PortRecord.NEIGH, 3)));
        assertThat(run(p2, Frames.ipv4(A, B)).decision().reason()).isEqualTo(Reason.REDIRECT);
        assertThat(run(p1, Frames.ipv4(B, A)).decision().reason()).isEqualTo(Reason.REDIRECT);
        assertPass(run(p1, Frames.tagged(B, A, Frames.ETH_P_8021Q, 10)), Reason.PASS_VLAN);
        assertThat(flowsNow()).isEqualTo(fdbCache() ? Set.of(flow(p1, B, A, p2)) : Set.of());
    }

    /**
     * A copied decision holds the ingress port's record too, which fdb_cache never did: the
     * copy decides the flow's frames while the generation holds, and not a frame longer.
     * The port's record is cleared here behind the datapath's back (no generation bump),
     * which the daemon never does, to see which of the two answers.
     */
    @Test
    void aCopiedFlowDecidesOnlyUnderTheGenerationItWasCopiedIn() {
        assertThat(run(p1, Frames.ipv4(B, A)).decision().reason()).isEqualTo(Reason.REDIRECT);
        inside.run(() -> {
            var ports = dp.rawMap("ports");
            try (Arena arena = Arena.ofConfined()) {
                var key = arena.allocate(4, 4);
                key.set(ValueLayout.JAVA_INT, 0, 1);
                ports.update(key, arena.allocate(ports.valueSize(), 8), UpdateFlag.EXIST);
            }
        });
        Outcome unannounced = run(p1, Frames.ipv4(B, A));
        if (fdbCache()) {
            assertThat(unannounced.decision().reason()).as("from the copy").isEqualTo(Reason.REDIRECT);
            assertThat(unannounced.decision().egress()).isEqualTo(p2);
        } else {
            assertPass(unannounced, Reason.PASS_NOT_PORT);
        }
        inside.run(() -> dp.putFdb(new FdbKey(OTHER_BRIDGE, 0, UNKNOWN), new FdbValue(p3, 0, 0)));
        assertPass(run(p1, Frames.ipv4(B, A)), Reason.PASS_NOT_PORT);
    }

    /**
     * Every change of a copied flow's ingress port and of its two FDB entries must reach the
     * flow's next frame as if there were no copy: each step below first lets a frame copy
     * the flow, then makes one change.
     */
    @Test
    void aCopiedFlowFollowsEveryChangeOfItsIngressPortAndEntries() {
        byte[] ab = Frames.ipv4(B, A);
        PortRecord p1Standard = port(BRIDGE, 1, PortRecord.LEARNING | TARGET, 3);
        Runnable copied = () -> {
            Outcome o = run(p1, ab);
            assertThat(o.decision().reason()).as("copied").isEqualTo(Reason.REDIRECT);
            if (fdbCache()) {
                assertThat(flowsNow()).contains(flow(p1, B, A, p2));
            }
        };

        copied.run();
        inside.run(() -> dp.putPort(p1, port(BRIDGE, 1, PortRecord.LEARNING | TARGET, 4)));
        assertPass(run(p1, ab), Reason.PASS_NOT_FORWARDING);
        inside.run(() -> dp.putPort(p1, p1Standard));

        copied.run();
        inside.run(() -> dp.putPort(p1, port(BRIDGE, 1, PortRecord.LEARNING | TARGET | PortRecord.KERNEL, 3)));
        assertPass(run(p1, ab), Reason.PASS_PORT_KERNEL);
        inside.run(() -> dp.putPort(p1, p1Standard));

        inside.run(() -> dp.putPort(p2, port(BRIDGE, 2, PortRecord.LEARNING | TARGET | PortRecord.ISOLATED, 3)));
        copied.run();
        inside.run(() -> dp.putPort(p1, port(BRIDGE, 1, PortRecord.LEARNING | TARGET | PortRecord.ISOLATED, 3)));
        assertPass(run(p1, ab), Reason.PASS_ISOLATED);
        inside.run(() -> {
            dp.putPort(p1, p1Standard);
            dp.putPort(p2, port(BRIDGE, 2, PortRecord.LEARNING | TARGET, 3));
        });

        copied.run();
        inside.run(() -> dp.putPort(p1, port(OTHER_BRIDGE, 1, PortRecord.LEARNING | TARGET, 3)));
        assertPass(run(p1, ab), Reason.PASS_SRC_UNKNOWN);
        inside.run(() -> dp.putPort(p1, p1Standard));

        copied.run();
        inside.run(() -> dp.removePort(p1));
        assertPass(run(p1, ab), Reason.PASS_NOT_PORT);
        inside.run(() -> dp.putPort(p1, p1Standard));

        copied.run();
        inside.run(() -> dp.putPort(p1, port(BRIDGE, 5, PortRecord.LEARNING | TARGET, 3)));
        assertThat(run(p1, ab).decision().slot()).as("counted in the new slot").isEqualTo(5);
        inside.run(() -> dp.putPort(p1, p1Standard));

        copied.run();
        inside.run(() -> dp.putPort(p1, new PortRecord(BRIDGE, 1, PortRecord.LEARNING | TARGET, 3, 1500, 200)));
        assertPass(run(p1, ab), Reason.PASS_AGING);
        inside.run(() -> dp.putPort(p1, p1Standard));

        copied.run();
        inside.run(() -> dp.removeFdb(new FdbKey(BRIDGE, 0, B)));
        assertPass(run(p1, ab), Reason.PASS_DST_UNKNOWN);
        inside.run(() -> dp.putFdb(new FdbKey(BRIDGE, 0, B), new FdbValue(p2, FdbValue.REFRESH, 0)));

        copied.run();
        inside.run(() -> dp.putFdb(new FdbKey(BRIDGE, 0, B), new FdbValue(p1, FdbValue.REFRESH, 0)));
        assertPass(run(p1, ab), Reason.PASS_SAME_PORT);
        inside.run(() -> dp.putFdb(new FdbKey(BRIDGE, 0, B), new FdbValue(p2, FdbValue.REFRESH, 0)));

        copied.run();
        inside.run(() -> dp.putFdb(new FdbKey(BRIDGE, 0, A), new FdbValue(p2, FdbValue.REFRESH, 0)));
        assertPass(run(p1, ab), Reason.PASS_SRC_MOVED);
        assertThat(in(() -> dp.fdb(new FdbKey(BRIDGE, 0, A)))).as("forgotten by the frame").isEmpty();
    }

    /** "ingress:dst<src@egress" of every flow_cache copy, on any CPU, tagged with the current generation. */
    Set<String> flowsNow() {
        long now = in(dp::fdbGeneration);
        Set<String> flows = new HashSet<>();
        forEachCopy("flow_cache", FLOW_WAYS, FLOW_SIZE, (cpu, set, v) -> {
            if (v.get(ValueLayout.JAVA_LONG, FLOW_GEN_OFFSET) == now) {
                int ingress = v.get(ValueLayout.JAVA_INT, 0);
                MacAddress dst = MacAddress.of(v.asSlice(4, 6).toArray(ValueLayout.JAVA_BYTE));
                MacAddress src = MacAddress.of(v.asSlice(10, 6).toArray(ValueLayout.JAVA_BYTE));
                int egress = v.get(ValueLayout.JAVA_INT, FLOW_EGRESS_OFFSET);
                flows.add(flow(ingress, dst, src, egress));
            }
        });
        return flows;
    }

    /** A way of a per-CPU cache: the CPU and set it is in, and its raw bytes. */
    interface CopyVisitor {
        void visit(int cpu, int set, MemorySegment copy);
    }

    /**
     * Every way of every set on every CPU of one of the datapath's per-CPU caches: fdb_cache
     * is a per-CPU array of sets, flow_cache a plain array of each CPU's sets in turn.
     */
    void forEachCopy(String map, int ways, int size, CopyVisitor copy) {
        inside.run(() -> {
            var cache = dp.rawMap(map);
            int cpus = LibBpf.possibleCpus();
            try (Arena arena = Arena.ofConfined()) {
                var key = arena.allocate(4, 4);
                var values = arena.allocate(cache.valueBufferSize(), 8);
                int sets = cache.perCpu() ? cache.maxEntries() : cache.maxEntries() / cpus;
                for (int at = 0; at < cache.maxEntries(); at++) {
                    key.set(ValueLayout.JAVA_INT, 0, at);
                    cache.lookup(key, values);
                    for (int slot = 0; slot < (cache.perCpu() ? cpus : 1); slot++) {
                        for (int way = 0; way < ways; way++) {
                            copy.visit(cache.perCpu() ? slot : at / sets, at % sets,
                                    values.asSlice((long) slot * cache.valueSlotSize() + (long) way * size, size));
                        }
                    }
                }
            }
        });
    }

    static String flow(int ingress, MacAddress dst, MacAddress src, int egress) {
        return ingress + ":" + dst + "<" + src + "@" + egress;
    }

    /**
     * A destination's cached copy carries its port's record, so that a frame of a known flow
     * skips the egress port's lookups. Every change of that port (state, flags, bridge, slot,
     * removal) must reach the next frame as if there were no copy: each step below first lets
     * a frame cache the flow, then changes only the port.
     */
    @Test
    void aCachedDestinationFollowsEveryChangeOfItsPort() {
        assertThat(run(p1, Frames.ipv4(B, A)).decision().egress()).isEqualTo(p2);
        inside.run(() -> dp.putPort(p2, port(BRIDGE, 2, PortRecord.LEARNING | TARGET, 4)));
        assertPass(run(p1, Frames.ipv4(B, A)), Reason.PASS_EGRESS_BLOCKED);
        inside.run(() -> dp.putPort(p2, port(BRIDGE, 2, PortRecord.LEARNING | TARGET, 3)));
        assertThat(run(p1, Frames.ipv4(B, A)).decision().reason()).as("forwarding again").isEqualTo(Reason.REDIRECT);
        inside.run(() -> dp.putPort(p2, port(OTHER_BRIDGE, 2, PortRecord.LEARNING | TARGET, 3)));
        assertPass(run(p1, Frames.ipv4(B, A)), Reason.PASS_EGRESS_UNAVAILABLE);
        inside.run(() -> {
            dp.putPort(p2, port(BRIDGE, 5, PortRecord.LEARNING | TARGET, 3));
            dp.putTxPort(5, p2);
        });
        Outcome moved = run(p1, Frames.ipv4(B, A));
        assertThat(moved.decision().reason()).as("in another slot").isEqualTo(Reason.REDIRECT);
        assertThat(moved.decision().egress()).isEqualTo(p2);
        inside.run(() -> dp.removePort(p2));
        assertPass(run(p1, Frames.ipv4(B, A)), Reason.PASS_EGRESS_UNAVAILABLE);
        inside.run(() -> {
            dp.removeTxPort(5);
            dp.putPort(p2, port(BRIDGE, 2, PortRecord.LEARNING | TARGET, 3));
        });
        assertThat(run(p1, Frames.ipv4(B, A)).decision().reason()).as("back in its slot").isEqualTo(Reason.REDIRECT);
    }

    /** "MAC@port" of every copy in fdb_cache, on any CPU, tagged with the current generation. */
    Set<String> cachedNow() {
        long now = in(dp::fdbGeneration);
        Set<String> cached = new HashSet<>();
        forEachCopy("fdb_cache", CACHE_WAYS, CACHED_SIZE, (cpu, set, v) -> {
            FdbKey k = FdbKey.CODEC.read(v);
            long tag = v.get(ValueLayout.JAVA_LONG, CACHED_GEN_OFFSET);
            int port = v.get(ValueLayout.JAVA_INT, CACHED_PORT_OFFSET);
            if (k.bridge() == BRIDGE && tag == now) {
                cached.add(k.mac() + "@" + port);
            }
        });
        return cached;
    }

    /** fdb_cache_set() of xbridge.bpf.c at the datapath's size, for keys of {@link #BRIDGE} without a VLAN. */
    int cacheSet(MacAddress mac) {
        byte[] m = mac.bytes();
        int w0 = BRIDGE;
        int w1 = (m[0] & 0xff) << 16 | (m[1] & 0xff) << 24;
        int w2 = (m[2] & 0xff) | (m[3] & 0xff) << 8 | (m[4] & 0xff) << 16 | (m[5] & 0xff) << 24;
        int h = (w0 * 0x9e3779b1) ^ (w1 * 0x85ebca77) ^ (w2 * 0xc2b2ae3d);
        // Without caches the keys need only be alike for the test to run: the full size's sets.
        int sets = dp.caches().on() ? dp.caches().fdbSets() : CacheSize.FULL.fdbSets();
        return (h * 0x9e3779b1) >>> (32 - Integer.numberOfTrailingZeros(sets));
    }

    /**
     * A source and a destination in the same cache set: both ways hold them, and a third key
     * of that set takes way 0 and pushes the older copy out, without any frame deciding wrong.
     */
    @Test
    void keysSharingACacheSetKeepTheirOwnEntries() {
        java.util.Map<Integer, List<MacAddress>> bySet = new java.util.HashMap<>();
        List<MacAddress> same = null;
        for (int i = 0; same == null; i++) {
            MacAddress m = MacAddress.of(new byte[] {0x02, 0x11, 0, 0, (byte) (i >>> 8), (byte) i});
            List<MacAddress> l = bySet.computeIfAbsent(cacheSet(m), k -> new ArrayList<>());
            l.add(m);
            if (l.size() == 3) {
                same = l;
            }
        }
        MacAddress x = same.get(0);
        MacAddress y = same.get(1);
        MacAddress z = same.get(2);
        in(() -> {
            dp.putFdb(new FdbKey(BRIDGE, 0, x), new FdbValue(p1, FdbValue.REFRESH, 0));
            dp.putFdb(new FdbKey(BRIDGE, 0, y), new FdbValue(p2, FdbValue.REFRESH, 0));
            dp.putFdb(new FdbKey(BRIDGE, 0, z), new FdbValue(p2, FdbValue.REFRESH, 0));
            return null;
        });
        for (int round = 0; round < 3; round++) {
            Outcome xy = run(p1, Frames.ipv4(y, x));
            assertThat(xy.decision().reason()).as("x -> y, round " + round).isEqualTo(Reason.REDIRECT);
            assertThat(xy.decision().egress()).isEqualTo(p2);
            if (round == 0 && fdbCache()) {
                assertThat(cachedNow()).as("both ways of the set").contains(x + "@" + p1, y + "@" + p2);
            }
            Outcome yx = run(p2, Frames.ipv4(x, y));
            assertThat(yx.decision().egress()).as("y -> x").isEqualTo(p1);
            assertThat(run(p2, Frames.ipv4(x, z)).decision().egress()).as("z -> x, a third key of the set").isEqualTo(p1);
            if (round == 0 && fdbCache()) {
                Set<String> three = new HashSet<>(List.of(x + "@" + p1, y + "@" + p2, z + "@" + p2));
                three.retainAll(cachedNow());
                assertThat(three).as("two ways hold two of the set's three keys (the hash here is the datapath's)")
                        .hasSize(2);
            }
            assertPass(run(p2, Frames.ipv4(z, y)), Reason.PASS_SAME_PORT);
        }
        in(() -> {
            dp.putFdb(new FdbKey(BRIDGE, 0, y), new FdbValue(p1, FdbValue.REFRESH, 0));
            return null;
        });
        assertPass(run(p1, Frames.ipv4(y, x)), Reason.PASS_SAME_PORT);
    }

    /**
     * More flows than the caches hold: with the smallest caches (SmallCacheDatapathTest)
     * copies push each other out of their sets on every round, and each frame still goes where
     * its destination's entry says, also after entries move.
     */
    @Test
    void moreFlowsThanTheCachesHoldStillGoWhereTheirEntriesSay() {
        List<MacAddress> left = new ArrayList<>();
        List<MacAddress> right = new ArrayList<>();
        for (int i = 0; i < 24; i++) {
            left.add(MacAddress.of(new byte[] {0x02, 0x21, 0, 0, 1, (byte) i}));
            right.add(MacAddress.of(new byte[] {0x02, 0x21, 0, 0, 2, (byte) i}));
        }
        in(() -> {
            left.forEach(m -> dp.putFdb(new FdbKey(BRIDGE, 0, m), new FdbValue(p1, FdbValue.REFRESH, 0)));
            right.forEach(m -> dp.putFdb(new FdbKey(BRIDGE, 0, m), new FdbValue(p2, FdbValue.REFRESH, 0)));
            return null;
        });
        Set<MacAddress> moved = new HashSet<>();
        for (int round = 0; round < 3; round++) {
            if (round == 2) {
                // Every other right-hand MAC moves to p1: their copies must not decide any more.
                for (int i = 0; i < right.size(); i += 2) {
                    MacAddress m = right.get(i);
                    moved.add(m);
                    in(() -> {
                        dp.putFdb(new FdbKey(BRIDGE, 0, m), new FdbValue(p1, FdbValue.REFRESH, 0));
                        return null;
                    });
                }
            }
            for (MacAddress l : left) {
                for (MacAddress r : right) {
                    String flow = l + " > " + r + ", round " + round;
                    Outcome there = run(p1, Frames.ipv4(r, l));
                    if (moved.contains(r)) {
                        assertPass(there, Reason.PASS_SAME_PORT);
                    } else {
                        assertThat(there.decision().reason()).as(flow).isEqualTo(Reason.REDIRECT);
                        assertThat(there.decision().egress()).as(flow).isEqualTo(p2);
                    }
                    Outcome back = run(moved.contains(r) ? p1 : p2, Frames.ipv4(l, r));
                    if (moved.contains(r)) {
                        assertPass(back, Reason.PASS_SAME_PORT);
                    } else {
                        assertThat(back.decision().reason()).as("back: " + flow).isEqualTo(Reason.REDIRECT);
                        assertThat(back.decision().egress()).as("back: " + flow).isEqualTo(p1);
                    }
                }
            }
        }
        if (fdbCache()) {
            // The last round redirected 2 x 24 x 12 flows. The hash spreads them over every
            // set, so at least half of what fits is copied (all of it in the smallest caches),
            // each in the set the datapath's hash names at this size.
            int redirected = 2 * left.size() * (right.size() - moved.size());
            assertThat(flowsNow()).as("copies of the last round's flows, at most two a set")
                    .hasSizeLessThanOrEqualTo(Math.min(redirected, 2 * caches().flowSets()))
                    .hasSizeGreaterThanOrEqualTo(Math.min(redirected, 2 * caches().flowSets()) / 2);
            long now = in(dp::fdbGeneration);
            List<String> misplaced = new ArrayList<>();
            forEachCopy("flow_cache", FLOW_WAYS, FLOW_SIZE, (cpu, set, v) -> {
                int[] sets = flowSets(v.get(ValueLayout.JAVA_INT, 0), v.asSlice(4, 12).toArray(ValueLayout.JAVA_BYTE));
                if (v.get(ValueLayout.JAVA_LONG, FLOW_GEN_OFFSET) == now && set != sets[0] && set != sets[1]) {
                    misplaced.add("in set " + set + ", hashed to " + sets[0] + " and " + sets[1]);
                }
            });
            assertThat(misplaced).as("copies outside both of their key's sets").isEmpty();
        }
    }

    /**
     * flow_sets_of() of xbridge.bpf.c at the datapath's size (the full size's sets without
     * caches): the two flow_cache sets of a flow's key, the ingress ifindex and the frame's
     * first 12 bytes as two little-endian 64-bit words.
     */
    int[] flowSets(int ingress, byte[] macs) {
        var w = java.nio.ByteBuffer.wrap(macs, 0, 12).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        long k0 = Integer.toUnsignedLong(ingress) | (long) w.getInt(0) << 32;
        long k1 = w.getLong(4);
        long m = (k0 * 0x9e3779b97f4a7c15L) ^ (k1 * 0xc2b2ae3d27d4eb4fL);
        int mix = (int) (m >>> 32) ^ (int) m;
        int sets = dp.caches().on() ? dp.caches().flowSets() : CacheSize.FULL.flowSets();
        int shift = 32 - Integer.numberOfTrailingZeros(sets);
        return new int[] {(mix * 0x9e3779b1) >>> shift, (mix * 0x85ebca77) >>> shift};
    }

    /**
     * Three flows whose keys share their first flow_cache set, each with its second set
     * elsewhere. With one set per key the third pushed a copy out on every round, and every
     * frame of the three took the whole decision (the bench's 1,024 flows: 4.7% of frames).
     * With two sets per key each flow keeps a copy: its frames after the first copy nothing,
     * as the port's flow_copies counter shows. Each CPU keeps its own copies, in its own
     * region of flow_cache. Without caches nothing is ever copied.
     */
    @Test
    void flowsSharingTheirFirstSetEachKeepACopy() {
        byte[] dst = B.bytes();
        List<MacAddress> sources = new ArrayList<>();
        java.util.Map<Integer, List<MacAddress>> byFirst = new java.util.HashMap<>();
        for (int i = 0; sources.isEmpty(); i++) {
            MacAddress src = MacAddress.of(new byte[] {0x02, 0x31, 0, 0, (byte) (i >>> 8), (byte) i});
            int[] sets = flowSets(p1, concat(dst, src.bytes()));
            if (sets[1] == sets[0]) {
                continue;
            }
            List<MacAddress> l = byFirst.computeIfAbsent(sets[0], k -> new ArrayList<>());
            l.add(src);
            if (l.size() == 3) {
                sources.addAll(l);
            }
        }
        in(() -> {
            sources.forEach(m -> dp.putFdb(new FdbKey(BRIDGE, 0, m), new FdbValue(p1, FdbValue.REFRESH, 0)));
            return null;
        });
        long[] copiesAfter = new long[3];
        for (int round = 0; round < 3; round++) {
            for (MacAddress src : sources) {
                Outcome o = run(p1, Frames.ipv4(B, src));
                assertThat(o.decision().reason()).as(src + " -> B, round " + round).isEqualTo(Reason.REDIRECT);
                assertThat(o.decision().egress()).isEqualTo(p2);
            }
            copiesAfter[round] = in(() -> dp.stats(1)).flowCopies();
        }
        if (fdbCache()) {
            assertThat(copiesAfter).as("flow copies after each round: three, then none").containsExactly(3, 3, 3);
            assertThat(flowsNow()).as("a copy of each")
                    .containsAll(sources.stream().map(src -> flow(p1, B, src, p2)).toList());
            // DatapathBench pins the namespace's thread, so every frame ran on one CPU: the
            // copies are in that CPU's sets only. Run on another CPU, the same frames copy again.
            int ranOn = in(Cpus::current);
            assertThat(copyCpus()).as("the copies' CPUs: the one that ran the frames").containsOnly(ranOn).hasSize(3);
            assertThat(Cpus.online()).as("CPUs to run the frames on").isGreaterThan(1);
            int other = ranOn == 0 ? 1 : 0;
            inside.run(() -> Cpus.pin(0, other));
            try {
                for (MacAddress src : sources) {
                    assertThat(run(p1, Frames.ipv4(B, src)).decision().reason()).isEqualTo(Reason.REDIRECT);
                }
            } finally {
                inside.run(() -> Cpus.pin(0, ranOn));
            }
            assertThat(in(() -> dp.stats(1)).flowCopies()).as("copies after a round on CPU " + other).isEqualTo(6);
            assertThat(copyCpus()).as("the copies' CPUs").containsOnly(ranOn, other).hasSize(6);
        } else {
            assertThat(copiesAfter).containsExactly(0, 0, 0);
        }
    }

    /** The CPU of every current flow_cache copy, once per copy. */
    List<Integer> copyCpus() {
        long now = in(dp::fdbGeneration);
        List<Integer> cpus = new ArrayList<>();
        forEachCopy("flow_cache", FLOW_WAYS, FLOW_SIZE, (cpu, set, v) -> {
            if (v.get(ValueLayout.JAVA_LONG, FLOW_GEN_OFFSET) == now) {
                cpus.add(cpu);
            }
        });
        return cpus;
    }

    static byte[] concat(byte[] a, byte[] b) {
        byte[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    /**
     * Each way of flow_cache is one whole cache line. Its sets are whole lines, and the map is
     * mappable: only then does the kernel start an array's values on a page (array_map_alloc);
     * otherwise they start after the array's header, 56 bytes into a line on 6.18, and every
     * way spans two. The mapping shows each set where a lookup finds it, copies included.
     */
    @Test
    void flowCacheWaysAreWholeCacheLines() {
        assertThat(FLOW_SIZE).isEqualTo(64);
        assertThat(CacheSize.FLOW_SET_BYTES % 64).isZero();
        assertThat(run(p1, Frames.ipv4(B, A)).decision().reason()).isEqualTo(Reason.REDIRECT);
        inside.run(() -> {
            var cache = dp.rawMap("flow_cache");
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment mapped = cache.mmap(arena);
                var key = arena.allocate(4, 4);
                var value = arena.allocate(cache.valueBufferSize(), 8);
                int nonzero = 0;
                for (int at = 0; at < cache.maxEntries(); at++) {
                    key.set(ValueLayout.JAVA_INT, 0, at);
                    assertThat(cache.lookup(key, value)).isTrue();
                    MemorySegment set = mapped.asSlice((long) at * CacheSize.FLOW_SET_BYTES, CacheSize.FLOW_SET_BYTES);
                    assertThat(set.mismatch(value.asSlice(0, CacheSize.FLOW_SET_BYTES))).as("set %d", at).isEqualTo(-1);
                    nonzero += set.asByteBuffer().equals(java.nio.ByteBuffer.allocate(CacheSize.FLOW_SET_BYTES)) ? 0 : 1;
                }
                // This frame's copy, and the earlier tests' (same datapath, older generations).
                assertThat(nonzero > 0).as("sets holding copies compared").isEqualTo(fdbCache());
            }
        });
    }

    /**
     * The caches have the size they were loaded with, and the kernel's own accounting of the
     * maps (memlock; per-CPU values for every possible CPU) agrees: a smaller size, or none,
     * does take less memory.
     */
    @Test
    void theCachesTakeTheMemoryTheirSizeSays() {
        long cpus = LibBpf.possibleCpus();
        var flows = dp.rawMap("flow_cache");
        var entries = dp.rawMap("fdb_cache");
        int flowSets = Math.max(caches().flowSets(), 1);
        int fdbSets = Math.max(caches().fdbSets(), 1);
        assertThat(flows.perCpu()).as("flow_cache holds each CPU's sets in turn").isFalse();
        assertThat(flows.maxEntries()).isEqualTo(flowSets * (int) cpus);
        assertThat(entries.maxEntries()).isEqualTo(fdbSets);
        long flowBytes = flowSets * CacheSize.FLOW_SET_BYTES * cpus;
        long fdbBytes = fdbSets * CacheSize.FDB_SET_BYTES * cpus;
        assertThat(flows.memlock()).as("flow_cache memlock").isBetween(flowBytes, flowBytes + flowBytes / 8 + 8192);
        assertThat(entries.memlock()).as("fdb_cache memlock").isBetween(fdbBytes, fdbBytes + fdbBytes / 8 + 8192);
        assertThat(dp.kernelMemory()).isGreaterThan(flows.memlock() + entries.memlock());
    }

    @Test
    void fdbMapCapacityFollowsTheOption() {
        assertThat(dp.rawMap("fdb").maxEntries()).isEqualTo(1024);
    }

    @Test
    void theDatapathIsAcceptedWithoutTheTraceSwitchToo() {
        try (Datapath plain = inside.call(() -> Datapath.load(16, false))) {
            assertThat(plain.xdpProgram().fd()).isPositive();
            assertThat(plain.tcProgram().fd()).isPositive();
        } catch (BpfException e) {
            throw new AssertionError("production datapath rejected: " + e.getMessage(), e);
        }
    }

}
