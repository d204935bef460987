package dev.xbridge.bpf;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * A per-CPU map (PERCPU_HASH, PERCPU_ARRAY, LRU_PERCPU_HASH) through codecs: each key
 * holds one value per possible CPU, at {@link BpfMap#valueSlotSize()} stride.
 */
public final class PerCpuMap<K, V> {
    private final BpfMap map;
    private final Codec<K> key;
    private final Codec<V> value;

    public PerCpuMap(BpfMap map, Codec<K> key, Codec<V> value) {
        if (!map.perCpu()) {
            throw new IllegalArgumentException("map " + map.name() + " is " + map.type() + ", not per-CPU: use TypedMap");
        }
        TypedMap.checkSizes(map, key, value);
        this.map = map;
        this.key = key;
        this.value = value;
    }

    public BpfMap map() {
        return map;
    }

    /** One value per possible CPU, index = CPU number; empty if the key is absent. */
    public List<V> get(K k) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment values = arena.allocate(map.valueBufferSize(), 8);
            if (!map.lookup(encodeKey(arena, k), values)) {
                return List.of();
            }
            int cpus = LibBpf.possibleCpus();
            int slot = map.valueSlotSize();
            List<V> out = new ArrayList<>(cpus);
            for (int cpu = 0; cpu < cpus; cpu++) {
                out.add(value.read(values.asSlice((long) cpu * slot, map.valueSize())));
            }
            return out;
        }
    }

    /** Sets every CPU's value for {@code k} to {@code v} (BPF_ANY). */
    public void putAll(K k, V v) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment values = arena.allocate(map.valueBufferSize(), 8);
            int slot = map.valueSlotSize();
            for (int cpu = 0, cpus = LibBpf.possibleCpus(); cpu < cpus; cpu++) {
                value.write(values.asSlice((long) cpu * slot, map.valueSize()), v);
            }
            map.update(encodeKey(arena, k), values, UpdateFlag.ANY);
        }
    }

    /** Every key; same walk as {@link TypedMap#keys()}. */
    public List<K> keys() {
        return TypedMap.decodeKeys(map, key);
    }

    private MemorySegment encodeKey(Arena arena, K k) {
        MemorySegment seg = arena.allocate(Math.max(1, map.keySize()), 8);
        key.write(seg, k);
        return seg;
    }
}
