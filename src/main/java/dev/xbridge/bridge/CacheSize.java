package dev.xbridge.bridge;

import java.util.Locale;

/**
 * The size of the datapath's two per-CPU caches (xbridge.h: {@code flow_cache} and
 * {@code fdb_cache}): {@code flow_cache} has 2^bits sets per CPU and {@code fdb_cache} twice as
 * many. Every CPU the kernel counts as possible gets its own copy of both (per-CPU map values
 * are allocated for possible CPUs, not just online ones, and the loader sizes the plain array
 * that holds each CPU's flow sets the same way), so their memory grows with the CPU count:
 * the full size, 640 KiB a CPU, is 80 MiB on a host with 128 possible CPUs.
 * {@link #fitting} picks the largest size whose total stays within a budget. Fewer sets cost
 * only hits (more keys share a set), never a wrong decision: a copy is checked against its key.
 *
 * @param bits log2 of {@code flow_cache}'s sets per CPU, {@link #MIN_BITS} to {@link #MAX_BITS};
 *     0 for no caches ({@link #OFF})
 */
public record CacheSize(int bits) {
    /** XB_FLOW_CACHE_BITS: the maps' compiled size, and the largest the loader chooses. */
    public static final int MAX_BITS = 11;
    /** Below 64 flow sets the caches would miss for all but a handful of flows: off instead. */
    public static final int MIN_BITS = 6;
    /** sizeof(struct xb_flow_set) and sizeof(struct xb_fdb_cache_set); DatapathTest checks both against BTF. */
    public static final int FLOW_SET_BYTES = 128;
    public static final int FDB_SET_BYTES = 96;
    /** The default budget for both caches over all possible CPUs: the full size up to 51 of them. */
    public static final long DEFAULT_BUDGET = 32L << 20;
    public static final CacheSize OFF = new CacheSize(0);
    public static final CacheSize FULL = new CacheSize(MAX_BITS);

    public CacheSize {
        if (bits != 0 && (bits < MIN_BITS || bits > MAX_BITS)) {
            throw new IllegalArgumentException("cache size of 2^" + bits + " flow sets: must be 2^" + MIN_BITS
                    + " to 2^" + MAX_BITS + ", or off");
        }
    }

    /**
     * The largest size whose caches over {@code possibleCpus} CPUs take at most {@code budget}
     * bytes; {@link #OFF} when even the smallest does not fit.
     */
    public static CacheSize fitting(long budget, int possibleCpus) {
        if (possibleCpus < 1) {
            throw new IllegalArgumentException("possible CPUs: " + possibleCpus);
        }
        for (int bits = MAX_BITS; bits >= MIN_BITS; bits--) {
            if (new CacheSize(bits).bytesPerCpu() * possibleCpus <= budget) {
                return new CacheSize(bits);
            }
        }
        return OFF;
    }

    public boolean on() {
        return bits != 0;
    }

    public int flowSets() {
        return on() ? 1 << bits : 0;
    }

    public int fdbSets() {
        return on() ? 1 << (bits + 1) : 0;
    }

    /** What the two caches take on one CPU. */
    public long bytesPerCpu() {
        return (long) flowSets() * FLOW_SET_BYTES + (long) fdbSets() * FDB_SET_BYTES;
    }

    /** The hash shift that selects {@code flow_cache}'s set (xb_flow_cache_shift): its top bits. */
    int flowShift() {
        return 32 - (on() ? bits : MAX_BITS);
    }

    /** The same for {@code fdb_cache} (xb_fdb_cache_shift). */
    int fdbShift() {
        return flowShift() - 1;
    }

    /** "2048 flow sets, 4096 FDB sets: 640 KiB a CPU", or "off". */
    @Override
    public String toString() {
        return on() ? flowSets() + " flow sets, " + fdbSets() + " FDB sets: " + bytes(bytesPerCpu()) + " a CPU" : "off";
    }

    /** A byte count in KiB or MiB, as the status and the log show it. */
    public static String bytes(long n) {
        if (n >= 10L << 20) {
            return (n >> 20) + " MiB";
        }
        if (n >= 1L << 20) {
            return String.format(Locale.ROOT, "%.1f MiB", n / (double) (1 << 20));
        }
        return (n >> 10) + " KiB";
    }

    /**
     * A size such as 32M, 512K, 1G or a plain byte count, as {@code --cache-memory} takes it; 0
     * turns the caches off.
     */
    public static long parseBytes(String text) {
        String s = text.trim().toUpperCase(Locale.ROOT);
        if (s.endsWith("IB")) {
            s = s.substring(0, s.length() - 2);
        } else if (s.endsWith("B")) {
            s = s.substring(0, s.length() - 1);
        }
        int shift = 0;
        if (!s.isEmpty()) {
            switch (s.charAt(s.length() - 1)) {
                case 'K' -> shift = 10;
                case 'M' -> shift = 20;
                case 'G' -> shift = 30;
                default -> shift = -1;
            }
            if (shift >= 0) {
                s = s.substring(0, s.length() - 1);
            } else {
                shift = 0;
            }
        }
        long n;
        try {
            n = Long.parseLong(s.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + text + "' is not a size: use bytes or a K, M or G suffix, e.g. 32M");
        }
        if (n < 0 || n > (Long.MAX_VALUE >> shift)) {
            throw new IllegalArgumentException("'" + text + "' is out of range: a size is 0 or more bytes, below 8 EiB");
        }
        return n << shift;
    }
}
