package dev.xbridge.bridge;

import dev.xbridge.bpf.BpfException;
import dev.xbridge.bpf.BpfLink;
import dev.xbridge.bpf.BpfMap;
import dev.xbridge.bpf.BpfObject;
import dev.xbridge.bpf.BpfProgram;
import dev.xbridge.bpf.ClsBpf;
import dev.xbridge.bpf.LibBpf;
import dev.xbridge.bpf.Codec;
import dev.xbridge.bpf.PerCpuMap;
import dev.xbridge.bpf.TcDirection;
import dev.xbridge.bpf.TypedMap;
import dev.xbridge.bpf.UpdateFlag;
import dev.xbridge.bpf.XdpMode;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * The loaded datapath object (src/main/bpf/xbridge.bpf.c, embedded in the
 * jar) and typed access to its maps. One instance serves every bridge in the
 * namespace: the maps are keyed by bridge where it matters.
 */
public final class Datapath implements AutoCloseable {
    public static final String OBJECT_RESOURCE = "/bpf/xbridge.bpf.o";
    public static final int MAX_PORTS = 1024;
    /** XB_IFINDEX_DIRECT: ifindexes below this find their slot in the port_slots array, the rest in a hash. */
    public static final int IFINDEX_DIRECT = 65536;
    public static final int DEFAULT_FDB_MAX = 65536;
    /** cls_bpf filter handle ("xb") and priority: late, so an operator's own filters run first. */
    public static final int CLS_HANDLE = 0x7862;
    public static final int CLS_PRIORITY = 0xc000;
    /**
     * The kernel's name for the map that holds the datapath's global {@code fdb_gen}: libbpf names a
     * global data section's map after the section (xbridge.bpf.c).
     */
    public static final String FDB_GEN_MAP = ".data.fdb_gen";

    /** A u32 ifindex, as the devmap's key and value. */
    static final Codec<Integer> U32 = new Codec<>() {
        @Override
        public int size() {
            return 4;
        }

        @Override
        public void write(MemorySegment s, Integer v) {
            s.set(ValueLayout.JAVA_INT_UNALIGNED, 0, v);
        }

        @Override
        public Integer read(MemorySegment s) {
            return s.get(ValueLayout.JAVA_INT_UNALIGNED, 0);
        }
    };

    private final BpfObject object;
    private final BpfProgram xdp;
    private final BpfProgram tc;
    private final TypedMap<Integer, PortRecord.InSlot> ports;
    private final TypedMap<Integer, Integer> portSlots;
    private final TypedMap<Integer, Integer> portSlotsFar;
    private final TypedMap<FdbKey, FdbValue> fdb;
    private final TypedMap<Integer, Integer> txPorts;
    private final TypedMap<VlanKey, VlanValue> portVlans;
    private final PerCpuMap<Integer, PortStats> stats;
    private final TypedMap<Integer, Decision> trace;
    private final int fdbMax;
    private final CacheSize caches;
    private final Arena mappings = Arena.ofShared();
    /** fdb_gen's one u64, mapped: bumped after every change of the fdb, ports and port_slots maps (xbridge.h, fdb_cache, flow_cache). */
    private final MemorySegment fdbGen;

    private static final VarHandle GEN = ValueLayout.JAVA_LONG.varHandle();

    /**
     * Held by every change of the fdb map together with the bump that announces it, and by
     * the reads other threads make ({@link #scanFdb}, {@link #fdbEntries}): the datapath acts
     * on a change at the bump, so a reader that saw the change before it (the control
     * socket's {@code xbridge fdb}, which a test waits on before it sends a frame) would run
     * ahead of the datapath. Under TCG the gap was long enough for a test's ping to take the
     * deleted entry's cached copy.
     */
    private final java.util.concurrent.locks.ReentrantLock fdbLock = new java.util.concurrent.locks.ReentrantLock();

    private Datapath(BpfObject object, int fdbMax, CacheSize caches) {
        this.object = object;
        this.fdbMax = fdbMax;
        this.caches = caches;
        this.fdbGen = object.map(FDB_GEN_MAP).mmap(mappings);
        this.xdp = object.program("xbridge_xdp");
        this.tc = object.program("xbridge_tc");
        this.ports = new TypedMap<>(object.map("ports"), U32, PortRecord.CODEC);
        this.portSlots = new TypedMap<>(object.map("port_slots"), U32, U32);
        this.portSlotsFar = new TypedMap<>(object.map("port_slots_far"), U32, U32);
        this.fdb = new TypedMap<>(object.map("fdb"), FdbKey.CODEC, FdbValue.CODEC);
        this.txPorts = new TypedMap<>(object.map("tx_ports"), U32, U32);
        this.portVlans = new TypedMap<>(object.map("port_vlans"), VlanKey.CODEC, VlanValue.CODEC);
        this.stats = new PerCpuMap<>(object.map("stats"), U32, PortStats.CODEC);
        this.trace = new TypedMap<>(object.map("trace"), U32, Decision.CODEC);
    }

