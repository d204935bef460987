package dev.xbridge.bridge;

/**
 * The FDB map a resync wants, packed into primitive arrays: an open-addressing hash table
 * (linear probing) from (bridge, VLAN, MAC) to (port, flags). About 40 bytes per entry at
 * the worst load, where a {@code HashMap<FdbKey, FdbValue>} of records costs some 200, so
 * a million-entry FDB fits in a few tens of MB and leaves little for the collector.
 *
 * <p>Each slot can be marked <em>kept</em>: the map already holds the entry as wanted, so the
 * resync must not write it (a write would reset the datapath's {@code sampled_ns}).
 * Single-threaded; slots are addressed by index so callers iterate without allocating.
 */
final class PackedFdb {
    private static final long PRESENT = 1L << 63;
    private static final long KEPT = 1L << 62;
    private static final int FLAGS_BITS = 16;
    private static final long PORT_MASK = 0xffff_ffffL;

    /** VLAN in bits 63..48, MAC in 47..0. */
    private long[] vidMacs;
    private int[] bridges;
    /** 0 for a free slot, else PRESENT | KEPT? | port << 16 | flags. */
    private long[] values;
    private int size;

    PackedFdb() {
        this(1024);
    }

    PackedFdb(int expected) {
        allocate(Math.max(16, Integer.highestOneBit(Math.max(1, expected * 10 / 7)) << 1));
    }

    private void allocate(int capacity) {
        vidMacs = new long[capacity];
        bridges = new int[capacity];
        values = new long[capacity];
    }

    static long vidMac(int vid, long mac) {
        return (long) (vid & 0xffff) << 48 | mac;
    }

    int size() {
        return size;
    }

    /** Slots to iterate over with {@link #occupied(int)}: {@code 0 .. capacity() - 1}. */
    int capacity() {
        return values.length;
    }

    /** Adds or replaces the entry for (bridge, vid, mac); a replaced entry is no longer kept. */
    void put(int bridge, int vid, long mac, int port, int flags) {
        if ((size + 1) * 10L > values.length * 7L) {
            grow();
        }
        long vm = vidMac(vid, mac);
        int slot = probe(bridge, vm);
        if (values[slot] == 0) {
            size++;
            vidMacs[slot] = vm;
            bridges[slot] = bridge;
        }
        values[slot] = PRESENT | (port & PORT_MASK) << FLAGS_BITS | (flags & 0xffff);
    }

    /** The slot holding (bridge, vid, mac), or -1. */
    int find(int bridge, int vid, long mac) {
        int slot = probe(bridge, vidMac(vid, mac));
        return values[slot] == 0 ? -1 : slot;
    }

    boolean occupied(int slot) {
        return values[slot] != 0;
    }

    int bridge(int slot) {
        return bridges[slot];
    }

    int vid(int slot) {
        return (int) (vidMacs[slot] >>> 48);
    }

    long mac(int slot) {
        return vidMacs[slot] & 0xffff_ffff_ffffL;
    }

    int port(int slot) {
        return (int) (values[slot] >>> FLAGS_BITS & PORT_MASK);
    }

    int flags(int slot) {
        return (int) (values[slot] & 0xffff);
    }

    /** Same forwarding meaning as a map value with {@code port} and {@code flags} (cf. {@link FdbValue#sameAs}). */
    boolean sameAs(int slot, int port, int flags) {
        return port(slot) == port && flags(slot) == flags;
    }

    void keep(int slot) {
        values[slot] |= KEPT;
    }

    boolean kept(int slot) {
        return (values[slot] & KEPT) != 0;
    }

    /** The slot of the key, or the free slot where it would go. The table is never full. */
    private int probe(int bridge, long vm) {
        int mask = values.length - 1;
        int slot = hash(bridge, vm) & mask;
        while (values[slot] != 0 && (vidMacs[slot] != vm || bridges[slot] != bridge)) {
            slot = (slot + 1) & mask;
        }
        return slot;
    }

    /** MurmurHash3's 64-bit finaliser: MACs of one vendor differ only in their low bits. */
    private static int hash(int bridge, long vm) {
        long h = vm ^ (long) bridge * 0x9e37_79b9_7f4a_7c15L;
        h ^= h >>> 33;
        h *= 0xff51_afd7_ed55_8ccdL;
        h ^= h >>> 33;
        h *= 0xc4ce_b9fe_1a85_ec53L;
        h ^= h >>> 33;
        return (int) h;
    }

    private void grow() {
        long[] oldVidMacs = vidMacs;
        int[] oldBridges = bridges;
        long[] oldValues = values;
        allocate(oldValues.length * 2);
        for (int i = 0; i < oldValues.length; i++) {
            if (oldValues[i] != 0) {
                int slot = probe(oldBridges[i], oldVidMacs[i]);
                vidMacs[slot] = oldVidMacs[i];
                bridges[slot] = oldBridges[i];
                values[slot] = oldValues[i];
            }
        }
    }
}
