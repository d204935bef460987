package dev.xbridge.bridge;

import dev.xbridge.bpf.Codec;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * {@code struct xb_vlan}: how a port is a member of one VLAN.
 *
 * @param flags {@link #UNTAGGED}
 * @param state the VLAN's STP state on that port (BR_STATE_*)
 */
public record VlanValue(int flags, int state) {
    public static final int FLAGS_OFFSET = 0;
    public static final int STATE_OFFSET = 1;
    public static final int SIZE = 4;

    /** Egress untagged (BRIDGE_VLAN_INFO_UNTAGGED). */
    public static final int UNTAGGED = 1;

    public boolean untagged() {
        return (flags & UNTAGGED) != 0;
    }

    public static final Codec<VlanValue> CODEC = new Codec<>() {
        @Override
        public int size() {
            return SIZE;
        }

        @Override
        public void write(MemorySegment s, VlanValue v) {
            s.set(ValueLayout.JAVA_BYTE, FLAGS_OFFSET, (byte) v.flags);
            s.set(ValueLayout.JAVA_BYTE, STATE_OFFSET, (byte) v.state);
            s.set(ValueLayout.JAVA_SHORT_UNALIGNED, 2, (short) 0);
        }

        @Override
        public VlanValue read(MemorySegment s) {
            return new VlanValue(Byte.toUnsignedInt(s.get(ValueLayout.JAVA_BYTE, FLAGS_OFFSET)),
                    Byte.toUnsignedInt(s.get(ValueLayout.JAVA_BYTE, STATE_OFFSET)));
        }
    };
}