    /**
     * Opens and loads the datapath, with the per-CPU caches where this machine's loads are
     * ordered ({@link #fdbCacheSafeHere}), sized to {@link CacheSize#DEFAULT_BUDGET}.
     *
     * @param fdbMax capacity of the FDB map (entries across all bridges)
     * @param trace record every decision in the trace map (tests); costs a map write per frame
     */
    public static Datapath load(int fdbMax, boolean trace) {
        return load(fdbMax, trace, cachesFor(CacheSize.DEFAULT_BUDGET));
    }

    /**
     * The caches a budget allows here: {@link CacheSize#OFF} where loads are not ordered
     * ({@link #fdbCacheSafeHere}), else the largest that fits over the possible CPUs.
     */
    public static CacheSize cachesFor(long budget) {
        return fdbCacheSafeHere() ? CacheSize.fitting(budget, LibBpf.possibleCpus()) : CacheSize.OFF;
    }

    /**
     * Opens and loads the datapath.
     *
     * @param caches the size of the per-CPU fdb_cache and flow_cache (xbridge.h), or
     *     {@link CacheSize#OFF}: every frame then reads the maps; on only where the CPU keeps
     *     loads in order
     */
    public static Datapath load(int fdbMax, boolean trace, CacheSize caches) {
        BpfObject object = BpfObject.openResource(OBJECT_RESOURCE);
        try {
            object.setMaxEntries("fdb", fdbMax);
            if (trace) {
                object.setConstant("xb_trace", 1);
            }
            // Off, each map keeps one set a CPU (a map has at least one entry) and the
            // verifier prunes the code that would use it. flow_cache is a plain array of each
            // CPU's sets in turn (xbridge.h), fdb_cache a per-CPU array.
            object.setMaxEntries("flow_cache", Math.max(caches.flowSets(), 1) * LibBpf.possibleCpus());
            object.setMaxEntries("fdb_cache", Math.max(caches.fdbSets(), 1));
            object.setConstant("xb_flow_cache_shift", caches.flowShift());
            object.setConstant("xb_fdb_cache_shift", caches.fdbShift());
            if (caches.on()) {
                object.setConstant("xb_fdb_cache", 1);
            }
            object.load();
            return new Datapath(object, fdbMax, caches);
        } catch (RuntimeException e) {
            object.close();
            throw e;
        }
    }

    /**
     * Whether fdb_cache is correct on this machine: a frame reads fdb_gen and then the fdb
     * map, and only a CPU that keeps loads in order (x86, TSO) guarantees that a copy made
     * after a bump reflects the change. Elsewhere it would need a load-acquire, which BPF
     * has only since kernel 6.15.
     */
    public static boolean fdbCacheSafeHere() {
        String arch = System.getProperty("os.arch");
        return arch.equals("amd64") || arch.equals("x86_64");
    }

    /** Whether this datapath looks FDB entries up through the per-CPU cache. */
    public boolean fdbCache() {
        return caches.on();
    }

    /** The size of its per-CPU caches. */
    public CacheSize caches() {
        return caches;
    }

    /**
     * The kernel memory its maps take, as the kernel accounts it ({@code memlock} in each map's
     * fdinfo): per-CPU maps count every possible CPU. -1 where the kernel does not say.
     */
    public long kernelMemory() {
        long[] each = object.mapNames().stream().mapToLong(name -> object.map(name).memlock()).toArray();
        return java.util.Arrays.stream(each).anyMatch(n -> n < 0) ? -1 : java.util.Arrays.stream(each).sum();
    }

    /** The FDB generation: how many changes of the fdb map have been announced to the datapath. */
    public long fdbGeneration() {
        return (long) GEN.getVolatile(fdbGen, 0L);
    }

    /**
     * Announces a change of the fdb map, or of a port record or slot, which cached copies also
     * hold: every CPU's copies become stale and the next frame reads the maps. Atomic, since
     * the datapath bumps the same counter after its own deletes; called after the change,
     * never before.
     */
    private void fdbChanged() {
        GEN.getAndAdd(fdbGen, 0L, 1L);
    }

    /**
     * Makes one change of the fdb map under {@link #fdbLock} and announces it before the lock
     * is released, also when the change fails: a batch that failed part way may have written
     * some entries.
     */
    private <T> T changeFdb(Supplier<T> change) {
        fdbLock.lock();
        try {
            return change.get();
        } finally {
            fdbChanged();
            fdbLock.unlock();
        }
    }

