package dev.xbridge.bridge;

import dev.xbridge.bpf.Codec;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * {@code struct xb_stats}: one CPU's counters for one port slot, or their sum.
 *
 * @param flowCopies forwarding decisions of this port's frames copied into the per-CPU flow
 *     cache: frames that found no copy of their flow and were forwarded (xbridge.h)
 */
public record PortStats(long[] packets, long redirectBytes, long flowCopies) {
    public static final int PACKETS_OFFSET = 0;
    public static final int REDIRECT_BYTES_OFFSET = 8 * Reason.values().length;
    public static final int FLOW_COPIES_OFFSET = REDIRECT_BYTES_OFFSET + 8;
    /** The datapath's aging clock for this CPU and slot (struct xb_clock): not a counter; zeroed when written. */
    public static final int CLOCK_OFFSET = FLOW_COPIES_OFFSET + 8;
    static final int CLOCK_SIZE = 16;
    public static final int SIZE = CLOCK_OFFSET + CLOCK_SIZE;

    public static PortStats zero() {
        return new PortStats(new long[Reason.values().length], 0, 0);
    }

    public long packets(Reason r) {
        return packets[r.ordinal()];
    }

    /** Frames the fast path forwarded. */
    public long fastPackets() {
        return packets(Reason.REDIRECT);
    }

    /** Frames handed to the kernel bridge. */
    public long slowPackets() {
        long sum = 0;
        for (Reason r : Reason.values()) {
            if (r.isPass()) {
                sum += packets(r);
            }
        }
        return sum;
    }

    public long droppedPackets() {
        return packets(Reason.DROP);
    }

    public Map<Reason, Long> byReason() {
        Map<Reason, Long> m = new EnumMap<>(Reason.class);
        for (Reason r : Reason.values()) {
            m.put(r, packets(r));
        }
        return m;
    }

    public static PortStats sum(List<PortStats> perCpu) {
        long[] total = new long[Reason.values().length];
        long bytes = 0;
        long copies = 0;
        for (PortStats s : perCpu) {
            for (int i = 0; i < total.length; i++) {
                total[i] += s.packets[i];
            }
            bytes += s.redirectBytes;
            copies += s.flowCopies;
        }
        return new PortStats(total, bytes, copies);
    }

    public static final Codec<PortStats> CODEC = new Codec<>() {
        @Override
        public int size() {
            return SIZE;
        }

        @Override
        public void write(MemorySegment s, PortStats v) {
            for (int i = 0; i < v.packets.length; i++) {
                s.set(ValueLayout.JAVA_LONG_UNALIGNED, PACKETS_OFFSET + 8L * i, v.packets[i]);
            }
            s.set(ValueLayout.JAVA_LONG_UNALIGNED, REDIRECT_BYTES_OFFSET, v.redirectBytes);
            s.set(ValueLayout.JAVA_LONG_UNALIGNED, FLOW_COPIES_OFFSET, v.flowCopies);
            s.asSlice(CLOCK_OFFSET, CLOCK_SIZE).fill((byte) 0); // read again at the next frame
        }

        @Override
        public PortStats read(MemorySegment s) {
            long[] p = new long[Reason.values().length];
            for (int i = 0; i < p.length; i++) {
                p[i] = s.get(ValueLayout.JAVA_LONG_UNALIGNED, PACKETS_OFFSET + 8L * i);
            }
            return new PortStats(p, s.get(ValueLayout.JAVA_LONG_UNALIGNED, REDIRECT_BYTES_OFFSET),
                    s.get(ValueLayout.JAVA_LONG_UNALIGNED, FLOW_COPIES_OFFSET));
        }
    };
}
