package dev.xbridge.bpf;

import dev.xbridge.sys.Errno;
import dev.xbridge.sys.Native;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * A BPF map: its fd and its shape (type, key and value sizes, max entries).
 *
 * <p>A map of a {@link BpfObject} borrows the object's fd and {@link #close()} does nothing;
 * one from {@link #openPinned(Path)} owns its fd. Keys and values are native segments of at
 * least {@link #keySize()} and {@link #valueBufferSize()} bytes. Map operations are bpf(2)
 * calls and safe from any thread.
 */
public final class BpfMap implements AutoCloseable {
    // UAPI struct bpf_map_info (linux/bpf.h)
    static final long MAP_INFO_SIZE = 88;
    static final long MAP_INFO_TYPE_OFFSET = 0;
    static final long MAP_INFO_ID_OFFSET = 4;
    static final long MAP_INFO_KEY_SIZE_OFFSET = 8;
    static final long MAP_INFO_VALUE_SIZE_OFFSET = 12;
    static final long MAP_INFO_MAX_ENTRIES_OFFSET = 16;
    static final long MAP_INFO_NAME_OFFSET = 24;
    static final int BPF_OBJ_NAME_LEN = 16;

    // libbpf bpf.h struct bpf_map_batch_opts (libbpf 1.1.2): sz, elem_flags, flags
    private static final long BATCH_OPTS_SIZE = 24;
    private static final long BATCH_OPTS_ELEM_FLAGS_OFFSET = 8;

    private final String name;
    private final MapType type;
    private final int keySize;
    private final int valueSize;
    private final int maxEntries;
    private final BpfObject owner;
    private volatile int fd;
    private volatile Path pinnedAt;

    BpfMap(int fd, String name, MapType type, int keySize, int valueSize, int maxEntries, BpfObject owner) {
        this.fd = fd;
        this.name = name;
        this.type = type;
        this.keySize = keySize;
        this.valueSize = valueSize;
        this.maxEntries = maxEntries;
        this.owner = owner;
    }

    /** Opens the map pinned at {@code path} (bpf_obj_get) and reads its shape (bpf_obj_get_info_by_fd). */
    public static BpfMap openPinned(Path path) {
        int fd = BpfFd.get(path);
        try (Arena arena = Arena.ofConfined()) {
            String kind = BpfFd.kind(fd);
            if (!kind.equals("map")) {
                throw new IllegalArgumentException(path + " holds a BPF " + kind + ", not a map");
            }
            MemorySegment info = BpfFd.info(fd, MAP_INFO_SIZE, arena, "map pinned at " + path);
            BpfMap map = new BpfMap(fd,
                    info.asSlice(MAP_INFO_NAME_OFFSET, BPF_OBJ_NAME_LEN).getString(0),
                    MapType.of(info.get(ValueLayout.JAVA_INT, MAP_INFO_TYPE_OFFSET)),
                    info.get(ValueLayout.JAVA_INT, MAP_INFO_KEY_SIZE_OFFSET),
                    info.get(ValueLayout.JAVA_INT, MAP_INFO_VALUE_SIZE_OFFSET),
                    info.get(ValueLayout.JAVA_INT, MAP_INFO_MAX_ENTRIES_OFFSET),
                    null);
            map.pinnedAt = path;
            return map;
        } catch (RuntimeException e) {
            BpfFd.close(fd);
            throw e;
        }
    }

    public int fd() {
        int f = fd;
        if (f < 0 || (owner != null && owner.isClosed())) {
            throw new IllegalStateException("map " + name + " is closed");
        }
        return f;
    }

    /** The kernel's map name (BPF_OBJ_NAME_LEN: at most 15 characters). */
    public String name() {
        return name;
    }

    public MapType type() {
        return type;
    }

    public int keySize() {
        return keySize;
    }

    public int valueSize() {
        return valueSize;
    }

    public int maxEntries() {
        return maxEntries;
    }

    public boolean perCpu() {
        return type.perCpu();
    }

    /** The kernel's map id (bpf_map_info.id), as bpftool shows it. */
    public int id() {
        try (Arena arena = Arena.ofConfined()) {
            return BpfFd.info(fd(), MAP_INFO_SIZE, arena, "map " + name).get(ValueLayout.JAVA_INT, MAP_INFO_ID_OFFSET);
        }
    }

    /**
     * The kernel memory the map takes, as the kernel accounts it: the {@code memlock} line of
     * its fdinfo (bpf_map_show_fdinfo; the map's own map_mem_usage since 6.4, an estimate from
     * its shape before). Per-CPU maps count every possible CPU. -1 if the kernel says nothing.
     */
    public long memlock() {
        Path fdinfo = Path.of("/proc/self/fdinfo/" + fd());
        try {
            for (String line : java.nio.file.Files.readAllLines(fdinfo)) {
                if (line.startsWith("memlock:")) {
                    return Long.parseLong(line.substring("memlock:".length()).trim());
                }
            }
            return -1;
        } catch (java.io.IOException | NumberFormatException e) {
            throw new IllegalStateException("map " + name + ": cannot read memlock from " + fdinfo + ": " + e, e);
        }
    }

    /**
     * Bytes per value slot: per-CPU maps store each CPU's value at an 8-byte aligned stride
     * (round_up(value_size, 8) in kernel/bpf/syscall.c bpf_map_value_size), others just valueSize.
     */
    public int valueSlotSize() {
        return perCpu() ? (valueSize + 7) & ~7 : valueSize;
    }

    /** Bytes a lookup writes: {@code possibleCpus * valueSlotSize} for per-CPU maps, else valueSize. */
    public int valueBufferSize() {
        return perCpu() ? LibBpf.possibleCpus() * valueSlotSize() : valueSize;
    }

    /** bpf_map_lookup_elem; false if the key is absent. For per-CPU maps, {@code value} gets every CPU's slot. */
    public boolean lookup(MemorySegment key, MemorySegment value) {
        checkKey(key, "key");
        checkValue(value, valueBufferSize());
        try {
            MemorySegment capture = LibBpf.capture();
            int rc = (int) LibBpf.MAP_LOOKUP_ELEM.invokeExact(capture, fd(), key, value);
            return absentOrOk(rc, capture, "bpf_map_lookup_elem");
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /** bpf_map_update_elem. EEXIST (NOEXIST) and ENOENT (EXIST) come as {@link BpfException}. */
    public void update(MemorySegment key, MemorySegment value, UpdateFlag flag) {
        checkKey(key, "key");
        checkValue(value, valueBufferSize());
        try {
            MemorySegment capture = LibBpf.capture();
            int rc = (int) LibBpf.MAP_UPDATE_ELEM.invokeExact(capture, fd(), key, value, (long) flag.value());
            if (rc < 0) {
                throw new BpfException("bpf_map_update_elem " + name, LibBpf.errno(rc, capture));
            }
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /** bpf_map_delete_elem; false if the key was absent. Arrays cannot delete (EINVAL). */
    public boolean delete(MemorySegment key) {
        checkKey(key, "key");
        try {
            MemorySegment capture = LibBpf.capture();
            int rc = (int) LibBpf.MAP_DELETE_ELEM.invokeExact(capture, fd(), key);
            return absentOrOk(rc, capture, "bpf_map_delete_elem");
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /**
     * bpf_map_get_next_key: writes the key after {@code keyOrNull} (the first key when null)
     * into {@code next}; false at the end. For a hash map, a {@code keyOrNull} that is no
     * longer present yields the first key again (htab_map_get_next_key), so iteration restarts.
     */
    public boolean nextKey(MemorySegment keyOrNull, MemorySegment next) {
        if (keyOrNull != null) {
            checkKey(keyOrNull, "key");
        }
        checkKey(next, "next");
        try {
            MemorySegment capture = LibBpf.capture();
            MemorySegment key = keyOrNull == null ? MemorySegment.NULL : keyOrNull;
            int rc = (int) LibBpf.MAP_GET_NEXT_KEY.invokeExact(capture, fd(), key, next);
            return absentOrOk(rc, capture, "bpf_map_get_next_key");
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /**
     * bpf_map_update_batch: {@code count} keys and values packed back to back (values at
     * {@link #valueBufferSize()} stride). Returns how many were applied; on an error a
     * {@link BpfBatchException} says how many were applied before it.
     *
     * <p>Only {@link UpdateFlag#ANY}: the kernel's generic_map_update_batch accepts no
     * element flag but BPF_F_LOCK and answers EINVAL to BPF_NOEXIST / BPF_EXIST.
     */
    public int updateBatch(MemorySegment keys, MemorySegment values, int count, UpdateFlag flag) {
        if (count < 0) {
            throw new IllegalArgumentException("count " + count);
        }
        if (flag != UpdateFlag.ANY) {
            throw new IllegalArgumentException("bpf_map_update_batch " + name + ": the kernel takes no "
                    + flag + " for batches (generic_map_update_batch: elem_flags may only be BPF_F_LOCK)");
        }
        if (count == 0) {
            return 0;
        }
        checkSize(keys, (long) count * keySize, "keys");
        checkSize(values, (long) count * valueBufferSize(), "values");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment opts = arena.allocate(BATCH_OPTS_SIZE, 8);
            opts.set(ValueLayout.JAVA_LONG, 0, BATCH_OPTS_SIZE);
            opts.set(ValueLayout.JAVA_LONG, BATCH_OPTS_ELEM_FLAGS_OFFSET, flag.value());
            MemorySegment countInOut = arena.allocateFrom(ValueLayout.JAVA_INT, count);
            MemorySegment capture = LibBpf.capture();
            int rc = (int) LibBpf.MAP_UPDATE_BATCH.invokeExact(capture, fd(), keys, values, countInOut, opts);
            int applied = countInOut.get(ValueLayout.JAVA_INT, 0);
            if (rc < 0) {
                // The kernel writes count back only once it starts on the elements; a failed
                // element is never counted, so count unchanged means nothing was applied.
                if (applied >= count) {
                    applied = 0;
                }
                throw new BpfBatchException("bpf_map_update_batch " + name, LibBpf.errno(rc, capture), applied, count);
            }
            return applied;
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /**
     * bpf_map_delete_batch of {@code count} keys packed back to back. The kernel deletes them
     * in order and stops at the first that fails (generic_map_delete_batch); a key that is
     * already gone (ENOENT, e.g. the datapath deleted it meanwhile) is skipped and the rest
     * are deleted. Returns how many were deleted.
     */
    public int deleteBatch(MemorySegment keys, int count) {
        if (count < 0) {
            throw new IllegalArgumentException("count " + count);
        }
        checkSize(keys, (long) count * keySize, "keys");
        int deleted = 0;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment opts = batchOpts(arena);
            MemorySegment countInOut = arena.allocate(ValueLayout.JAVA_INT);
            int from = 0;
            while (from < count) {
                countInOut.set(ValueLayout.JAVA_INT, 0, count - from);
                MemorySegment capture = LibBpf.capture();
                int rc = (int) LibBpf.MAP_DELETE_BATCH.invokeExact(capture, fd(),
                        keys.asSlice((long) from * keySize), countInOut, opts);
                int done = countInOut.get(ValueLayout.JAVA_INT, 0);
                if (rc == 0) {
                    return deleted + done;
                }
                int errno = LibBpf.errno(rc, capture);
                if (errno != Errno.ENOENT.code() || done >= count - from) {
                    throw new BpfBatchException("bpf_map_delete_batch " + name, errno, from + done, count);
                }
                deleted += done;
                from += done + 1; // the absent key
            }
            return deleted;
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /** One call of a {@link #forEachBatch} walk: {@code count} keys and values packed back to back. */
    @FunctionalInterface
    public interface BatchVisitor {
        void accept(MemorySegment keys, MemorySegment values, int count);
    }

    /**
     * Reads every entry with bpf_map_lookup_batch, up to {@code chunk} per call, and hands
     * each call's keys and values (values at {@link #valueBufferSize()} stride) to
     * {@code visitor}; the segments are reused by the next call. Returns the number of
     * entries visited.
     *
     * <p>Kernel semantics this relies on (kernel/bpf/hashtab.c __htab_map_lookup_and_delete_batch):
     * the batch token of a hash map is a bucket index, so entries of buckets already read may
     * be deleted by the visitor without disturbing the walk; the last call fails with ENOENT
     * and still returns its entries; a bucket larger than {@code count} fails with ENOSPC and
     * nothing read, so the call is repeated with room for twice as many. As with
     * {@link #keyBytes()}, entries added or deleted by others during the walk may or may not
     * be seen, but no entry is seen twice.
     */
    public long forEachBatch(int chunk, BatchVisitor visitor) {
        return forEachBatch(chunk, null, visitor);
    }

    /**
     * {@link #forEachBatch(int, BatchVisitor)}, each bpf_map_lookup_batch call made holding
     * {@code perRead} (not the visitor's work): for callers whose writers change the map in
     * steps that a reader must see whole.
     */
    public long forEachBatch(int chunk, java.util.concurrent.locks.Lock perRead, BatchVisitor visitor) {
        if (chunk <= 0) {
            throw new IllegalArgumentException("chunk " + chunk);
        }
        try (Arena arena = Arena.ofConfined()) {
            // The token is opaque: a u32 bucket for hash maps, a key for the generic batch ops.
            long tokenSize = Math.max(8, keySize);
            MemorySegment in = arena.allocate(tokenSize, 8);
            MemorySegment out = arena.allocate(tokenSize, 8);
            MemorySegment opts = batchOpts(arena);
            MemorySegment countInOut = arena.allocate(ValueLayout.JAVA_INT);
            int room = chunk;
            MemorySegment keys = arena.allocate((long) room * keySize, 8);
            MemorySegment values = arena.allocate((long) room * valueBufferSize(), 8);
            boolean first = true;
            long total = 0;
            while (true) {
                countInOut.set(ValueLayout.JAVA_INT, 0, room);
                MemorySegment capture = LibBpf.capture();
                // A local, not a conditional in the call: invokeExact would see that as Object.
                MemorySegment from = first ? MemorySegment.NULL : in;
                if (perRead != null) {
                    perRead.lock();
                }
                int rc;
                try {
                    rc = (int) LibBpf.MAP_LOOKUP_BATCH.invokeExact(capture, fd(), from, out, keys, values, countInOut, opts);
                } finally {
                    if (perRead != null) {
                        perRead.unlock();
                    }
                }
                int n = countInOut.get(ValueLayout.JAVA_INT, 0);
                int errno = rc < 0 ? LibBpf.errno(rc, capture) : 0;
                if (errno == Errno.ENOSPC.code() && n == 0) {
                    room *= 2;
                    keys = arena.allocate((long) room * keySize, 8);
                    values = arena.allocate((long) room * valueBufferSize(), 8);
                    continue;
                }
                if (errno != 0 && errno != Errno.ENOENT.code()) {
                    throw new BpfException("bpf_map_lookup_batch " + name, errno);
                }
                if (n > 0) {
                    visitor.accept(keys, values, n);
                    total += n;
                }
                if (errno == Errno.ENOENT.code()) {
                    return total;
                }
                MemorySegment.copy(out, 0, in, 0, tokenSize);
                first = false;
            }
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    private static MemorySegment batchOpts(Arena arena) {
        MemorySegment opts = arena.allocate(BATCH_OPTS_SIZE, 8);
        opts.set(ValueLayout.JAVA_LONG, 0, BATCH_OPTS_SIZE);
        return opts;
    }

    /**
     * Every key, in the kernel's iteration order, as raw bytes. A hash map's
     * bpf_map_get_next_key restarts from the first key when the cursor key was deleted
     * meanwhile (htab_map_get_next_key); keys already seen are then skipped, so each key
     * appears once. Keys added during the walk may or may not appear. The walk is bounded
     * (4 * maxEntries + 64 steps) so a map churning faster than we read still ends.
     */
    List<byte[]> keyBytes() {
        List<byte[]> keys = new ArrayList<>();
        Set<ByteBuffer> seen = new HashSet<>();
        long budget = 4L * maxEntries + 64;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment cursor = arena.allocate(Math.max(1, keySize), 8);
            MemorySegment next = arena.allocate(Math.max(1, keySize), 8);
            boolean first = true;
            while (budget-- > 0 && nextKey(first ? null : cursor, next)) {
                first = false;
                byte[] key = next.asSlice(0, keySize).toArray(ValueLayout.JAVA_BYTE);
                if (seen.add(ByteBuffer.wrap(key))) {
                    keys.add(key);
                }
                MemorySegment.copy(next, 0, cursor, 0, keySize);
            }
        }
        return keys;
    }

    /**
     * Maps the values of an array map created with BPF_F_MMAPABLE into this process: the
     * segment is the map's memory, which the datapath reads and writes too (so accesses that
     * race with it want atomic or volatile access modes). Unmapped when {@code arena} closes.
     */
    public MemorySegment mmap(Arena arena) {
        if (type != MapType.ARRAY) {
            throw new IllegalArgumentException("map " + name + " is " + type + "; only an ARRAY map can be mmapped");
        }
        // An array's elements sit at round_up(value_size, 8) (kernel/bpf/arraymap.c elem_size);
        // mmap rounds the length up to whole pages itself.
        long bytes = (long) ((valueSize + 7) & ~7) * maxEntries;
        return dev.xbridge.sys.Libc.mmapShared(fd(), bytes, arena, "map " + name);
    }

    /** Pins the map at {@code path} in a bpffs (bpf_obj_pin). */
    public void pin(Path path) {
        BpfFd.pin(fd(), path, "map " + name);
        pinnedAt = path;
    }

    /** Removes the pin made by {@link #pin} or opened by {@link #openPinned}. */
    public void unpin() {
        Path path = pinnedAt;
        if (path == null) {
            throw new IllegalStateException("map " + name + " is not pinned");
        }
        BpfFd.unpin(path, "map " + name);
        pinnedAt = null;
    }

    /** Closes an fd this map owns; does nothing for a map of a {@link BpfObject}. Idempotent. */
    @Override
    public void close() {
        if (owner != null) {
            return;
        }
        int f;
        synchronized (this) {
            f = fd;
            fd = -1;
        }
        if (f >= 0) {
            BpfFd.close(f);
        }
    }

    @Override
    public String toString() {
        return "BpfMap[" + name + " " + type + " key=" + keySize + " value=" + valueSize + " max=" + maxEntries + "]";
    }

    private boolean absentOrOk(int rc, MemorySegment capture, String call) {
        if (rc == 0) {
            return true;
        }
        int errno = LibBpf.errno(rc, capture);
        if (errno == Errno.ENOENT.code()) {
            return false;
        }
        throw new BpfException(call + " " + name, errno);
    }

    private void checkKey(MemorySegment key, String what) {
        checkSize(key, keySize, what);
    }

    private void checkValue(MemorySegment value, long size) {
        checkSize(value, size, "value");
    }

    private void checkSize(MemorySegment seg, long size, String what) {
        if (seg.byteSize() < size) {
            throw new IllegalArgumentException(
                    "map " + name + ": " + what + " segment has " + seg.byteSize() + " bytes, needs " + size);
        }
    }
}