    public BpfProgram xdpProgram() {
        return xdp;
    }

    public BpfProgram tcProgram() {
        return tc;
    }

    public BpfObject object() {
        return object;
    }

    public int fdbMax() {
        return fdbMax;
    }

    public BpfLink attachXdp(int ifindex) {
        return xdp.attachXdp(ifindex, XdpMode.NATIVE);
    }

    /** The XDP entry on {@code ifindex}, native mode (never generic: slower than TC, and wrong for cloned skbs). */
    public Hook attachXdpHook(int ifindex) {
        return Hook.xdp(attachXdp(ifindex), xdp.id());
    }

    /**
     * Attaches the TC entry to the ingress of {@code ifindex}: a tcx link where the kernel
     * has them (6.6+) unless {@code attach} says clsact, else a cls_bpf filter under clsact.
     */
    public Hook attachTc(int ifindex, TcAttach attach) {
        if (attach != TcAttach.CLSACT) {
            try {
                return Hook.tcx(tc.attachTcx(ifindex, TcDirection.INGRESS), tc.id());
            } catch (BpfException e) {
                if (attach == TcAttach.TCX || !BpfProgram.isTcxMissing(e)) {
                    throw e;
                }
            }
        }
        return Hook.clsact(ClsBpf.attach(tc, ifindex, TcDirection.INGRESS, CLS_HANDLE, CLS_PRIORITY));
    }

    /**
     * Removes a cls_bpf filter of ours that a daemon killed without cleanup left on
     * {@code ifindex}: it would keep forwarding with maps nobody updates. Returns whether
     * there was one. Filters are recognised by handle, priority and program name.
     */
    public static boolean removeStaleFilter(int ifindex) {
        int id = ClsBpf.query(ifindex, TcDirection.INGRESS, CLS_HANDLE, CLS_PRIORITY);
        if (id == 0 || !BpfProgram.nameOfId(id).equals("xbridge_tc")) {
            return false;
        }
        ClsBpf.detach(ifindex, TcDirection.INGRESS, CLS_HANDLE, CLS_PRIORITY);
        return true;
    }

    /**
     * Puts {@code port} in its slot for {@code ifindex}, then points the ifindex at the slot. The
     * datapath reads array values while they are rewritten in place, so a change goes through the
     * record stepping aside (xbridge.h): flags and state become inert, then the other fields
     * change, then flags and state take their new values. A frame that reads the record meanwhile
     * passes to the kernel; it never sees new fields with old flags. An unchanged record is not
     * written.
     */
    public void putPort(int ifindex, PortRecord port) {
        int slot = port.slot();
        if (slot <= 0 || slot >= MAX_PORTS) {
            throw new IllegalArgumentException("port slot " + slot + " outside 1.." + (MAX_PORTS - 1));
        }
        PortRecord.InSlot now = ports.get(slot).orElse(PortRecord.InSlot.FREE);
        if (now.ifindex() == ifindex) {
            PortRecord was = now.port().inSlot(slot);
            if (was.equals(port)) {
                pointAt(ifindex, slot);
                return;
            }
            if (!was.isSteppingAside()) {
                writePort(slot, new PortRecord.InSlot(ifindex, was.steppingAside()));
            }
        } else if (now.ifindex() != 0) {
            removePort(now.ifindex());
        }
        writePort(slot, new PortRecord.InSlot(ifindex, port.steppingAside()));
        if (!port.isSteppingAside()) {
            writePort(slot, new PortRecord.InSlot(ifindex, port));
        }
        pointAt(ifindex, slot);
    }

    /** Points {@code ifindex} at {@code slot}; a pointer already there is not written, nor announced. */
    private void pointAt(int ifindex, int slot) {
        boolean direct = Integer.compareUnsigned(ifindex, IFINDEX_DIRECT) < 0;
        Optional<Integer> now = direct ? portSlots.get(ifindex) : portSlotsFar.get(ifindex);
        if (now.isPresent() && now.get() == slot) {
            return;
        }
        if (direct) {
            portSlots.put(ifindex, slot);
        } else {
            portSlotsFar.put(ifindex, slot, UpdateFlag.ANY);
        }
        fdbChanged();
    }

    /**
     * Writes one port record, then bumps fdb_gen: fdb_cache's copies carry the record of their
     * entry's port, and flow_cache's the records of both ports of a flow (xbridge.h), so they
     * must not outlive a change of it.
     */
    private void writePort(int slot, PortRecord.InSlot record) {
        ports.put(slot, record);
        fdbChanged();
    }

