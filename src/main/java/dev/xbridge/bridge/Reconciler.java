package dev.xbridge.bridge;

import dev.xbridge.bpf.BpfLink;
import dev.xbridge.netlink.BridgePortInfo;
import dev.xbridge.netlink.FdbEntry;
import dev.xbridge.sys.Errno;
import dev.xbridge.sys.SysException;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.logging.Logger;

/**
 * Turns the kernel's bridge state into datapath state: one entry per port in
 * the ports map, XDP links, devmap targets, and the FDB mirror.
 *
 * <p>Ordering keeps the datapath exact during changes: a port becomes a
 * redirect target only after its peer can receive (GRO on, devmap entry
 * written, then the EGRESS flag), and stops being one in the reverse order.
 * A stale FDB entry that points at a port no longer known is harmless: the
 * datapath hands such frames to the kernel (XB_PASS_EGRESS_UNAVAILABLE).
 *
 * <p>Single-threaded: the daemon's event loop owns it. {@link #ports()}
 * returns an immutable snapshot that other threads may read.
 */
public final class Reconciler implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(Reconciler.class.getName());

    private final Datapath datapath;
    private final VethPeers peers;
    private final Acceleration policy;
    private final Map<Integer, Attached> attached = new HashMap<>();
    private final BitSet slots = new BitSet(Datapath.MAX_PORTS);
    /** Read by the control thread for status; replaced, never mutated. */
    private volatile KernelState state = KernelState.empty();
    private volatile List<PortView> views = List.of();
    private long fdbWriteFailures;

    /** Runtime facts of a port the reconciler has seen. */
    private static final class Attached {
        final int slot;
        Peer peer;
        PortPlan plan;
        BpfLink link;
        PortRecord written;

        Attached(int slot) {
            this.slot = slot;
        }
    }

    public Reconciler(Datapath datapath, VethPeers peers, Acceleration policy) {
        this.datapath = datapath;
        this.peers = peers;
        this.policy = policy;
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
     * looked at again (its offloads may have changed; no event says so).
     *
     * @return true when a bridge appeared, so the caller should resync the FDB
     */
    public boolean apply(KernelState next, boolean reprobe) {
        Set<Integer> oldBridges = new HashSet<>();
        state.bridges().forEach(b -> oldBridges.add(b.index()));
        state = next;
        Set<Integer> present = new HashSet<>();
        for (Port port : next.ports()) {
            Optional<Bridge> bridge = next.bridge(port.bridge());
            if (bridge.isEmpty()) {
                continue;
            }
            present.add(port.index());
            update(bridge.get(), port, reprobe);
        }
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
     * Looks at one port's veth peer again and applies what changed. The
     * daemon calls this one port at a time, so a round of probes never holds
     * up kernel events for more than one probe.
     */
    public void reprobe(int index) {
        Optional<Port> port = state.port(index);
        Optional<Bridge> bridge = port.flatMap(p -> state.bridge(p.bridge()));
        if (port.isEmpty() || bridge.isEmpty() || !attached.containsKey(index)) {
            return;
        }
        update(bridge.get(), port.get(), true);
        publish();
    }

    private void update(Bridge bridge, Port port, boolean reprobe) {
        Attached a = attached.get(port.index());
        if (a == null) {
            int slot = slots.nextClearBit(1);
            if (slot >= Datapath.MAX_PORTS) {
                LOG.warning(() -> "no stats slot left for " + port.name() + "; more than "
                        + (Datapath.MAX_PORTS - 1) + " ports");
                return;
            }
            slots.set(slot);
            datapath.resetStats(slot);
            a = new Attached(slot);
            attached.put(port.index(), a);
        }
        if (a.peer == null || reprobe) {
            a.peer = port.isVeth() ? peers.probe(port, state) : Peer.missing("not a veth");
        }
        PortPlan plan = policy.plan(bridge, port, a.peer);
        plan = attach(a, port, plan);
        a.plan = plan;

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
        boolean wasEgress = a.written != null && (a.written.flags() & PortRecord.EGRESS) != 0;
        if (plan.egress()) {
            try {
                peers.ensureGro(port.index(), a.peer);
                datapath.putTxPort(port.index());
                flags |= PortRecord.EGRESS;
            } catch (RuntimeException e) {
                a.plan = plan = new PortPlan(plan.attach(), plan.stepAside(), false,
                        "cannot receive redirected frames: " + e.getMessage());
            }
        }
        if (!plan.attach() && !plan.egress()) {
            if (a.written != null) {
                datapath.removePort(port.index());
                a.written = null;
            }
        } else {
            PortRecord record = new PortRecord(bridge.index(), a.slot, flags, port.state().value());
            if (!record.equals(a.written)) {
                datapath.putPort(port.index(), record);
                a.written = record;
            }
        }
        if (wasEgress && !plan.egress()) {
            datapath.removeTxPort(port.index());
            peers.restore(port.index());
        }
    }

    /** Attaches or detaches to match the plan; an attach failure turns the plan off with the kernel's reason. */
    private PortPlan attach(Attached a, Port port, PortPlan plan) {
        if (plan.attach() && a.link == null) {
            int other = port.link().xdpProgId();
            if (other != 0) {
                return new PortPlan(false, false, plan.egress(),
                        "another XDP program (id " + other + ") is attached to " + port.name());
            }
            try {
                a.link = datapath.attachXdp(port.index());
                LOG.info(() -> "attached XDP to " + port.name());
            } catch (SysException e) {
                String why = e.errno() == Errno.ERANGE
                        ? "peer MTU too large for native XDP on veth without xdp.frags"
                        : "XDP attach failed: " + e.getMessage();
                return new PortPlan(false, false, plan.egress(), why);
            }
        } else if (!plan.attach() && a.link != null) {
            a.link.close();
            a.link = null;
            LOG.info(() -> "detached XDP from " + port.name());
        }
        return plan;
    }

    private void remove(int index) {
        Attached a = attached.remove(index);
        if (a == null) {
            return;
        }
        if (a.link != null) {
            try {
                a.link.close();
            } catch (RuntimeException e) {
                LOG.info(() -> "detach of ifindex " + index + ": " + e.getMessage());
            }
        }
        datapath.removePort(index);
        datapath.removeTxPort(index);
        peers.restore(index);
        slots.clear(a.slot);
    }

    private void purgeBridge(int bridge) {
        int n = 0;
        for (FdbKey key : datapath.fdbEntries().keySet()) {
            if (key.bridge() == bridge && datapath.removeFdb(key)) {
                n++;
            }
        }
        int removed = n;
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
            out.add(new PortView(bridge.get().name(), bridge.get().index(), port.name(), port.index(),
                    port.state(), a.link != null ? "xdp" : "none", a.link != null ? "native" : "",
                    a.plan.egress(), a.plan.stepAside(), a.plan.reason(), a.slot,
                    a.link != null ? datapath.xdpProgram().id() : 0, a.peer, peers.changedGro(port.index())));
        }
        views = List.copyOf(out);
    }

    // ---- FDB ----

    /** The map entry an FDB entry mirrors to, or empty when it is not the bridge's (NTF_SELF) or unknown. */
    public Optional<Map.Entry<FdbKey, FdbValue>> mirror(FdbEntry e) {
        if (!e.isBridgeEntry()) {
            return Optional.empty();
        }
        int bridge = e.master() != 0 ? e.master() : e.ifindex();
        if (state.bridge(bridge).isEmpty()) {
            return Optional.empty();
        }
        int port = e.ifindex() == bridge ? 0 : e.ifindex();
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
        return Optional.of(Map.entry(new FdbKey(bridge, e.vlan(), e.mac()), new FdbValue(port, flags, 0)));
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
        Map<FdbKey, FdbValue> want = new HashMap<>();
        for (FdbEntry e : entries) {
            mirror(e).ifPresent(m -> want.put(m.getKey(), m.getValue()));
        }
        int changes = 0;
        Map<FdbKey, FdbValue> have = datapath.fdbEntries();
        for (Map.Entry<FdbKey, FdbValue> h : have.entrySet()) {
            if (!want.containsKey(h.getKey())) {
                datapath.removeFdb(h.getKey());
                changes++;
            }
        }
        for (Map.Entry<FdbKey, FdbValue> w : want.entrySet()) {
            FdbValue old = have.get(w.getKey());
            if (old == null || !old.sameAs(w.getValue())) {
                write(w.getKey(), w.getValue());
                changes++;
            }
        }
        return changes;
    }

    /**
     * A failed write (map full) leaves the key out of the map, which is safe:
     * the datapath hands frames for MACs it does not know to the kernel.
     */
    private void write(FdbKey key, FdbValue value) {
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
