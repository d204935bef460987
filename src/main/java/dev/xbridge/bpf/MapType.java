package dev.xbridge.bpf;

/** enum bpf_map_type, in UAPI order (ordinal == kernel value); {@link #UNKNOWN} for newer kernels' types. */
public enum MapType {
    UNSPEC, HASH, ARRAY, PROG_ARRAY, PERF_EVENT_ARRAY, PERCPU_HASH, PERCPU_ARRAY, STACK_TRACE, CGROUP_ARRAY,
    LRU_HASH, LRU_PERCPU_HASH, LPM_TRIE, ARRAY_OF_MAPS, HASH_OF_MAPS, DEVMAP, SOCKMAP, CPUMAP, XSKMAP, SOCKHASH,
    CGROUP_STORAGE, REUSEPORT_SOCKARRAY, PERCPU_CGROUP_STORAGE, QUEUE, STACK, SK_STORAGE, DEVMAP_HASH, STRUCT_OPS,
    RINGBUF, INODE_STORAGE, TASK_STORAGE, BLOOM_FILTER, USER_RINGBUF, CGRP_STORAGE, ARENA,
    /** Not in this enum (a kernel newer than the bindings). Keep last. */
    UNKNOWN;

    private static final MapType[] VALUES = values();

    public static MapType of(int kernelValue) {
        return kernelValue >= 0 && kernelValue < UNKNOWN.ordinal() ? VALUES[kernelValue] : UNKNOWN;
    }

    /** The kernel's value, BPF_MAP_TYPE_*. */
    public int value() {
        return ordinal();
    }

    /** A per-CPU map: lookups return one value slot per possible CPU. */
    public boolean perCpu() {
        return this == PERCPU_HASH || this == PERCPU_ARRAY || this == LRU_PERCPU_HASH || this == PERCPU_CGROUP_STORAGE;
    }
}