    private Optional<Integer> slotOf(int ifindex) {
        Optional<Integer> slot = Integer.compareUnsigned(ifindex, IFINDEX_DIRECT) < 0
                ? portSlots.get(ifindex)
                : portSlotsFar.get(ifindex);
        return slot.filter(s -> s > 0 && s < MAX_PORTS);
    }

    /** The port with this ifindex, as the datapath finds it. */
    public Optional<PortRecord> port(int ifindex) {
        return slotOf(ifindex).flatMap(slot -> ports.get(slot)
                .filter(e -> e.ifindex() == ifindex)
                .map(e -> e.port().inSlot(slot)));
    }

    /** Unlinks the ifindex from its slot first, then frees the slot through the record stepping aside. */
    public void removePort(int ifindex) {
        Optional<Integer> slot = slotOf(ifindex);
        boolean unlinked;
        if (Integer.compareUnsigned(ifindex, IFINDEX_DIRECT) < 0) {
            unlinked = slot.isPresent();
            if (unlinked) {
                portSlots.put(ifindex, 0);
            }
        } else {
            unlinked = portSlotsFar.remove(ifindex);
        }
        if (unlinked) {
            fdbChanged();
        }
        if (slot.isEmpty()) {
            return;
        }
        PortRecord.InSlot now = ports.get(slot.get()).orElse(PortRecord.InSlot.FREE);
        if (now.ifindex() != ifindex) {
            return;
        }
        if (!now.port().isSteppingAside()) {
            writePort(slot.get(), new PortRecord.InSlot(ifindex, now.port().steppingAside()));
        }
        writePort(slot.get(), PortRecord.InSlot.FREE);
    }

    /** Makes the port in {@code slot} ({@code ifindex}) an XDP redirect target. */
    public void putTxPort(int slot, int ifindex) {
        txPorts.put(slot, ifindex);
    }

    public void removeTxPort(int slot) {
        txPorts.remove(slot);
    }

    public void putVlan(VlanKey key, VlanValue value) {
        portVlans.put(key, value, UpdateFlag.ANY);
    }

    public Optional<VlanValue> vlan(VlanKey key) {
        return portVlans.get(key);
    }

    public boolean removeVlan(VlanKey key) {
        return portVlans.remove(key);
    }

    /** Every port VLAN entry in the map. */
    public Map<VlanKey, VlanValue> vlanEntries() {
        return portVlans.entries();
    }

    public void putFdb(FdbKey key, FdbValue value) {
        changeFdb(() -> {
            fdb.put(key, value, UpdateFlag.ANY);
            return null;
        });
    }

    public Optional<FdbValue> fdb(FdbKey key) {
        return fdb.get(key);
    }

    public boolean removeFdb(FdbKey key) {
        return changeFdb(() -> fdb.remove(key));
    }

    /**
     * Walks the FDB map with bpf_map_lookup_batch, {@code chunk} entries per call: {@code each}
     * gets keys at {@link FdbKey#SIZE} stride and values at {@link FdbValue#SIZE}, read in
     * place with {@link FdbKey#bridge} etc. It may delete entries it has been given.
     */
    public void scanFdb(int chunk, BpfMap.BatchVisitor each) {
        fdb.map().forEachBatch(chunk, fdbLock, each);
    }

    /** Deletes {@code count} packed keys (bpf_map_delete_batch); keys already gone are skipped. Returns how many went. */
    public int removeFdbBatch(MemorySegment keys, int count) {
        return changeFdb(() -> fdb.map().deleteBatch(keys, count));
    }

    /**
     * Writes {@code count} packed keys and values (bpf_map_update_batch, BPF_ANY). Returns
     * {@code count}; a {@link dev.xbridge.bpf.BpfBatchException} says which entry failed.
     */
    public int putFdbBatch(MemorySegment keys, MemorySegment values, int count) {
        return changeFdb(() -> fdb.map().updateBatch(keys, values, count, UpdateFlag.ANY));
    }

    /** Every FDB entry in the map, read whole between changes (a test's view; it holds off writers meanwhile). */
    public Map<FdbKey, FdbValue> fdbEntries() {
        fdbLock.lock();
        try {
            return fdb.entries();
        } finally {
            fdbLock.unlock();
        }
    }

    /** The sum over CPUs of one slot's counters. */
    public PortStats stats(int slot) {
        return PortStats.sum(stats.get(slot));
    }

    /** Zeroes a slot before it is given to a new port, so counts start at 0. */
    public void resetStats(int slot) {
        stats.putAll(slot, PortStats.zero());
    }

    /** The last decision, when loaded with {@code trace}. */
    public Decision lastDecision() {
        return trace.get(0).orElseThrow();
    }

    public BpfMap rawMap(String name) {
        return object.map(name);
    }

    @Override
    public void close() {
        try {
            mappings.close();
        } finally {
            object.close();
        }
    }
}
