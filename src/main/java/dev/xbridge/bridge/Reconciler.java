package dev.xbridge.bridge;

import dev.xbridge.bpf.BpfBatchException;
import dev.xbridge.netlink.BridgePortInfo;
import dev.xbridge.netlink.FdbEntry;
import dev.xbridge.netlink.PortVlan;
import dev.xbridge.sys.Errno;
import dev.xbridge.sys.SysException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;
import java.util.logging.Logger;

/**
 * Turns the kernel's bridge state into datapath state: one entry per port in
 * the ports map, a hook (native XDP or TC) per port, devmap targets, and the
 * FDB mirror.
 *
 * <p>Ordering keeps the datapath exact during changes: a port becomes an XDP
 * redirect target only after its peer can receive (GRO on, devmap entry
 * written, then the XDP_EGRESS flag), and stops being one in the reverse
 * order. A port that changes hook gets the new hook attached before the old
 * one is detached: while both are there, XDP runs first and TC sees only the
 * frames XDP passed, which the same decision core passes again, so no frame
 * is handled twice and none falls between. A stale FDB entry that points at
 * a port no longer known is harmless: the datapath hands such frames to the
 * kernel (XB_PASS_EGRESS_UNAVAILABLE).
 *
 * <p>Single-threaded: the daemon's event loop owns it. {@link #ports()}
 * returns an immutable snapshot that other threads may read.
 */
