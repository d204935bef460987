package dev.xbridge.daemon;

import dev.xbridge.bpf.BpfProgram;
import dev.xbridge.bpf.LibBpf;
import dev.xbridge.bpf.TcDirection;
import dev.xbridge.bridge.Acceleration;
import dev.xbridge.bridge.Bridge;
import dev.xbridge.bridge.CacheSize;
import dev.xbridge.bridge.Datapath;
import dev.xbridge.bridge.KernelState;
import dev.xbridge.bridge.Netfilter;
import dev.xbridge.bridge.Port;
import dev.xbridge.bridge.PortView;
import dev.xbridge.bridge.Reconciler;
import dev.xbridge.bridge.TcRules;
import dev.xbridge.bridge.VethPeers;
import dev.xbridge.netlink.DumpInterruptedException;
import dev.xbridge.netlink.NetlinkException;
import dev.xbridge.netlink.Link;
import dev.xbridge.netlink.NftMonitor;
import dev.xbridge.netlink.PeerLinkMonitor;
import dev.xbridge.netlink.RtEvent;
import dev.xbridge.netlink.RtMonitor;
import dev.xbridge.netlink.RtNetlink;
import dev.xbridge.netlink.TcMsg;
import dev.xbridge.sys.Errno;
import dev.xbridge.sys.Socket;
import dev.xbridge.sys.SysException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.logging.Logger;

/**
 * The event loop, in the shape of an agent: {@link #start()}, then
 * {@link #doWork(Duration)} until stopped, then {@link #close()}. Tests can
 * drive it step by step; {@link #run(AtomicBoolean)} loops it.
 *
 * <p>The monitor is subscribed before the first dump, so no change falls
 * between the two. An overrun (ENOBUFS) or an interrupted dump
 * (NLM_F_DUMP_INTR) leads to a full resync, never a silent gap.
 *
 * <p>An FDB dump is no snapshot, and the kernel does not flag it as interrupted:
 * br_fdb_dump() resumes each datagram at an index into the bridge's fdb_list, so each
 * entry removed meanwhile from the part of the list the dump has passed makes it skip one
 * entry nobody touched (and on older kernels rtnl_fdb_dump() resumes at a position in a
 * hash chain of devices, which a device deleted meanwhile shifts). A mirror built from it
 * would lack those entries until the next resync: their frames would take the kernel
 * path. So the first batch of events after a dump is checked for removals of FDB entries
 * or links, and if it has any, an FDB repair follows: another dump, merged into the map
 * without deleting anything ({@link Reconciler#mergeFdb}). A repair's own dump is judged
 * the same way, up to {@link #MAX_REPAIRS} after a resync; each repair comes at least
 * {@link #REPAIR_MIN_WAIT} and {@link #REPAIR_SPACING} times the last dump's duration
 * after it (the kernel takes ~50 s to dump 1,000,000 entries), so repairs take at most a
 * tenth of the time. The bound matters on a bridge that keeps learning and aging, where
 * every dump sees removals; each repair leaves fewer skipped entries (only those every
 * dump so far skipped).
 */
