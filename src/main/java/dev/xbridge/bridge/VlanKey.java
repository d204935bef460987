package dev.xbridge.bridge;

import dev.xbridge.bpf.Codec;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** {@code struct xb_vlan_key}: a port's membership of one VLAN, the key of the port_vlans map. */
public record VlanKey(int ifindex, int vid) {
    public static final int IFINDEX_OFFSET = 0;
    public static final int VID_OFFSET = 4;
    public static final int SIZE = 8;

    public static final Codec<VlanKey> CODEC = new Codec<>() {
        @Override
        public int size() {
            return SIZE;
        }

        @Override
        public void write(MemorySegment s, VlanKey k) {
            s.set(ValueLayout.JAVA_INT_UNALIGNED, IFINDEX_OFFSET, k.ifindex);
            s.set(ValueLayout.JAVA_SHORT_UNALIGNED, VID_OFFSET, (short) k.vid);
            s.set(ValueLayout.JAVA_SHORT_UNALIGNED, VID_OFFSET + 2, (short) 0);
        }

        @Override
        public VlanKey read(MemorySegment s) {
            return new VlanKey(s.get(ValueLayout.JAVA_INT_UNALIGNED, IFINDEX_OFFSET),
                    Short.toUnsignedInt(s.get(ValueLayout.JAVA_SHORT_UNALIGNED, VID_OFFSET)));
        }
    };
}