public final class Reconciler implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(Reconciler.class.getName());

    private final Datapath datapath;
    private final boolean agingSamples;
    private final VethPeers peers;
    private final Acceleration policy;
    private final TcAttach tcAttach;
    private final Map<Integer, Attached> attached = new HashMap<>();
    private final BitSet slots = new BitSet(Datapath.MAX_PORTS);
    private int nextSlot = 1;
    /** Read by the control thread for status; replaced, never mutated. */
    private volatile KernelState state = KernelState.empty();
    private volatile List<PortView> views = List.of();
    private volatile long fdbWriteFailures;
    /** Nothing has written to the FDB map since the datapath created it: the first sync fills it ({@link #fillFdb}). */
    private boolean fdbMapFresh = true;
    /** What netfilter would see; null until the daemon has read it. */
    private Netfilter.Snapshot netfilter;
    /** Reads what tc does on a port ({@link TcRules}); by default nothing is read and nothing counts. */
    private TcRules.Reader tcReader = port -> TcRules.NONE;

    /** Runtime facts of a port the reconciler has seen. */
    private static final class Attached {
        final int slot;
        Peer peer;
        TcRules tc;
        PortPlan plan;
        Hook hook;
        PortRecord written;
        boolean xdpEgress;
        /** GRO was turned off at the peer after xbridge made the port an XDP target: respected from then on. */
        boolean groTurnedOff;
        String warned;
        /** The port's entries in the port_vlans map, by VID. */
        final Map<Integer, VlanValue> vlans = new HashMap<>();

        Attached(int slot) {
            this.slot = slot;
        }
    }

    public Reconciler(Datapath datapath, VethPeers peers, Acceleration policy) {
        this(datapath, peers, policy, TcAttach.AUTO, true);
    }

    /**
     * @param datapath freshly loaded: nothing else writes its FDB map, and this reconciler's
     *     first FDB sync fills it without reading it first ({@link #fillFdb})
     * @param agingSamples let the datapath hand the kernel one frame per source and period, so
     *     the kernel keeps fast-pathed entries from aging; off only to show why it is needed
     */
    public Reconciler(Datapath datapath, VethPeers peers, Acceleration policy, TcAttach tcAttach,
            boolean agingSamples) {
        this.datapath = datapath;
        this.peers = peers;
        this.policy = policy;
        this.tcAttach = tcAttach;
        this.agingSamples = agingSamples;
        slots.set(0); // slot 0 counts frames from non-ports
    }

    public KernelState state() {
        return state;
    }

    public List<PortView> ports() {
        return views;
    }

    public long fdbWriteFailures() {
        return fdbWriteFailures;
    }

    /**
     * Brings ports to {@code next}. With {@code reprobe}, every veth peer is
     * looked at again (its offloads or MTU may have changed; no event says so).
     *
     * @return true when a bridge appeared, so the caller should resync the FDB
     */
    public boolean apply(KernelState next, boolean reprobe) {
        Set<Integer> oldBridges = new HashSet<>();
        state.bridges().forEach(b -> oldBridges.add(b.index()));
        state = next;
        Set<Integer> present = new HashSet<>();
        List<Port> known = new ArrayList<>();
        for (Port port : next.ports()) {
            Optional<Bridge> bridge = next.bridge(port.bridge());
            if (bridge.isEmpty()) {
                continue;
            }
            present.add(port.index());
            if (hook(bridge.get(), port, reprobe)) {
                known.add(port);
            }
        }
        // XDP redirect targets are needed only on bridges where some port runs XDP.
        records(known);
        for (Integer gone : List.copyOf(attached.keySet())) {
            if (!present.contains(gone)) {
                remove(gone);
            }
        }
        boolean newBridge = false;
        for (Bridge b : next.bridges()) {
            if (!oldBridges.contains(b.index())) {
                newBridge = true;
            }
        }
        for (Integer old : oldBridges) {
            if (next.bridge(old).isEmpty()) {
                purgeBridge(old);
            }
        }
        publish();
        return newBridge;
    }

    /**
     * Takes a new reading of netfilter and re-plans every port when it
     * changed: a bridge whose forwarded frames netfilter sees steps aside.
     */
    public void setNetfilter(Netfilter.Snapshot snapshot) {
        if (snapshot.equals(netfilter)) {
            return;
        }
        netfilter = snapshot;
        apply(state, false);
    }

    /** Where tc state comes from: the daemon reads it over rtnetlink and BPF_PROG_QUERY. */
    public void setTcReader(TcRules.Reader reader) {
        this.tcReader = reader;
    }

    /**
     * Reads the port's tc state again after the kernel announced a qdisc or
     * filter change on it (RTNLGRP_TC), and re-plans the port when it changed.
     */
    public void tcChanged(int index) {
        Optional<Port> port = state.port(index);
        Attached a = attached.get(index);
        if (port.isEmpty() || a == null) {
            return;
        }
        TcRules now = tcReader.read(port.get());
        if (now.equals(a.tc)) {
            return;
        }
        a.tc = now;
        replan(index, false);
    }

    /**
     * Looks at one port's veth peer again and applies what changed. The
     * daemon calls this one port at a time, so a round of probes never holds
     * up kernel events for more than one probe. The port's hook may change,
     * and with it whether its bridge has an XDP port, so every port of the
     * bridge is written again (unchanged entries are skipped).
     */
    public void reprobe(int index) {
        replan(index, true);
    }

    private void replan(int index, boolean reprobe) {
        Optional<Port> port = state.port(index);
        Optional<Bridge> bridge = port.flatMap(p -> state.bridge(p.bridge()));
        if (port.isEmpty() || bridge.isEmpty() || !attached.containsKey(index)) {
            return;
        }
        hook(bridge.get(), port.get(), reprobe);
        List<Port> same = new ArrayList<>();
        for (Port p : state.ports()) {
            if (p.bridge() == port.get().bridge() && attached.containsKey(p.index())) {
                same.add(p);
            }
        }
        records(same);
        publish();
    }

    /** Writes the map entries of {@code ports}, each knowing whether its bridge has an XDP port. */
    private void records(List<Port> ports) {
        Set<Integer> xdpBridges = new HashSet<>();
        for (Port port : ports) {
            Attached a = attached.get(port.index());
            if (a.hook != null && a.hook.kind() == Hook.Kind.XDP) {
                xdpBridges.add(port.bridge());
            }
        }
        for (Port port : ports) {
            record(state.bridge(port.bridge()).orElseThrow(), port, xdpBridges.contains(port.bridge()));
        }
    }

    /** Plans the port and puts the planned hook on it. False when the port got no slot. */
    private boolean hook(Bridge bridge, Port port, boolean reprobe) {
        Attached a = attached.get(port.index());
        if (a == null) {
            // Round robin, so a freed slot is reused as late as possible (xbridge.h).
            int slot = slots.nextClearBit(nextSlot);
            if (slot >= Datapath.MAX_PORTS) {
                slot = slots.nextClearBit(1);
            }
            if (slot >= Datapath.MAX_PORTS) {
                LOG.warning(() -> "no stats slot left for " + port.name() + "; more than "
                        + (Datapath.MAX_PORTS - 1) + " ports");
                return false;
            }
            slots.set(slot);
            nextSlot = slot + 1;
            datapath.resetStats(slot);
            a = new Attached(slot);
            attached.put(port.index(), a);
            removeStaleFilter(port);
        }
        if (a.peer == null || reprobe) {
            a.peer = port.isVeth() ? peers.probe(port, state) : Peer.missing("not a veth");
        }
        if (a.tc == null || reprobe) {
            a.tc = tcReader.read(port); // tcx programs raise no event: the periodic reprobe finds them
        }
        PortPlan plan = attach(a, port, a.tc.apply(policy.plan(bridge, port, a.peer, bridgeAside(bridge, port))));
        a.plan = plan;
        if (plan.warning() != null && !plan.warning().equals(a.warned)) {
            LOG.warning(port.name() + ": " + plan.warning());
        }
        a.warned = plan.warning();
        return true;
    }

    /**
     * Why the kernel must see every frame from this port, for reasons the daemon knows and
     * the policy does not: netfilter would see the bridge's frames, or (VLAN filtering) the
     * port's VLANs are unknown, with which the datapath could only pass them.
     */
    private Optional<String> bridgeAside(Bridge bridge, Port port) {
        List<String> why = new ArrayList<>();
        if (netfilter != null) {
            Netfilter.reason(netfilter, bridge.link().bridge()).ifPresent(why::add);
        }
        if (bridge.vlanFiltering() && !state.vlansKnown(port.index())) {
            why.add(state.vlanProblem() != null ? "VLAN database unreadable: " + state.vlanProblem()
                    : "VLANs of " + port.name() + " not read yet");
        }
        return why.isEmpty() ? Optional.empty() : Optional.of(String.join("; ", why));
    }

    /** A cls_bpf filter of a daemon killed without cleanup would forward with maps nobody updates. */
    private void removeStaleFilter(Port port) {
        try {
            if (Datapath.removeStaleFilter(port.index())) {
                LOG.warning(() -> "removed an xbridge_tc filter left on " + port.name() + " by an earlier run");
            }
        } catch (RuntimeException e) {
            LOG.info(() -> "could not check " + port.name() + " for a stale xbridge filter: " + e.getMessage());
        }
    }

    /** Writes the port's map entry and its XDP-target state. */
    private void record(Bridge bridge, Port port, boolean bridgeHasXdp) {
        Attached a = attached.get(port.index());
        PortPlan plan = a.plan;
        int flags = 0;
        BridgePortInfo info = port.info();
        if (info != null && info.learning()) {
            flags |= PortRecord.LEARNING;
        }
        if (info != null && info.isolated()) {
            flags |= PortRecord.ISOLATED;
        }
        if (plan.stepAside()) {
            flags |= PortRecord.KERNEL;
        }
        if (state.ports(bridge.index()).stream().anyMatch(Reconciler::proxiesNeighbours)) {
            flags |= PortRecord.NEIGH;
        }
        int pvid = 0;
        int vlanProtocol = 0;
        Map<Integer, VlanValue> vlans = Map.of();
        if (bridge.vlanFiltering()) {
            flags |= PortRecord.VLAN;
            vlanProtocol = bridge.link().bridge().vlanProtocol();
            vlans = new HashMap<>();
            for (PortVlan v : state.vlans(port.index())) {
                vlans.put(v.vid(), new VlanValue(v.untagged() ? VlanValue.UNTAGGED : 0, v.state()));
                if (v.pvid()) {
                    pvid = v.vid();
                }
            }
        }
        if (!plan.attached() && !plan.egress()) {
            vlans = Map.of();
        }
        // Members first, so a port record naming a VLAN never finds it missing (that would only pass, anyway).
        writeVlans(port.index(), a, vlans, true);
        if (plan.egress()) {
            flags |= PortRecord.EGRESS;
            if (plan.peer()) {
                flags |= PortRecord.PEER;
            }
        }
        // An XDP frame can go only to a veth whose peer runs NAPI (GRO on) and that is in the devmap.
        boolean wantXdpEgress = bridgeHasXdp && plan.egress() && port.isVeth() && a.peer.found();
        if (wantXdpEgress && a.xdpEgress && !a.peer.gro() && !a.groTurnedOff) {
            // Someone turned GRO off at the peer after xbridge arranged it. XDP frames redirected
            // there would be dropped (veth_xdp_xmit needs the peer's NAPI): stop redirecting XDP
            // frames there rather than override the setting. TC ports still forward to it.
            a.groTurnedOff = true;
            peers.forget(port.index());
        }
        if (a.groTurnedOff) {
            wantXdpEgress = false;
            a.plan = new PortPlan(plan.hook(), plan.stepAside(), plan.egress(), plan.peer(), plan.reason(),
                    "GRO was turned off at " + a.peer.where() + ", so XDP ports no longer redirect to it"
                            + " (frames from them go through the kernel)");
            if (!a.plan.warning().equals(a.warned)) {
                LOG.warning(port.name() + ": " + a.plan.warning());
                a.warned = a.plan.warning();
            }
        }
        if (wantXdpEgress) {
            try {
                peers.ensureGro(port.index(), a.peer);
                // Keep the peer as it now is: a stale probe saying GRO off would read as someone
                // having turned it off (seen on the 6.1 guest, where a link event came first).
                a.peer = a.peer.withGroOn();
                datapath.putTxPort(a.slot, port.index());
                flags |= PortRecord.XDP_EGRESS;
                a.xdpEgress = true;
            } catch (RuntimeException e) {
                LOG.warning(() -> port.name() + " cannot receive XDP-redirected frames: " + e.getMessage());
                wantXdpEgress = false;
            }
        }
        if (!plan.attached() && !plan.egress()) {
            if (a.written != null) {
                datapath.removePort(port.index());
                a.written = null;
            }
        } else {
            PortRecord record = new PortRecord(bridge.index(), a.slot, flags, port.state().value(),
                    port.link().mtu(), agingSamples ? samplePeriodMillis(bridge) : 0, pvid, vlanProtocol);
            if (!record.equals(a.written)) {
                datapath.putPort(port.index(), record);
                a.written = record;
            }
        }
        if (a.xdpEgress && !wantXdpEgress) {
            datapath.removeTxPort(a.slot);
            if (peers.changedGro(port.index())) {
                peers.restore(port.index());
                // Else a port that becomes a target again before the next probe (a qdisc
                // added and removed) would find GRO "on" and leave the peer without NAPI.
                a.peer = a.peer.withGroOff();
            }
            a.xdpEgress = false;
        }
        writeVlans(port.index(), a, vlans, false);
    }

    /**
     * Brings the port's entries in the port_vlans map to {@code want}: with {@code adding},
     * only new and changed ones (before the port record); otherwise only removals (after it).
     * A failed write leaves the VLAN out, which makes the datapath pass its frames.
     */
    private void writeVlans(int ifindex, Attached a, Map<Integer, VlanValue> want, boolean adding) {
        if (adding) {
            for (Map.Entry<Integer, VlanValue> w : want.entrySet()) {
                if (!w.getValue().equals(a.vlans.get(w.getKey()))) {
                    try {
                        datapath.putVlan(new VlanKey(ifindex, w.getKey()), w.getValue());
                        a.vlans.put(w.getKey(), w.getValue());
                    } catch (SysException e) {
                        LOG.warning(() -> "VLAN " + w.getKey() + " of ifindex " + ifindex + " not mirrored: "
                                + e.getMessage());
                    }
                }
            }
            return;
        }
        for (Integer vid : List.copyOf(a.vlans.keySet())) {
            if (!want.containsKey(vid)) {
                datapath.removeVlan(new VlanKey(ifindex, vid));
                a.vlans.remove(vid);
            }
        }
    }

    /**
     * Puts the planned hook on the port, the new one before the old one goes. A failed
     * XDP attach falls back to TC (exact everywhere); a failed TC attach leaves the port
     * to the kernel. Either way the plan then says why.
     */
    private PortPlan attach(Attached a, Port port, PortPlan plan) {
        Hook.Kind want = plan.hook();
        Hook.Kind have = a.hook == null ? null : a.hook.kind();
        if (want == have) {
            return plan;
        }
        Hook next = null;
        if (want == Hook.Kind.XDP) {
            int other = port.link().xdpProgId();
            String why = null;
            if (other != 0 && have != Hook.Kind.XDP) {
                why = "another XDP program (id " + other + ") is attached to " + port.name();
            } else {
                try {
                    next = datapath.attachXdpHook(port.index());
                } catch (SysException e) {
                    why = e.errno() == Errno.ERANGE
                            ? "peer MTU too large for native XDP on veth without xdp.frags"
                            : "XDP attach failed: " + e.getMessage();
                }
            }
            if (next == null) {
                plan = plan.withHook(Hook.Kind.TC, "TC: " + why);
                want = Hook.Kind.TC;
                if (want == have) {
                    return plan;
                }
            }
        }
        if (want == Hook.Kind.TC) {
            try {
                next = datapath.attachTc(port.index(), tcAttach);
            } catch (SysException e) {
                plan = plan.withHook(null, "TC attach failed, left to the kernel: " + e.getMessage());
            }
        }
        Hook old = a.hook;
        a.hook = next;
        Hook attachedNow = next;
        if (next != null) {
            LOG.info(() -> "attached " + attachedNow + " to " + port.name());
        }
        if (old != null) {
            close(old, port.name());
        }
        return plan;
    }

    private static void close(Hook hook, String port) {
        try {
            hook.close();
            LOG.info(() -> "detached " + hook + " from " + port);
        } catch (RuntimeException e) {
            LOG.info(() -> "detach " + hook + " from " + port + ": " + e.getMessage());
        }
    }

    private void remove(int index) {
        Attached a = attached.remove(index);
        if (a == null) {
            return;
        }
        if (a.hook != null) {
            close(a.hook, "ifindex " + index);
        }
        datapath.removePort(index);
        datapath.removeTxPort(a.slot);
        writeVlans(index, a, Map.of(), false);
        peers.restore(index);
        slots.clear(a.slot);
    }

    private void purgeBridge(int bridge) {
        int removed;
        try (Arena arena = Arena.ofConfined()) {
            KeyBuffer gone = new KeyBuffer(arena, datapath);
            datapath.scanFdb(FDB_BATCH, (keys, values, n) -> {
                for (int i = 0; i < n; i++) {
                    long k = (long) i * FdbKey.SIZE;
                    if (FdbKey.bridge(keys, k) == bridge) {
                        gone.add(keys, k);
                    }
                }
                gone.flush();
            });
            removed = gone.removed;
        }
        LOG.info(() -> "bridge ifindex " + bridge + " gone: removed " + removed + " FDB entries");
    }

    private void publish() {
        List<PortView> out = new ArrayList<>();
        for (Port port : state.ports()) {
            Attached a = attached.get(port.index());
            Optional<Bridge> bridge = state.bridge(port.bridge());
            if (a == null || a.plan == null || bridge.isEmpty()) {
                continue;
            }
            String warning = a.plan.warning();
            String reason = warning != null ? "WARNING: " + warning : a.plan.reason();
            out.add(new PortView(bridge.get().name(), bridge.get().index(), port.name(), port.index(),
                    port.state(), a.hook != null ? a.hook.kind().key() : "none", a.hook != null ? a.hook.mode() : "",
                    a.plan.egress(), a.plan.stepAside(), reason, a.slot,
                    a.hook != null ? a.hook.programId() : 0, a.peer, peers.changedGro(port.index())));
        }
        views = List.copyOf(out);
    }

    /**
     * br_do_proxy_suppress_arp() and br_do_suppress_nd() act on ARP/ND from
     * any port when some port of the bridge proxies or suppresses (the
     * target's port flags are read too).
     */
    static boolean proxiesNeighbours(Port p) {
        BridgePortInfo i = p.info();
        return i != null && (i.proxyArp() || i.proxyArpWifi() || i.neighSuppress());
    }

    /**
     * A tenth of the bridge's ageing_time: an active entry is refreshed at
     * least ten times before it could expire, and ages at most a tenth early
     * once its traffic stops. 30 s when the kernel did not say (its default
     * ageing_time is 300 s); at least 1 ms (ageing_time 0 expires entries at
     * once anyway).
     */
    static int samplePeriodMillis(Bridge bridge) {
        long centis = bridge.ageingCentis();
        if (centis < 0) {
            return 30_000;
        }
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, centis)); // centiseconds * 10 ms / 10
    }

    // ---- FDB ----

    /** Entries per bpf(2) batch call in a resync: 4,096 keys and values are 112 KiB of native memory. */
    static final int FDB_BATCH = 4096;

    /** A source of FDB entries that hands each to a consumer, e.g. {@code RtNetlink::fdb} streaming a dump. */
    @FunctionalInterface
    public interface FdbSource {
        void forEach(Consumer<FdbEntry> each);
    }

    /** The map entry an FDB entry mirrors to, or empty when it is not the bridge's (NTF_SELF) or unknown. */
    public Optional<Map.Entry<FdbKey, FdbValue>> mirror(FdbEntry e) {
        int bridge = mirroredBridge(e);
        if (bridge == 0) {
            return Optional.empty();
        }
        return Optional.of(Map.entry(new FdbKey(bridge, e.vlan(), e.mac()),
                new FdbValue(mirroredPort(e, bridge), mirroredFlags(e), 0)));
    }

    /** The bridge whose map entry {@code e} mirrors to, or 0 when it is not the bridge's (NTF_SELF) or unknown. */
    private int mirroredBridge(FdbEntry e) {
        if (!e.isBridgeEntry()) {
            return 0;
        }
        int bridge = e.bridgeIndex();
        return state.bridge(bridge).isPresent() ? bridge : 0;
    }

    private static int mirroredPort(FdbEntry e, int bridge) {
        return e.ifindex() == bridge ? 0 : e.ifindex();
    }

    /** The FdbValue flags the mirror of {@code e} carries. */
    public static int mirroredFlags(FdbEntry e) {
        int flags = 0;
        if (e.isLocal()) {
            flags |= FdbValue.LOCAL;
        }
        // br_fdb_cleanup() ages only entries neither static nor externally learned.
        if (e.isDynamic() && !e.isExternLearned()) {
            flags |= FdbValue.REFRESH;
        }
        if (e.isSticky()) {
            flags |= FdbValue.STICKY;
        }
        return flags;
    }

    public void fdbChanged(FdbEntry e) {
        mirror(e).ifPresent(m -> {
            Optional<FdbValue> old = datapath.fdb(m.getKey());
            if (old.isPresent() && old.get().sameAs(m.getValue())) {
                return; // a refresh notification: keep the datapath's seen time
            }
            write(m.getKey(), m.getValue());
        });
    }

    public void fdbDeleted(FdbEntry e) {
        mirror(e).ifPresent(m -> datapath.removeFdb(m.getKey()));
    }

    /** Makes the FDB map equal to {@code entries} (a fresh dump). Returns how many writes and deletes it made. */
    public int resyncFdb(List<FdbEntry> entries) {
        return resyncFdb(entries::forEach);
    }

    /**
     * Makes the FDB map equal to the mirror of what {@code dump} hands over (a fresh dump,
     * streamed). Returns how many writes and deletes it made.
     *
     * <p>Nothing is held per entry but a packed slot ({@link PackedFdb}): the dump is folded
     * into the table as it arrives, the map is read back in batches (bpf_map_lookup_batch)
     * and compared in place, entries the dump did not have are deleted per batch, and only
     * the new and changed entries are written, again in batches. An entry whose port and
     * flags are already right is left alone, keeping the datapath's {@code sampled_ns}. If
     * {@code dump} throws (an interrupted dump), the map has not been touched.
     *
     * <p>The first sync into the map, which is empty then, is a fill instead ({@link #fillFdb}):
     * it writes as the dump goes, and counts each write.
     */
    public int resyncFdb(FdbSource dump) {
        return syncFdb(dump, true);
    }

    /**
     * Writes what {@code dump} has and the map lacks or holds otherwise, and deletes nothing.
     * The repair after a dump the FDB changed under: the kernel's dump resumes each datagram
     * at an index into the bridge's list, so an entry removed meanwhile from the part the dump
     * has passed makes it skip an entry nobody touched (see {@code Daemon}). What this dump
     * lacks may be such a skip too, so it stays. Returns how many entries it wrote.
     */
    public int mergeFdb(FdbSource dump) {
        return syncFdb(dump, false);
    }

    private int syncFdb(FdbSource dump, boolean deleteMissing) {
        if (fdbMapFresh) {
            fdbMapFresh = false;
            return fillFdb(dump);
        }
        PackedFdb want = new PackedFdb();
        forEachMirrored(dump, want::put);
        int changes = 0;
        try (Arena arena = Arena.ofConfined()) {
            KeyBuffer gone = new KeyBuffer(arena, datapath);
            datapath.scanFdb(FDB_BATCH, (keys, values, n) -> {
                for (int i = 0; i < n; i++) {
                    long k = (long) i * FdbKey.SIZE;
                    long v = (long) i * FdbValue.SIZE;
                    int slot = want.find(FdbKey.bridge(keys, k), FdbKey.vid(keys, k), FdbKey.macBits(keys, k));
                    if (slot < 0) {
                        if (deleteMissing) {
                            gone.add(keys, k);
                        }
                    } else if (want.sameAs(slot, FdbValue.port(values, v), FdbValue.flags(values, v))) {
                        want.keep(slot);
                    }
                }
                gone.flush();
            });
            changes += gone.given;
            EntryBatch writes = new EntryBatch(arena);
            for (int slot = 0; slot < want.capacity(); slot++) {
                if (want.occupied(slot) && !want.kept(slot)) {
                    writes.add(want.bridge(slot), want.vid(slot), want.mac(slot), want.port(slot), want.flags(slot));
                }
            }
            changes += writes.flush();
        }
        return changes;
    }

    /**
     * The first sync into the FDB map, which nothing has written to yet (the daemon's start):
     * there is nothing to compare or delete, so each batch of the dump is written as soon as
     * it is folded, while the kernel builds the next datagrams ({@code RtNetlink.fdb} receives
     * on a thread of its own), not after the whole dump. An entry the dump repeats (one added
     * during the dump makes it repeat one) is written again, the later last, as a fold would
     * keep the later; the count returned, and {@link #fdbWriteFailures} with a full map, count
     * it each time. Unlike a later sync, a dump that throws leaves the batches written before
     * in the map: entries the kernel had during the dump, which the retry (a sync into a map
     * no longer fresh) compares and deletes as usual.
     */
    private int fillFdb(FdbSource dump) {
        try (Arena arena = Arena.ofConfined()) {
            EntryBatch writes = new EntryBatch(arena);
            forEachMirrored(dump, writes::add);
            return writes.flush();
        }
    }

    /** Where {@link #forEachMirrored} hands each map entry: the key's fields, then the value's. */
    @FunctionalInterface
    private interface MirroredSink {
        void accept(int bridge, int vid, long mac, int port, int flags);
    }

    /** The map entry each of the dump's entries mirrors to, if any ({@link #mirror}, unboxed). */
    private void forEachMirrored(FdbSource dump, MirroredSink sink) {
        dump.forEach(e -> {
            int bridge = mirroredBridge(e);
            if (bridge != 0) {
                sink.accept(bridge, e.vlan(), e.mac().bits(), mirroredPort(e, bridge), mirroredFlags(e));
            }
        });
    }

    /** FDB entries packed for bpf_map_update_batch, written {@link #FDB_BATCH} at a time. */
    private final class EntryBatch {
        private final MemorySegment keys;
        private final MemorySegment values;
        private int n;
        private int written;

        EntryBatch(Arena arena) {
            keys = arena.allocate((long) FDB_BATCH * FdbKey.SIZE, 8);
            values = arena.allocate((long) FDB_BATCH * FdbValue.SIZE, 8);
        }

        void add(int bridge, int vid, long mac, int port, int flags) {
            FdbKey.write(keys, (long) n * FdbKey.SIZE, bridge, vid, mac);
            FdbValue.write(values, (long) n * FdbValue.SIZE, port, flags, 0);
            if (++n == FDB_BATCH) {
                flush();
            }
        }

        /** Writes what is pending; returns how many entries this batch has written in all. */
        int flush() {
            written += writeBatch(keys, values, n);
            n = 0;
            return written;
        }
    }

    /**
     * Writes {@code n} packed entries. An entry the kernel refuses (map full) is handled as
     * {@link #write} does, and the rest of the batch is written after it. Returns how many
     * were written: a refused entry is not a change.
     */
    private int writeBatch(MemorySegment keys, MemorySegment values, int n) {
        int from = 0;
        int refused = 0;
        while (from < n) {
            try {
                datapath.putFdbBatch(keys.asSlice((long) from * FdbKey.SIZE), values.asSlice((long) from * FdbValue.SIZE),
                        n - from);
                return n - refused;
            } catch (BpfBatchException e) {
                int failed = from + e.done();
                FdbKey key = FdbKey.CODEC.read(keys.asSlice((long) failed * FdbKey.SIZE, FdbKey.SIZE));
                fdbWriteFailures++;
                refused++;
                datapath.removeFdb(key);
                LOG.warning(() -> "FDB entry " + key + " not mirrored: " + e.getMessage());
                from = failed + 1;
            }
        }
        return n - refused;
    }

    /**
     * FDB keys to delete, collected during a map walk and deleted with a bpf_map_delete_batch
     * per walk step (or sooner when full). Deleting what the walk has already returned does
     * not disturb it (see {@link dev.xbridge.bpf.BpfMap#forEachBatch}).
     */
    private static final class KeyBuffer {
        private final Datapath datapath;
        private final MemorySegment keys;
        private int n;
        int given;
        int removed;

        KeyBuffer(Arena arena, Datapath datapath) {
            this.datapath = datapath;
            keys = arena.allocate((long) FDB_BATCH * FdbKey.SIZE, 8);
        }

        void add(MemorySegment from, long off) {
            if (n == FDB_BATCH) {
                flush();
            }
            MemorySegment.copy(from, off, keys, (long) n * FdbKey.SIZE, FdbKey.SIZE);
            n++;
        }

        void flush() {
            if (n > 0) {
                given += n;
                removed += datapath.removeFdbBatch(keys, n);
                n = 0;
            }
        }
    }

    /**
     * A failed write (map full) leaves the key out of the map, which is safe:
     * the datapath hands frames for MACs it does not know to the kernel.
     */
    private void write(FdbKey key, FdbValue value) {
        fdbMapFresh = false;
        try {
            datapath.putFdb(key, value);
        } catch (SysException e) {
            fdbWriteFailures++;
            datapath.removeFdb(key);
            LOG.warning(() -> "FDB entry " + key + " not mirrored: " + e.getMessage());
        }
    }

    /** Detaches everything, empties the maps of ports, restores what was changed. */
    @Override
    public void close() {
        for (Integer index : List.copyOf(attached.keySet())) {
            remove(index);
        }
        views = List.of();
    }
}
