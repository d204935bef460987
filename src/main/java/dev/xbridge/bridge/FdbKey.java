package dev.xbridge.bridge;

import dev.xbridge.bpf.Codec;
import dev.xbridge.netlink.MacAddress;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** {@code struct xb_fdb_key}: one FDB entry's identity, per bridge and VLAN (0 without VLAN filtering). */
public record FdbKey(int bridge, int vid, MacAddress mac) {
    public static final int BRIDGE_OFFSET = 0;
    public static final int VID_OFFSET = 4;
    public static final int MAC_OFFSET = 6;
    public static final int SIZE = 12;

    // The MAC is six octets in wire order: its first two as a big-endian u16, the other four as a u32.
    private static final ValueLayout.OfShort MAC_HIGH = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfInt MAC_LOW = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    /** The key at {@code off}: its bridge. Reads in place and allocates nothing, like the accessors below. */
    public static int bridge(MemorySegment s, long off) {
        return s.get(ValueLayout.JAVA_INT_UNALIGNED, off + BRIDGE_OFFSET);
    }

    public static int vid(MemorySegment s, long off) {
        return Short.toUnsignedInt(s.get(ValueLayout.JAVA_SHORT_UNALIGNED, off + VID_OFFSET));
    }

    /** The MAC as {@link MacAddress#bits()}. */
    public static long macBits(MemorySegment s, long off) {
        return (Short.toUnsignedLong(s.get(MAC_HIGH, off + MAC_OFFSET)) << 32)
                | Integer.toUnsignedLong(s.get(MAC_LOW, off + MAC_OFFSET + 2));
    }

    /** Writes a key at {@code off} from its fields, {@code mac} as {@link MacAddress#bits()}. */
    public static void write(MemorySegment s, long off, int bridge, int vid, long mac) {
        s.set(ValueLayout.JAVA_INT_UNALIGNED, off + BRIDGE_OFFSET, bridge);
        s.set(ValueLayout.JAVA_SHORT_UNALIGNED, off + VID_OFFSET, (short) vid);
        s.set(MAC_HIGH, off + MAC_OFFSET, (short) (mac >>> 32));
        s.set(MAC_LOW, off + MAC_OFFSET + 2, (int) mac);
    }

    public static final Codec<FdbKey> CODEC = new Codec<>() {
        @Override
        public int size() {
            return SIZE;
        }

        @Override
        public void write(MemorySegment s, FdbKey k) {
            s.set(ValueLayout.JAVA_INT_UNALIGNED, BRIDGE_OFFSET, k.bridge);
            s.set(ValueLayout.JAVA_SHORT_UNALIGNED, VID_OFFSET, (short) k.vid);
            MemorySegment.copy(k.mac.bytes(), 0, s, ValueLayout.JAVA_BYTE, MAC_OFFSET, 6);
        }

        @Override
        public FdbKey read(MemorySegment s) {
            byte[] mac = new byte[6];
            MemorySegment.copy(s, ValueLayout.JAVA_BYTE, MAC_OFFSET, mac, 0, 6);
            return new FdbKey(
                    s.get(ValueLayout.JAVA_INT_UNALIGNED, BRIDGE_OFFSET),
                    Short.toUnsignedInt(s.get(ValueLayout.JAVA_SHORT_UNALIGNED, VID_OFFSET)),
                    MacAddress.of(mac));
        }
    };
}
