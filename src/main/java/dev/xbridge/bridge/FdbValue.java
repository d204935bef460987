package dev.xbridge.bridge;

import dev.xbridge.bpf.Codec;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * {@code struct xb_fdb_val}. {@code sampledNanos} is written by the datapath
 * (CLOCK_MONOTONIC, the clock of System.nanoTime, read at most a tick before) when it
 * hands a frame from this MAC to the kernel so the kernel refreshes the entry.
 */
public record FdbValue(int port, int flags, long sampledNanos) {
    public static final int PORT_OFFSET = 0;
    public static final int FLAGS_OFFSET = 4;
    public static final int SAMPLED_OFFSET = 8;
    public static final int SIZE = 16;

    /** The value at {@code off}: its port. Reads in place and allocates nothing, like {@link #flags}. */
    public static int port(MemorySegment s, long off) {
        return s.get(ValueLayout.JAVA_INT_UNALIGNED, off + PORT_OFFSET);
    }

    public static int flags(MemorySegment s, long off) {
        return Short.toUnsignedInt(s.get(ValueLayout.JAVA_SHORT_UNALIGNED, off + FLAGS_OFFSET));
    }

    /** Writes a value at {@code off} from its fields. */
    public static void write(MemorySegment s, long off, int port, int flags, long sampledNanos) {
        s.set(ValueLayout.JAVA_INT_UNALIGNED, off + PORT_OFFSET, port);
        s.set(ValueLayout.JAVA_SHORT_UNALIGNED, off + FLAGS_OFFSET, (short) flags);
        s.set(ValueLayout.JAVA_SHORT_UNALIGNED, off + FLAGS_OFFSET + 2, (short) 0);
        s.set(ValueLayout.JAVA_LONG_UNALIGNED, off + SAMPLED_OFFSET, sampledNanos);
    }

    /** XB_FDB_LOCAL: the MAC belongs to the host. */
    public static final int LOCAL = 1;
    /** XB_FDB_REFRESH: dynamic, so the daemon refreshes it while the fast path uses it. */
    public static final int REFRESH = 1 << 1;
    /** XB_FDB_STICKY: the kernel never moves it, so the datapath keeps it when its MAC shows up elsewhere. */
    public static final int STICKY = 1 << 2;

    public boolean isLocal() {
        return (flags & LOCAL) != 0;
    }

    public boolean refreshes() {
        return (flags & REFRESH) != 0;
    }

    /** Same forwarding meaning, ignoring the datapath-owned seen time. */
    public boolean sameAs(FdbValue other) {
        return other != null && port == other.port && flags == other.flags;
    }

    public static final Codec<FdbValue> CODEC = new Codec<>() {
        @Override
        public int size() {
            return SIZE;
        }

        @Override
        public void write(MemorySegment s, FdbValue v) {
            s.set(ValueLayout.JAVA_INT_UNALIGNED, PORT_OFFSET, v.port);
            s.set(ValueLayout.JAVA_SHORT_UNALIGNED, FLAGS_OFFSET, (short) v.flags);
            s.set(ValueLayout.JAVA_SHORT_UNALIGNED, FLAGS_OFFSET + 2, (short) 0);
            s.set(ValueLayout.JAVA_LONG_UNALIGNED, SAMPLED_OFFSET, v.sampledNanos);
        }

        @Override
        public FdbValue read(MemorySegment s) {
            return new FdbValue(
                    s.get(ValueLayout.JAVA_INT_UNALIGNED, PORT_OFFSET),
                    Short.toUnsignedInt(s.get(ValueLayout.JAVA_SHORT_UNALIGNED, FLAGS_OFFSET)),
                    s.get(ValueLayout.JAVA_LONG_UNALIGNED, SAMPLED_OFFSET));
        }
    };
}
