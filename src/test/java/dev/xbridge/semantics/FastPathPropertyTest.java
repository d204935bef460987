package dev.xbridge.semantics;

import static org.assertj.core.api.Assertions.assertThat;

import dev.xbridge.bpf.BpfException;
import dev.xbridge.bpf.RunOptions;
import dev.xbridge.bpf.SkBuff;
import dev.xbridge.bpf.XdpMd;
import dev.xbridge.bridge.Datapath;
import dev.xbridge.bridge.DatapathBench;
import dev.xbridge.bridge.Decision;
import dev.xbridge.bridge.FdbKey;
import dev.xbridge.bridge.FdbValue;
import dev.xbridge.bridge.PortRecord;
import dev.xbridge.bridge.Reason;
import dev.xbridge.bridge.VlanKey;
import dev.xbridge.bridge.VlanValue;
import dev.xbridge.netlink.MacAddress;
import dev.xbridge.sys.Errno;
import dev.xbridge.sys.NetNamespace;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Differential property test: random bridge states and frames, including
 * malformed and odd ones, loaded into the real maps and run through the real
 * program with BPF_PROG_RUN; the program's verdict must equal what the
 * {@link FastPathContract} derives from the {@link KernelBridge} model.
 * Every frame goes through both entry points (XDP and TC) from the same
 * state, and their decisions must be equal.
 *
 * <p>Seed and size: {@code -Dxbridge.seed=N} (default fixed, printed) and
 * {@code -Dxbridge.cases=N} (default 100,000; more on demand). A mismatch is
 * shrunk to a minimal state and frame and printed as a reproducer.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FastPathPropertyTest {
    static final int BRIDGE = 77;
    static final int FRAMES_PER_STATE = 50;
    static final List<MacAddress> POOL = List.of(
            MacAddress.parse("02:00:00:00:00:01"), MacAddress.parse("02:00:00:00:00:02"),
            MacAddress.parse("02:00:00:00:00:03"), MacAddress.parse("02:00:00:00:00:04"),
            MacAddress.parse("02:00:00:00:00:05"), MacAddress.parse("06:11:22:33:44:55"));

    DatapathBench bench;
    NetNamespace inside;
    Datapath dp;
    final List<Integer> devices = new ArrayList<>();
    int tcCompared;
    int tcRefused;
    int tcInlineTag;
    final Map<Decision.Tag, Integer> tagChanges = new java.util.EnumMap<>(Decision.Tag.class);

    @BeforeAll
    void setUp() {
        bench = DatapathBench.open("xbt-prop", 4);
        inside = bench.inside();
        dp = bench.datapath();
        devices.addAll(bench.ports());
    }

    @AfterAll
    void tearDown() {
        if (bench != null) {
            bench.close();
        }
    }

    record Case(Model.Bridge bridge, Model.Port in, Model.Frame frame) {}

    record Mismatch(Case c, int expected, Decision actual, KernelBridge.Outcome kernel, byte[] out) {
        Mismatch(Case c, int expected, Decision actual, KernelBridge.Outcome kernel) {
            this(c, expected, actual, kernel, null);
        }
    }

    /** The XDP entry's decision and the frame it left behind. */
    record Run(Decision decision, byte[] out) {}

    @Test
    void theDatapathAgreesWithTheKernelModelOnRandomStatesAndFrames() {
        long seed = Long.getLong("xbridge.seed", 20261124L);
        int cases = Integer.getInteger("xbridge.cases", 100_000);
        System.out.printf("FastPathPropertyTest: seed %d, %d cases (-Dxbridge.seed, -Dxbridge.cases)%n", seed, cases);
        Random rnd = new Random(seed);
        Map<Reason, Integer> seen = new LinkedHashMap<>();
        int redirects = 0;
        for (int done = 0; done < cases; ) {
            Model.Bridge bridge = randomBridge(rnd);
            List<Case> batch = new ArrayList<>();
            for (int i = 0; i < FRAMES_PER_STATE && done < cases; i++, done++) {
                Model.Port in = bridge.ports().get(rnd.nextInt(bridge.ports().size()));
                Model.Frame aimed = rnd.nextInt(100) < 35 ? aimedFrame(rnd, bridge, in) : null;
                batch.add(new Case(bridge, in, aimed != null ? aimed : randomFrame(rnd, bridge)));
            }
            List<Run> runs = inside.call(() -> run(bridge, batch));
            for (int i = 0; i < batch.size(); i++) {
                Case c = batch.get(i);
                Decision d = runs.get(i).decision();
                seen.merge(d.reason(), 1, Integer::sum);
                if (d.action() == Decision.Action.REDIRECT) {
                    redirects++;
                }
                if (d.tag() != Decision.Tag.KEEP && d.action() == Decision.Action.REDIRECT) {
                    tagChanges.merge(d.tag(), 1, Integer::sum);
                }
                Mismatch m = check(c, d, runs.get(i).out());
                if (m != null) {
                    String where = "seed " + seed + ", case " + (done - batch.size() + i) + "\n";
                    Run alone = inside.call(() -> run(c.bridge(), List.of(c)).get(0));
                    if (check(c, alone.decision(), alone.out()) == null) {
                        throw new AssertionError(where + "the mismatch needs the " + i
                                + " frames before it in this state (the datapath changed a map):\n" + describe(m));
                    }
                    throw new AssertionError(where + describe(shrink(m)));
                }
            }
        }
        System.out.println("FastPathPropertyTest: verdicts " + seen + "; tag changes " + tagChanges
                + "; TC agreed with XDP on " + tcCompared + " frames (" + tcRefused
                + " runts the sk_buff test runner refuses, " + tcInlineTag
                + " with an inline tag TC leaves to the kernel)");
        assertThat(tcCompared).as("frames compared across entry points").isGreaterThan(cases * 9 / 10);
        assertThat(redirects).as("the generator reaches the fast path").isGreaterThan(cases / 50);
        assertThat(seen.keySet()).as("the generator reaches most rules")
                .contains(Reason.REDIRECT, Reason.PASS_BROADCAST, Reason.PASS_MULTICAST, Reason.PASS_LINK_LOCAL,
                        Reason.PASS_SRC_INVALID, Reason.PASS_SRC_UNKNOWN, Reason.PASS_SRC_MOVED,
                        Reason.PASS_DST_UNKNOWN, Reason.PASS_DST_LOCAL, Reason.PASS_NOT_FORWARDING,
                        Reason.PASS_EGRESS_BLOCKED, Reason.PASS_EGRESS_UNAVAILABLE, Reason.PASS_VLAN,
                        Reason.PASS_ISOLATED, Reason.PASS_PORT_KERNEL, Reason.PASS_SAME_PORT,
                        Reason.PASS_VLAN_INGRESS, Reason.PASS_VLAN_EGRESS, Reason.PASS_MALFORMED);
        assertThat(tagChanges.keySet()).as("redirects push, pop and rewrite VLAN tags")
                .contains(Decision.Tag.POP, Decision.Tag.PUSH, Decision.Tag.REWRITE);
    }

    Mismatch check(Case c, Decision d) {
        return check(c, d, null);
    }

    /**
     * With {@code out} (XDP's data_out), a redirect must also carry the frame the kernel's
     * egress port would transmit: the VLAN tag pushed, popped or rewritten as br_handle_vlan says.
     */
    Mismatch check(Case c, Decision d, byte[] out) {
        KernelBridge.Outcome o = KernelBridge.receive(c.bridge(), c.in(), c.frame());
        int expected = FastPathContract.expected(c.bridge(), c.in(), c.frame(), o);
        boolean ok = expected == FastPathContract.PASS
                ? d.action() == Decision.Action.PASS
                : d.action() == Decision.Action.REDIRECT && d.egress() == expected
                        && (out == null || java.util.Arrays.equals(out, o.out()));
        return ok ? null : new Mismatch(c, expected, d, o, out);
    }

    /** Loads {@code bridge} into the maps, as the Reconciler would, then runs every frame. */
    List<Run> run(Model.Bridge bridge, List<Case> cases) {
        load(bridge);
        List<Run> out = new ArrayList<>();
        for (Case c : cases) {
            byte[] frame = c.frame().bytes();
            var result = dp.xdpProgram().run(RunOptions.of(frame)
                    .withContext(XdpMd.forFrame(frame.length).ingressIfindex(c.in().ifindex())));
            Decision d = dp.lastDecision();
            Run xdp = new Run(d, result.dataOut());
            restoreMoved(bridge, c, d);
            try {
                dp.tcProgram().run(RunOptions.of(frame).withContext(SkBuff.receivedOn(c.in().ifindex())));
            } catch (BpfException e) {
                // The sk_buff test runner refuses some runts XDP's accepts (EINVAL; e.g. a
                // 17-byte IPv4 frame): nothing to compare for those.
                if (e.errno() != Errno.EINVAL) {
                    throw e;
                }
                tcRefused++;
                out.add(xdp);
                continue;
            }
            Decision tc = dp.lastDecision();
            restoreMoved(bridge, c, tc);
            if (!tc.equals(d)) {
                // BPF_PROG_RUN cannot put a tag in the sk_buff, where the stack puts it before TC
                // ingress: TC leaves a tag change on a tag in the data to the kernel.
                if (bridge.vlanFiltering() && c.frame().hasOuterTag() && d.action() == Decision.Action.REDIRECT
                        && d.tag() != Decision.Tag.KEEP && tc.reason() == Reason.PASS_VLAN) {
                    tcInlineTag++;
                    out.add(xdp);
                    continue;
                }
                throw new AssertionError("entry points disagree: XDP " + d + ", TC " + tc + "\n"
                        + describe(new Mismatch(c, FastPathContract.expected(c.bridge(), c.in(), c.frame(),
                                KernelBridge.receive(c.bridge(), c.in(), c.frame())), tc,
                                KernelBridge.receive(c.bridge(), c.in(), c.frame()))));
            }
            tcCompared++;
            out.add(xdp);
        }
        return out;
    }

    /**
     * The datapath forgets a source it sees behind another port, whatever the
     * frame's verdict (a broadcast too); every case must start from the
     * generated state, so the source's entry is put back after each run.
     */
    void restoreMoved(Model.Bridge bridge, Case c, Decision d) {
        Model.Fdb src = bridge.fdb().get(new Model.Key(d.vid(), c.frame().src()));
        if (src != null) {
            dp.putFdb(key(new Model.Key(d.vid(), c.frame().src())), value(src));
        }
    }

    void load(Model.Bridge bridge) {
        for (FdbKey k : dp.fdbEntries().keySet()) {
            dp.removeFdb(k);
        }
        for (VlanKey k : dp.vlanEntries().keySet()) {
            dp.removeVlan(k);
        }
        for (int dev : devices) {
            dp.removePort(dev);
        }
        for (int slot = 1; slot <= devices.size(); slot++) {
            dp.removeTxPort(slot);
        }
        int slot = 1;
        for (Model.Port p : bridge.ports()) {
            int flags = (p.learning() ? PortRecord.LEARNING : 0) | (p.isolated() ? PortRecord.ISOLATED : 0)
                    | (p.egress() ? PortRecord.EGRESS | PortRecord.XDP_EGRESS : 0);
            // Acceleration.stepAsideReasons
            if (p.locked() || p.mab() || p.proxyArp() || p.neighSuppress() || bridge.promiscuous()) {
                flags |= PortRecord.KERNEL;
            }
            // Reconciler.proxiesNeighbours
            if (bridge.ports().stream().anyMatch(q -> q.proxyArp() || q.neighSuppress())) {
                flags |= PortRecord.NEIGH;
            }
            if (bridge.vlanFiltering()) {
                flags |= PortRecord.VLAN;
                p.vlans().forEach((vid, v) -> dp.putVlan(new VlanKey(p.ifindex(), vid),
                        new VlanValue(v.untagged() ? VlanValue.UNTAGGED : 0, v.state())));
            }
            dp.putPort(p.ifindex(), new PortRecord(BRIDGE, slot, flags, p.state(), 0, 0,
                    bridge.vlanFiltering() ? p.pvid() : 0, bridge.vlanFiltering() ? bridge.vlanProtocol() : 0));
            if (p.egress()) {
                dp.putTxPort(slot, p.ifindex());
            }
            slot++;
        }
        bridge.fdb().forEach((k, e) -> dp.putFdb(key(k), value(e)));
    }

    static FdbKey key(Model.Key k) {
        return new FdbKey(BRIDGE, k.vid(), k.mac());
    }

    /** Reconciler.mirror */
    static FdbValue value(Model.Fdb e) {
        int flags = (e.local() ? FdbValue.LOCAL : 0) | (e.dynamic() && !e.local() ? FdbValue.REFRESH : 0)
                | (e.sticky() ? FdbValue.STICKY : 0);
        return new FdbValue(e.port(), flags, 0);
    }

    // ---- generators ----

    /** VLANs the generated bridges use; frames also carry 0 (priority tag), 30 (no member) and 4095. */
    static final int[] VIDS = {1, 10, 20};

    Model.Bridge randomBridge(Random r) {
        List<Integer> devs = new ArrayList<>(devices);
        java.util.Collections.shuffle(devs, r);
        int n = 2 + r.nextInt(devs.size() - 1);
        boolean filtering = r.nextInt(100) < 40;
        List<Model.Port> ports = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int state = r.nextInt(10) < 7 ? Model.FORWARDING : r.nextInt(5);
            Map<Integer, Model.Vlan> vlans = new HashMap<>();
            int pvid = 0;
            if (filtering) {
                for (int vid : VIDS) {
                    if (r.nextInt(100) < 75) {
                        int vstate = r.nextInt(100) < 85 ? Model.FORWARDING : r.nextInt(5);
                        vlans.put(vid, new Model.Vlan(r.nextBoolean(), vstate));
                    }
                }
                List<Integer> members = new ArrayList<>(vlans.keySet());
                if (!members.isEmpty() && r.nextInt(100) < 85) {
                    pvid = members.get(r.nextInt(members.size()));
                }
            }
            ports.add(new Model.Port(devs.get(i), state, r.nextInt(100) < 85, r.nextInt(100) < 15,
                    r.nextInt(100) < 15, r.nextInt(100) < 4, r.nextInt(100) < 3, r.nextInt(100) < 4,
                    r.nextInt(100) < 4, r.nextInt(100) < 85, pvid, Map.copyOf(vlans)));
        }
        Map<Model.Key, Model.Fdb> fdb = new HashMap<>();
        for (MacAddress mac : POOL) {
            for (int vid : filtering ? VIDS : new int[] {0}) {
                if (r.nextInt(100) < (filtering ? 55 : 75)) {
                    boolean local = r.nextInt(100) < 8;
                    int port = local && r.nextBoolean() ? 0 : ports.get(r.nextInt(n)).ifindex();
                    fdb.put(new Model.Key(vid, mac),
                            new Model.Fdb(port, local, !local && r.nextInt(100) < 10, !local && r.nextInt(100) < 80));
                }
            }
        }
        int protocol = r.nextInt(100) < 75 ? Model.ETH_P_8021Q : Model.ETH_P_8021AD;
        return new Model.Bridge(r.nextInt(100) < 5, filtering, protocol, List.copyOf(ports), Map.copyOf(fdb));
    }

    /**
     * A frame aimed at the fast path: from a MAC the FDB has behind {@code in}, to one it has
     * behind another port, in the same VLAN, tagged or untagged as that VLAN allows (any PCP), so
     * the generated states' flags and VLAN memberships decide. Null when the FDB has no such pair.
     */
    Model.Frame aimedFrame(Random r, Model.Bridge bridge, Model.Port in) {
        List<Model.Key> fromIn = bridge.fdb().entrySet().stream()
                .filter(e -> e.getValue().port() == in.ifindex() && !e.getValue().local())
                .map(Map.Entry::getKey).sorted(java.util.Comparator.comparing(Model.Key::toString)).toList();
        if (fromIn.isEmpty()) {
            return null;
        }
        Model.Key from = fromIn.get(r.nextInt(fromIn.size()));
        List<Model.Key> to = bridge.fdb().keySet().stream()
                .filter(k -> k.vid() == from.vid() && !k.equals(from))
                .sorted(java.util.Comparator.comparing(Model.Key::toString)).toList();
        if (to.isEmpty()) {
            return null;
        }
        Model.Key dst = to.get(r.nextInt(to.size()));
        // Now and then nothing after the ethertype: a tag to pop leaves a bare Ethernet header.
        int payload = r.nextInt(20) == 0 ? 0 : 46 + r.nextInt(60);
        boolean tag = bridge.vlanFiltering() && (from.vid() != in.pvid() || r.nextInt(100) < 30);
        ByteBuffer b = ByteBuffer.allocate(14 + (tag ? 4 : 0) + payload);
        b.put(dst.mac().bytes()).put(from.mac().bytes());
        if (tag) {
            // Usually the entry's VLAN; sometimes a priority tag, which the PVID classifies.
            int vid = from.vid() == in.pvid() && r.nextBoolean() ? 0 : from.vid();
            b.putShort((short) bridge.vlanProtocol()).putShort((short) ((r.nextInt(16) << 12) | vid));
        }
        b.putShort((short) (r.nextInt(4) == 0 ? 0x0806 : 0x0800));
        while (b.hasRemaining()) {
            b.put((byte) r.nextInt(256));
        }
        return new Model.Frame(b.array());
    }

    Model.Frame randomFrame(Random r, Model.Bridge bridge) {
        MacAddress dst = randomMac(r, true);
        MacAddress src = randomMac(r, false);
        int roll = r.nextInt(100);
        int ethertype;
        if (roll < 40) {
            ethertype = 0x0800;
        } else if (roll < 48) {
            ethertype = 0x0806;
        } else if (roll < 55) {
            ethertype = 0x86dd;
        } else if (roll < 70) {
            ethertype = 0x8100;
        } else if (roll < 78) {
            ethertype = 0x88a8;
        } else if (roll < 84) {
            ethertype = 0x0026; // 802.3 length: an LLC frame
        } else if (roll < 88) {
            ethertype = r.nextBoolean() ? 0x88e3 : 0x8902; // MRP, CFM
        } else {
            ethertype = r.nextInt(0x10000);
        }
        int len = switch (r.nextInt(10)) {
            case 0 -> 14 + r.nextInt(5); // headers only: truncated VLAN tags, and a tag with nothing after it
            case 1 -> 1514;
            default -> 60 + r.nextInt(100);
        };
        ByteBuffer b = ByteBuffer.allocate(len);
        b.put(dst.bytes()).put(src.bytes()).putShort((short) ethertype);
        while (b.hasRemaining()) {
            b.put((byte) r.nextInt(256));
        }
        boolean tagged = (ethertype == 0x8100 || ethertype == 0x88a8) && len >= 18;
        if (tagged && r.nextInt(100) < 80) {
            // A VID the bridge knows, a priority tag, one no port has, or the reserved 4095; any PCP and DEI.
            int vidRoll = r.nextInt(100);
            int vid = vidRoll < 65 ? VIDS[r.nextInt(VIDS.length)] : vidRoll < 85 ? 0 : vidRoll < 95 ? 30 : 4095;
            b.putShort(14, (short) ((r.nextInt(16) << 12) | vid));
        }
        if (tagged && len >= 18) {
            int inner = r.nextInt(100);
            if (inner < 20) {
                b.putShort(16, (short) (r.nextBoolean() ? 0x8100 : 0x88a8)); // stacked tags
            } else if (inner < 60) {
                b.putShort(16, (short) 0x0800);
            } else if (inner < 70) {
                b.putShort(16, (short) 0x0806);
            } else if (inner < 80) {
                b.putShort(16, (short) 0x86dd);
                if (len > 58 && r.nextBoolean()) {
                    b.put(24, (byte) 58);
                    b.put(58, (byte) (133 + r.nextInt(5)));
                }
            }
        }
        if (ethertype == 0x86dd && len > 54 && r.nextInt(3) == 0) {
            b.put(20, (byte) 58); // ICMPv6 ...
            b.put(54, (byte) (133 + r.nextInt(5))); // ... router/neighbour solicitation/advertisement, redirect
        }
        return new Model.Frame(b.array());
    }

    static MacAddress randomMac(Random r, boolean destination) {
        int roll = r.nextInt(100);
        if (roll < (destination ? 60 : 75)) {
            return POOL.get(r.nextInt(POOL.size()));
        }
        if (roll < 80) {
            return destination ? MacAddress.parse("ff:ff:ff:ff:ff:ff") : MacAddress.parse("00:00:00:00:00:00");
        }
        if (roll < 86) {
            return r.nextBoolean() ? MacAddress.parse("01:00:5e:00:00:fb") : MacAddress.parse("33:33:00:00:00:01");
        }
        if (roll < 92) {
            return MacAddress.parse(String.format("01:80:c2:00:00:%02x", r.nextInt(0x20)));
        }
        byte[] mac = new byte[6];
        r.nextBytes(mac);
        mac[0] &= (byte) 0xfe; // unicast, may be locally administered or not
        return MacAddress.of(mac);
    }

    // ---- shrinking and reporting ----

    /** Greedily removes what the mismatch does not need: FDB entries, other ports, port flags, frame bytes. */
    Mismatch shrink(Mismatch m) {
        boolean progress = true;
        while (progress) {
            progress = false;
            for (Case smaller : smaller(m.c())) {
                Run d = inside.call(() -> run(smaller.bridge(), List.of(smaller)).get(0));
                Mismatch again = check(smaller, d.decision(), d.out());
                if (again != null) {
                    m = again;
                    progress = true;
                    break;
                }
            }
        }
        return m;
    }

    List<Case> smaller(Case c) {
        List<Case> out = new ArrayList<>();
        Model.Bridge b = c.bridge();
        for (Model.Key key : b.fdb().keySet()) {
            Map<Model.Key, Model.Fdb> fdb = new HashMap<>(b.fdb());
            fdb.remove(key);
            out.add(new Case(b.withFdb(Map.copyOf(fdb)), c.in(), c.frame()));
        }
        for (Model.Port p : b.ports()) {
            boolean used = p.ifindex() == c.in().ifindex()
                    || b.fdb().values().stream().anyMatch(e -> e.port() == p.ifindex());
            if (!used && b.ports().size() > 1) {
                List<Model.Port> ports = new ArrayList<>(b.ports());
                ports.remove(p);
                out.add(new Case(b.withPorts(List.copyOf(ports)), c.in(), c.frame()));
            }
            for (Integer vid : p.vlans().keySet()) {
                Map<Integer, Model.Vlan> vlans = new HashMap<>(p.vlans());
                vlans.remove(vid);
                Model.Port q = new Model.Port(p.ifindex(), p.state(), p.learning(), p.isolated(), p.hairpin(),
                        p.locked(), p.mab(), p.proxyArp(), p.neighSuppress(), p.egress(),
                        p.pvid() == vid ? 0 : p.pvid(), Map.copyOf(vlans));
                List<Model.Port> ports = new ArrayList<>(b.ports());
                ports.set(ports.indexOf(p), q);
                out.add(new Case(b.withPorts(List.copyOf(ports)), p == c.in() ? q : c.in(), c.frame()));
            }
        }
        if (b.promiscuous()) {
            out.add(new Case(new Model.Bridge(false, b.vlanFiltering(), b.vlanProtocol(), b.ports(), b.fdb()),
                    c.in(), c.frame()));
        }
        if (c.frame().bytes().length > 60) {
            out.add(new Case(b, c.in(), new Model.Frame(java.util.Arrays.copyOf(c.frame().bytes(), 60))));
        }
        return out;
    }

    static String describe(Mismatch m) {
        StringBuilder sb = new StringBuilder("minimal reproducer:\n");
        sb.append("  bridge").append(m.c().bridge().promiscuous() ? " (promiscuous)" : "")
                .append(m.c().bridge().vlanFiltering()
                        ? String.format(" vlan_filtering 1 vlan_protocol 0x%04x", m.c().bridge().vlanProtocol()) : "")
                .append('\n');
        m.c().bridge().ports().forEach(p -> sb.append("    ").append(p).append('\n'));
        m.c().bridge().fdb().forEach((mac, e) -> sb.append("    fdb ").append(mac).append(" -> ").append(e).append('\n'));
        sb.append("  frame on port ").append(m.c().in().ifindex()).append(": ").append(m.c().frame()).append('\n');
        sb.append("  kernel model: ").append(m.kernel()).append('\n');
        sb.append("  contract expects: ").append(m.expected() == FastPathContract.PASS ? "pass" : "redirect to " + m.expected())
                .append('\n');
        sb.append("  datapath did: ").append(m.actual()).append('\n');
        if (m.out() != null) {
            sb.append("  datapath frame out: ").append(java.util.HexFormat.of().formatHex(m.out(), 0,
                    Math.min(m.out().length, 24))).append('\n');
        }
        return sb.toString();
    }
}