public final class Daemon implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(Daemon.class.getName());
    private static final int DUMP_ATTEMPTS = 5;
    /** An FDB repair waits at least this long after the dump that called for it. */
    static final Duration REPAIR_MIN_WAIT = Duration.ofSeconds(1);
    /** ... and this many times that dump's duration. */
    static final int REPAIR_SPACING = 9;
    /** Repairs after one resync at most. */
    static final int MAX_REPAIRS = 3;
    /**
     * How often netfilter is read again for what announces nothing (legacy x_tables, the
     * bridge-nf-call-* sysctls): a few files in /proc, no process.
     */
    static final Duration NETFILTER_PERIOD = Duration.ofSeconds(2);

    private final Options options;
    private final Instant started = Instant.now();
    private RtNetlink rt;
    private RtMonitor monitor;
    /** Link notifications from the peers' namespaces: see {@link #peerChanges}. */
    private PeerLinkMonitor peerLinks;
    /** This namespace's nsid for itself, -1 if it has none (read at start). */
    private int selfNsid = -1;
    private Datapath datapath;
    private VethPeers peers;
    private Reconciler reconciler;
    private ControlServer control;
    /** When every port's tc state is read again next (System.nanoTime). */
    private long nextReprobe;
    /** When every port's peer is probed again next, without a notification. */
    private long nextPeerReprobe;
    private long resyncs;
    private long events;
    /** Whether the next batch of events tells if the FDB changed while it was last dumped. */
    private boolean judgeLastDump;
    /** How long the last FDB dump (resync or repair) took, in ns. */
    private long lastDumpNanos;
    /** Whether an FDB repair is due, and when (System.nanoTime). */
    private volatile boolean repairDue;
    private volatile long repairAt;
    private long fdbRepairs;
    /** Repairs since the last resync. */
    private int repairsSinceResync;
    private long fdbRepairWrites;
    private boolean pendingApply;
    private KernelState pending;
    /** The latest netfilter reading, taken off the loop (it runs nft): see {@link #watchNetfilter()}. */
    private final AtomicReference<Netfilter.Snapshot> netfilter =
            new AtomicReference<>();
    private Thread netfilterWatch;
    /** Each port's tcx program ids at the last {@link #checkTcx}, by ifindex. */
    private final Map<Integer, String> tcxSeen = new HashMap<>();
    /** Ports whose peers are due to be probed again, one per iteration. */
    private final ArrayDeque<Integer> reprobeQueue = new ArrayDeque<>();
    /** Ports whose qdiscs or filters changed in the current batch of events. */
    private final Set<Integer> tcChanged = new LinkedHashSet<>();

    public Daemon(Options options) {
        this.options = options;
    }

    /** Loads the datapath, syncs with the kernel, attaches, and opens the control socket. */
    public void start() {
        rt = RtNetlink.open();
        monitor = RtMonitor.open(options.monitorBuffer());
        peerLinks = openPeerLinks();
        selfNsid = ownNsid();
        KernelState first = dumpLinks();
        validateSelection(first);
        datapath = Datapath.load(options.fdbMax(), false, caches());
        peers = new VethPeers(rt);
        reconciler = new Reconciler(datapath, peers,
                new Acceleration(options.bridges(), options.ports(), options.hooks()), options.tcAttach(),
                options.agingRefresh());
        int tcId = datapath.tcProgram().id();
        int xdpId = datapath.xdpProgram().id();
        reconciler.setTcReader(TcRules.reader(rt, id -> id == tcId || id == xdpId));
        reconciler.setNetfilter(Netfilter.read());
        resync(first);
        watchNetfilter();
        control = ControlServer.start(options.socket(), this);
        long now = System.nanoTime();
        nextReprobe = now + options.reprobeMillis() * 1_000_000;
        nextPeerReprobe = now + peerReprobeMillis() * 1_000_000;
    }

    /**
     * The peers' notifications, or null where this daemon may not hear them: joining every
     * nsid's notifications takes CAP_NET_BROADCAST, which a unit with a trimmed capability
     * set may lack. Then every peer is probed each --reprobe-ms instead, as before the
     * notifications were used.
     */
    private PeerLinkMonitor openPeerLinks() {
        try {
            return PeerLinkMonitor.open();
        } catch (SysException e) {
            String why = e.errno() == Errno.EPERM
                    ? e.getMessage() + "; NETLINK_LISTEN_ALL_NSID needs CAP_NET_BROADCAST" : e.getMessage();
            LOG.warning(() -> "no notifications from veth peers' namespaces (" + why + "): probing every peer every "
                    + Math.min(options.reprobeMillis(), options.peerReprobeMillis()) + " ms instead");
            return null;
        }
    }

    /** This namespace's nsid for itself, -1 for none. */
    private int ownNsid() {
        return rt.nsidOfFile("/proc/thread-self/ns/net");
    }

    private long peerReprobeMillis() {
        return peerLinks != null ? options.peerReprobeMillis() : Math.min(options.reprobeMillis(), options.peerReprobeMillis());
    }

    /** The per-CPU caches --cache-memory allows here, saying why when there are none. */
    private CacheSize caches() {
        CacheSize caches = Datapath.cachesFor(options.cacheMemory());
        int cpus = LibBpf.possibleCpus();
        if (!Datapath.fdbCacheSafeHere()) {
            LOG.info(() -> "per-CPU caches off: " + System.getProperty("os.arch")
                    + " may reorder loads, and the caches' generation check relies on x86's order");
        } else if (!caches.on()) {
            LOG.warning(() -> "per-CPU caches off: --cache-memory " + options.cacheMemory() + " bytes is less than the"
                    + " smallest caches (" + CacheSize.bytes(new CacheSize(CacheSize.MIN_BITS).bytesPerCpu()) + " a CPU x "
                    + cpus + " possible CPUs); every frame reads the maps");
        } else {
            LOG.info(() -> "per-CPU caches: " + caches + " x " + cpus + " possible CPUs = "
                    + CacheSize.bytes(caches.bytesPerCpu() * cpus));
        }
        return caches;
    }

    /**
     * tcx attachments raise no event, so every {@code --reprobe-ms} each port's tcx programs
     * are queried (two BPF_PROG_QUERY calls); only a port whose programs changed has its whole
     * tc state read again. Qdisc and filter changes are announced (RTNLGRP_TC); a full read of
     * every port each round dumped the namespace's qdiscs once per port.
     */
    private void checkTcx() {
        Set<Integer> present = new HashSet<>();
        for (PortView p : reconciler.ports()) {
            int index = p.index();
            present.add(index);
            String now;
            try {
                now = Arrays.toString(BpfProgram.tcxProgramIds(index, TcDirection.INGRESS)) + " "
                        + Arrays.toString(BpfProgram.tcxProgramIds(index, TcDirection.EGRESS));
            } catch (RuntimeException e) {
                now = "unreadable: " + e.getMessage(); // tcChanged reads it and says why
            }
            if (!now.equals(tcxSeen.put(index, now))) {
                reconciler.tcChanged(index);
            }
        }
        tcxSeen.keySet().retainAll(present);
    }

    /** Fails with the names that do exist when --bridge or --port names something absent. */
    private void validateSelection(KernelState state) {
        List<String> bridges = state.bridges().stream().map(Bridge::name).toList();
        for (String b : options.bridges()) {
            if (!bridges.contains(b)) {
                throw new IllegalArgumentException("no bridge named '" + b + "' in this network namespace; bridges here: "
                        + (bridges.isEmpty() ? "none" : String.join(", ", bridges)));
            }
        }
        List<String> ports = state.ports().stream().map(p -> p.name()).toList();
        for (String p : options.ports()) {
            if (!ports.contains(p)) {
                throw new IllegalArgumentException("no bridge port named '" + p + "' in this network namespace; ports here: "
                        + (ports.isEmpty() ? "none" : String.join(", ", ports)));
            }
        }
        for (String name : options.hooks().keySet()) {
            if (!ports.contains(name) && !bridges.contains(name)) {
                throw new IllegalArgumentException("--hook " + name + "=...: no bridge or bridge port named '" + name
                        + "' in this network namespace; bridges: " + (bridges.isEmpty() ? "none" : String.join(", ", bridges))
                        + "; ports: " + (ports.isEmpty() ? "none" : String.join(", ", ports)));
            }
        }
    }

    /** Waits up to {@code timeout} for kernel events, applies them, and runs what is due. */
    public void doWork(Duration timeout) {
        long now = System.nanoTime();
        long untilDue = Math.min(nextReprobe - now, nextPeerReprobe - now);
        if (repairDue) {
            untilDue = Math.min(untilDue, repairAt - now);
        }
        if (!reprobeQueue.isEmpty()) {
            untilDue = 0; // probe the next port right after this round of events
        }
        Duration wait = Duration.ofNanos(Math.max(0, Math.min(timeout.toNanos(), untilDue)));
        applyEvents(wait);
        Netfilter.Snapshot nf = netfilter.getAndSet(null);
        if (nf != null) {
            reconciler.setNetfilter(nf);
        }
        now = System.nanoTime();
        if (repairDue && now - repairAt >= 0) {
            repairFdb();
        }
        if (now - nextReprobe >= 0) {
            checkTcx();
            nextReprobe = now + options.reprobeMillis() * 1_000_000;
        }
        if (!reprobeQueue.isEmpty()) {
            reconciler.reprobe(reprobeQueue.poll());
        } else if (now - nextPeerReprobe >= 0) {
            // The safety net behind the peers' own notifications (peerChanges). A probe enters
            // the peer's namespace and asks ethtool: ~10 ms. One port per iteration keeps FDB
            // changes flowing to the datapath meanwhile.
            reconciler.ports().forEach(p -> queueReprobe(p.index()));
            nextPeerReprobe = now + peerReprobeMillis() * 1_000_000;
        }
    }

    /**
     * Reads netfilter on a thread of its own (it runs nft): at once when nf_tables announces a
     * ruleset change (nft and iptables-nft), and every {@link #NETFILTER_PERIOD} for what announces
     * nothing (legacy x_tables, the bridge-nf-call-* sysctls). The event loop picks the
     * reading up within one of its rounds (at most 200 ms).
     */
    private void watchNetfilter() {
        netfilterWatch = Thread.ofPlatform().daemon().name("xbridge-netfilter").start(() -> {
            Duration period = NETFILTER_PERIOD;
            NftMonitor nft = null;
            try {
                nft = NftMonitor.open();
            } catch (RuntimeException e) {
                LOG.warning(() -> "no nf_tables events (" + e.getMessage() + "): netfilter is read every "
                        + NETFILTER_PERIOD.toMillis() + " ms only");
            }
            NetfilterReadings readings = NetfilterReadings.ofThisNamespace();
            try {
                while (!Thread.currentThread().isInterrupted()) {
                    boolean announced = false;
                    if (nft != null) {
                        announced = nft.awaitChange(period);
                    } else {
                        Thread.sleep(period);
                    }
                    try {
                        // With the events, nft runs only when nf_tables announced a change.
                        Netfilter.Snapshot changed = readings.next(nft != null, announced);
                        if (changed != null) {
                            netfilter.set(changed);
                        }
                    } catch (RuntimeException e) {
                        LOG.warning(() -> "reading netfilter failed, trying again: " + e);
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                if (nft != null) {
                    nft.close();
                }
            }
        });
    }

    /**
     * Waits up to {@code wait} for kernel events and applies all that are queued: this
     * namespace's, then the peers' (after the links, so a new port's peer is known).
     */
    private void applyEvents(Duration wait) {
        int[] fds = peerLinks != null ? new int[] {monitor.fd(), peerLinks.fd()} : new int[] {monitor.fd()};
        int ready = Socket.pollIn(fds, (int) Math.min(wait.toMillis(), Integer.MAX_VALUE));
        if (ready < 0 && ready != -Errno.EINTR.code()) {
            throw new SysException("poll rtnetlink monitors", -ready);
        }
        List<RtEvent> batch = new ArrayList<>();
        if (ready > 0) {
            // Also when only the peers' socket woke the poll: the kernel delivers a
            // notification to the last socket that joined first, and this namespace's copy of
            // a port's change must be applied before the port's probe reads its link.
            monitor.poll(Duration.ZERO, batch::add);
        }
        applyEvents(batch);
        if (ready > 0 && (ready & 2) != 0) {
            peerLinks.drain(peerChanges); // not counted in events: this namespace's links come twice
        }
    }

    /**
     * Peers announce their own changes in their namespaces (PeerLinkMonitor): each
     * notification for a port's peer queues that port's probe, and a lost notification all.
     * A notification for the port itself does too: an XDP program attached to the peer
     * through a bpf_link announces nothing at the peer when its GRO is on already, and
     * nothing at all when it goes, but veth then changes the port's features (it masks GSO
     * while the peer has XDP), which the port announces.
     */
    private final PeerLinkMonitor.Sink peerChanges = new PeerLinkMonitor.Sink() {
        @Override
        public void linkChanged(int nsid, int ifindex) {
            for (Port p : reconciler.state().ports()) {
                if (!p.isVeth()) {
                    continue;
                }
                Link l = p.link();
                // Kernels before "net: netlink: don't set nsid on local notifications" put
                // this namespace's own nsid, if it has one, on its local notifications.
                boolean here = nsid == PeerLinkMonitor.THIS_NAMESPACE || (selfNsid >= 0 && nsid == selfNsid);
                boolean peerThere = here ? l.linkNetnsId().isEmpty()
                        : l.linkNetnsId().isPresent() && l.linkNetnsId().getAsInt() == nsid;
                if ((peerThere && l.link() == ifindex) || (here && p.index() == ifindex)) {
                    queueReprobe(p.index());
                }
            }
        }

        @Override
        public void overrun() {
            LOG.warning("peer link monitor overran (ENOBUFS): probing every peer again");
            reconciler.ports().forEach(p -> queueReprobe(p.index()));
        }
    };

    private void queueReprobe(int index) {
        if (!reprobeQueue.contains(index)) {
            reprobeQueue.add(index);
        }
    }

    private void applyEvents(List<RtEvent> batch) {
        events += batch.size();
        if (batch.stream().anyMatch(e -> e instanceof RtEvent.Overrun)) {
            LOG.warning("rtnetlink monitor overran (ENOBUFS): events were lost, resyncing everything");
            monitor.discardQueued(); // older than the dump below
            resync(dumpLinks());
            return;
        }
        if (judgeLastDump) {
            // Queued since the last dump began: a removal may have made it skip entries.
            judgeLastDump = false;
            long removed = batch.stream()
                    .filter(e -> (e instanceof RtEvent.FdbDeleted d && d.e().isBridgeEntry()) || e instanceof RtEvent.LinkDeleted)
                    .count();
            if (removed > 0) {
                long wait = Math.max(REPAIR_MIN_WAIT.toNanos(), REPAIR_SPACING * lastDumpNanos);
                repairDue = true;
                repairAt = System.nanoTime() + wait;
                LOG.info(() -> String.format("%d FDB entries or links went since the last FDB dump began; one that went"
                        + " during it can make it skip entries: an FDB repair follows in %.1f s", removed, wait / 1e9));
            }
        }
        batch.forEach(this::handle);
        flushLinks();
        // After the links: a filter may come with a port that just appeared.
        for (int index : tcChanged) {
            if (index == TcMsg.TCM_IFINDEX_MAGIC_BLOCK) {
                // A filter of a shared block (tc filter add block N): any port may use the block.
                reconciler.ports().forEach(p -> reconciler.tcChanged(p.index()));
            } else {
                reconciler.tcChanged(index);
            }
        }
        tcChanged.clear();
    }

    private void handle(RtEvent e) {
        switch (e) {
            case RtEvent.LinkChanged c -> {
                pending = current().withLink(c.link());
                pendingApply = true;
            }
            case RtEvent.LinkDeleted d -> {
                pending = current().withoutLink(d.link());
                pendingApply = true;
            }
            case RtEvent.FdbChanged f -> {
                flushLinks(); // an entry may name a port or bridge that just appeared
                reconciler.fdbChanged(f.e());
            }
            case RtEvent.FdbDeleted f -> reconciler.fdbDeleted(f.e());
            case RtEvent.VlansChanged v -> {
                pending = readVlans(current(), v.ifindex());
                pendingApply = true;
            }
            case RtEvent.TcChanged t -> tcChanged.add(t.tc().ifindex());
            case RtEvent.Overrun o -> { }
        }
    }

    private KernelState current() {
        return pendingApply ? pending : reconciler.state();
    }

    /** Applies accumulated link changes once per batch rather than once per message. */
    private void flushLinks() {
        if (!pendingApply) {
            return;
        }
        pendingApply = false;
        // A port that just joined has VLANs (the default PVID) that may have been announced before
        // the port was: read them for every port not read yet.
        for (var port : pending.ports()) {
            if (!pending.vlansKnown(port.index()) && pending.vlanProblem() == null) {
                pending = readVlans(pending, port.index());
            }
        }
        boolean newBridge = reconciler.apply(pending, false);
        pending = null;
        if (newBridge) {
            resyncFdb();
        }
    }

    private void resync(KernelState links) {
        resyncs++;
        reconciler.apply(links, true);
        resyncFdb();
    }

    private void resyncFdb() {
        int changes = timedFdbDump(() -> reconciler.resyncFdb(rt::fdb));
        repairDue = false; // this dump is judged afresh
        repairsSinceResync = 0;
        LOG.info(() -> String.format("FDB resync: %d changes in %.2f s", changes, lastDumpNanos / 1e9));
    }

    /** Dumps the FDB again and writes what the map lacks: see the class comment. */
    private void repairFdb() {
        repairDue = false;
        int written = timedFdbDump(() -> reconciler.mergeFdb(rt::fdb));
        fdbRepairs++;
        fdbRepairWrites += written;
        judgeLastDump = ++repairsSinceResync < MAX_REPAIRS;
        LOG.info(() -> String.format("FDB repair: %d entries written in %.2f s", written, lastDumpNanos / 1e9));
    }

    /**
     * Runs {@code sync} (a dump folded into the map) until a dump is not interrupted, and
     * notes how long that one took; the next batch of events judges it.
     */
    private int timedFdbDump(java.util.function.IntSupplier sync) {
        return withDumpAttempts(() -> {
            long start = System.nanoTime();
            int n = sync.getAsInt();
            lastDumpNanos = System.nanoTime() - start;
            judgeLastDump = true;
            return n;
        });
    }

    /** {@code dump} again while the kernel says it was interrupted (NLM_F_DUMP_INTR), {@link #DUMP_ATTEMPTS} times at most. */
    private static <T> T withDumpAttempts(java.util.function.Supplier<T> dump) {
        for (int attempt = 1; ; attempt++) {
            try {
                return dump.get();
            } catch (DumpInterruptedException e) {
                if (attempt == DUMP_ATTEMPTS) {
                    throw e;
                }
            }
        }
    }

    /**
     * The VLANs of one port or bridge, read again. A device that is neither (any more) is
     * not asked: the kernel answers EINVAL, with a warning, for a device outside a bridge.
     * Its VLANs are forgotten, to be read when it joins one. A read that fails leaves the
     * port's VLANs unknown, which makes the port step aside, rather than stop the daemon.
     */
    private KernelState readVlans(KernelState state, int ifindex) {
        if (state.vlanProblem() != null) {
            return state;
        }
        if (state.port(ifindex).isEmpty() && state.bridge(ifindex).isEmpty()) {
            return state.withoutVlansOf(ifindex);
        }
        for (int attempt = 1; ; attempt++) {
            try {
                return state.withVlans(ifindex, rt.vlans(ifindex));
            } catch (DumpInterruptedException e) {
                if (attempt == DUMP_ATTEMPTS) {
                    LOG.warning(() -> "VLANs of ifindex " + ifindex + " not read: " + e.getMessage());
                    return state.withoutVlansOf(ifindex);
                }
            } catch (NetlinkException e) {
                if (e.errno() != Errno.ENODEV && e.errno() != Errno.EINVAL) {
                    LOG.warning(() -> "VLANs of ifindex " + ifindex + " not read: " + e.getMessage());
                }
                return state.withoutVlansOf(ifindex);
            }
        }
    }

    /**
     * The whole VLAN database, or the state saying why it cannot be read: a kernel without
     * RTM_GETVLAN (before 5.10) or without bridge VLAN filtering. VLAN-filtering bridges are
     * then left to the kernel.
     */
    private KernelState withVlanDump(KernelState links) {
        try {
            return links.withAllVlans(rt.vlans(0));
        } catch (NetlinkException e) {
            if (e.errno() == Errno.EOPNOTSUPP || e.errno() == Errno.EINVAL) {
                return links.withoutVlans("RTM_GETVLAN: " + e.getMessage());
            }
            throw e;
        }
    }

    private KernelState dumpLinks() {
        return withDumpAttempts(() -> withVlanDump(KernelState.of(rt.links(), rt.bridgePorts())));
    }

    /** Loops until {@code stop} is set, then cleans up. */
    public void run(AtomicBoolean stop) {
        while (!stop.get()) {
            doWork(Duration.ofMillis(200));
        }
    }

    public Status status() {
        return Status.of(this);
    }

    Reconciler reconciler() {
        return reconciler;
    }

    Datapath datapath() {
        return datapath;
    }

    Instant started() {
        return started;
    }

    long resyncs() {
        return resyncs;
    }

    long fdbRepairs() {
        return fdbRepairs;
    }

    /** In how many ms the next FDB repair is due, -1 if none is. */
    long fdbRepairInMillis() {
        return repairDue ? Math.max(0, (repairAt - System.nanoTime()) / 1_000_000) : -1;
    }

    long fdbRepairWrites() {
        return fdbRepairWrites;
    }

    long events() {
        return events;
    }

    /**
     * Detaches every program, restores peers, closes the control socket.
     * Idempotent; every step runs even when an earlier one fails. The control
     * socket goes first and its thread is joined, so no status request reads
     * a map being closed.
     */
    @Override
    public void close() {
        if (netfilterWatch != null) {
            netfilterWatch.interrupt(); // seen within one period: poll(2) does not notice
            netfilterWatch = null;
        }
        AutoCloseable[] steps = {control, reconciler, peers, datapath, monitor, peerLinks, rt};
        control = null;
        peerLinks = null;
        reconciler = null;
        peers = null;
        datapath = null;
        monitor = null;
        rt = null;
        RuntimeException failure = null;
        for (AutoCloseable step : steps) {
            if (step == null) {
                continue;
            }
            try {
                step.close();
            } catch (Exception e) {
                LOG.warning("shutdown: " + step.getClass().getSimpleName() + ": " + e.getMessage());
                if (failure == null) {
                    failure = new IllegalStateException("shutdown incomplete: " + e.getMessage(), e);
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
    }
}
