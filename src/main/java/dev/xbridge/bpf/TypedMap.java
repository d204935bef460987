package dev.xbridge.bpf;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A non-per-CPU map seen through codecs for its key and value.
 *
 * <p>{@link #keys()} and {@link #entries()} walk the map with bpf_map_get_next_key. A key
 * deleted under the walk makes a hash map restart from its first key; the walk then
 * <em>skips</em> keys it has already returned, so each key appears at most once, and
 * {@link #entries()} leaves out keys that vanish before their value is read.
 */
public final class TypedMap<K, V> {
    private final BpfMap map;
    private final Codec<K> key;
    private final Codec<V> value;

    public TypedMap(BpfMap map, Codec<K> key, Codec<V> value) {
        if (map.perCpu()) {
            throw new IllegalArgumentException("map " + map.name() + " is " + map.type() + ": use PerCpuMap");
        }
        checkSizes(map, key, value);
        this.map = map;
        this.key = key;
        this.value = value;
    }

    static void checkSizes(BpfMap map, Codec<?> key, Codec<?> value) {
        if (key.size() != map.keySize()) {
            throw new IllegalArgumentException("map " + map.name() + " has " + map.keySize()
                    + "-byte keys, key codec writes " + key.size());
        }
        if (value.size() != map.valueSize()) {
            throw new IllegalArgumentException("map " + map.name() + " has " + map.valueSize()
                    + "-byte values, value codec writes " + value.size());
        }
    }

    public BpfMap map() {
        return map;
    }

    public Optional<V> get(K k) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment v = arena.allocate(map.valueSize(), 8);
            return map.lookup(encodeKey(arena, k), v) ? Optional.of(value.read(v)) : Optional.empty();
        }
    }

    public void put(K k, V v) {
        put(k, v, UpdateFlag.ANY);
    }

    /** bpf_map_update_elem with {@code flag}; see {@link BpfException#isKeyExists()} and {@link BpfException#isKeyNotFound()}. */
    public void put(K k, V v, UpdateFlag flag) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment vs = arena.allocate(map.valueSize(), 8);
            value.write(vs, v);
            map.update(encodeKey(arena, k), vs, flag);
        }
    }

    /** False if the key was absent. */
    public boolean remove(K k) {
        try (Arena arena = Arena.ofConfined()) {
            return map.delete(encodeKey(arena, k));
        }
    }

    public List<K> keys() {
        return decodeKeys(map, key);
    }

    /** A snapshot, in the kernel's iteration order. */
    public Map<K, V> entries() {
        Map<K, V> out = new LinkedHashMap<>();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment k = arena.allocate(Math.max(1, map.keySize()), 8);
            MemorySegment v = arena.allocate(map.valueSize(), 8);
            for (byte[] raw : map.keyBytes()) {
                MemorySegment.copy(raw, 0, k, ValueLayout.JAVA_BYTE, 0, raw.length);
                if (map.lookup(k, v)) {
                    out.put(key.read(k), value.read(v));
                }
            }
        }
        return out;
    }

    private MemorySegment encodeKey(Arena arena, K k) {
        MemorySegment seg = arena.allocate(Math.max(1, map.keySize()), 8);
        key.write(seg, k);
        return seg;
    }

    /** Decodes raw keys from a native, 8-byte aligned copy, so codecs may use aligned layouts. */
    static <K> List<K> decodeKeys(BpfMap map, Codec<K> key) {
        List<K> out = new ArrayList<>();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment k = arena.allocate(Math.max(1, map.keySize()), 8);
            for (byte[] raw : map.keyBytes()) {
                MemorySegment.copy(raw, 0, k, ValueLayout.JAVA_BYTE, 0, raw.length);
                out.add(key.read(k));
            }
        }
        return out;
    }
}
