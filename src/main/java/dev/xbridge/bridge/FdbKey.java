package dev.xbridge.bridge;

import dev.xbridge.bpf.Codec;
import dev.xbridge.netlink.MacAddress;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** {@code struct xb_fdb_key}: one FDB entry's identity, per bridge and VLAN (0 without VLAN filtering). */
public record FdbKey(int bridge, int vid, MacAddress mac) {
    public static final int BRIDGE_OFFSET = 0;
    public static final int VID_OFFSET = 4;
    public static final int MAC_OFFSET = 6;
    public static final int SIZE = 12;

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
