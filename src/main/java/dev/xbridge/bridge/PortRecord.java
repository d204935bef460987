package dev.xbridge.bridge;

import dev.xbridge.bpf.Codec;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * {@code struct xb_port}: a port as the datapath sees it. The ports array holds it at
 * {@code slot}, with the port's ifindex ({@link InSlot}); port_slots maps the ifindex back.
 *
 * @param mtu the port's MTU, 0 for no check (TC redirects skip the kernel's is_skb_forwardable)
 * @param sampleMillis aging: one frame per source this often goes to the kernel, 0 for never
 * @param pvid with {@link #VLAN}: the port's PVID, 0 for none
 * @param vlanProtocol with {@link #VLAN}: the bridge's vlan_protocol (0x8100 or 0x88a8), host order here
 */
public record PortRecord(int bridge, int slot, int flags, int state, int mtu, int sampleMillis, int pvid,
        int vlanProtocol) {
    public static final int BRIDGE_OFFSET = 0;
    public static final int IFINDEX_OFFSET = 4;
    public static final int FLAGS_OFFSET = 8;
    public static final int STATE_OFFSET = 10;
    public static final int MTU_OFFSET = 12;
    public static final int SAMPLE_MS_OFFSET = 16;
    /** A network-order u16 ({@code __be16}). */
    static final ValueLayout.OfShort BE16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(java.nio.ByteOrder.BIG_ENDIAN);
    public static final int PVID_OFFSET = 20;
    public static final int VLAN_PROTO_OFFSET = 22;
    public static final int SIZE = 24;

    /** A port record with no MTU check, no aging samples and no VLAN filtering (datapath tests). */
    public PortRecord(int bridge, int slot, int flags, int state) {
        this(bridge, slot, flags, state, 0, 0, 0, 0);
    }

    /** Without VLAN filtering. */
    public PortRecord(int bridge, int slot, int flags, int state, int mtu, int sampleMillis) {
        this(bridge, slot, flags, state, mtu, sampleMillis, 0, 0);
    }

    public static final int LEARNING = 1;
    public static final int ISOLATED = 1 << 1;
    public static final int KERNEL = 1 << 2;
    /** An sk_buff redirect target: the TC entry may forward here. */
    public static final int EGRESS = 1 << 3;
    /** An XDP redirect target: in the devmap, and its peer runs NAPI. */
    public static final int XDP_EGRESS = 1 << 4;
    /** A veth whose peer lives in another namespace: the TC entry uses bpf_redirect_peer. */
    public static final int PEER = 1 << 5;
    /** The bridge proxies or suppresses ARP/ND on some port: ARP and ICMPv6 NS/NA from this port go to the kernel. */
    public static final int NEIGH = 1 << 6;
    /** The bridge filters VLANs: the datapath classifies, looks up and tags per VLAN. */
    public static final int VLAN = 1 << 7;

    /** The record with another slot (the ports array keeps the slot as the key, not in the value). */
    public PortRecord inSlot(int s) {
        return new PortRecord(bridge, s, flags, state, mtu, sampleMillis, pvid, vlanProtocol);
    }

    /**
     * The record stepping aside: {@link #KERNEL}, disabled, the other fields as they are. A frame
     * from such a port goes to the kernel and none is redirected to it.
     */
    public PortRecord steppingAside() {
        return new PortRecord(bridge, slot, KERNEL, 0, mtu, sampleMillis, pvid, vlanProtocol);
    }

    public boolean isSteppingAside() {
        return flags == KERNEL && state == 0;
    }

    /** What a slot of the ports array holds: the port's record and its ifindex, 0 for a free slot. */
    public record InSlot(int ifindex, PortRecord port) {
        public static final InSlot FREE = new InSlot(0, new PortRecord(0, 0, 0, 0));

        public InSlot {
            if ((port.flags & ~0xff) != 0) {
                // xbridge.h: a frame reading flags while they are written must see old or new, never a mix.
                throw new IllegalArgumentException("port flags must fit in one byte: 0x" + Integer.toHexString(port.flags));
            }
        }
    }

    public static final Codec<InSlot> CODEC = new Codec<>() {
        @Override
        public int size() {
            return SIZE;
        }

        @Override
        public void write(MemorySegment s, InSlot e) {
            PortRecord p = e.port;
            s.set(ValueLayout.JAVA_INT_UNALIGNED, BRIDGE_OFFSET, p.bridge);
            s.set(ValueLayout.JAVA_INT_UNALIGNED, IFINDEX_OFFSET, e.ifindex);
            s.set(ValueLayout.JAVA_SHORT_UNALIGNED, FLAGS_OFFSET, (short) p.flags);
            s.set(ValueLayout.JAVA_BYTE, STATE_OFFSET, (byte) p.state);
            s.set(ValueLayout.JAVA_BYTE, STATE_OFFSET + 1, (byte) 0);
            s.set(ValueLayout.JAVA_INT_UNALIGNED, MTU_OFFSET, p.mtu);
            s.set(ValueLayout.JAVA_INT_UNALIGNED, SAMPLE_MS_OFFSET, p.sampleMillis);
            s.set(ValueLayout.JAVA_SHORT_UNALIGNED, PVID_OFFSET, (short) p.pvid);
            s.set(BE16, VLAN_PROTO_OFFSET, (short) p.vlanProtocol);
        }

        /** The record's slot is 0 here: the caller knows the key. */
        @Override
        public InSlot read(MemorySegment s) {
            return new InSlot(s.get(ValueLayout.JAVA_INT_UNALIGNED, IFINDEX_OFFSET), new PortRecord(
                    s.get(ValueLayout.JAVA_INT_UNALIGNED, BRIDGE_OFFSET),
                    0,
                    Short.toUnsignedInt(s.get(ValueLayout.JAVA_SHORT_UNALIGNED, FLAGS_OFFSET)),
                    Byte.toUnsignedInt(s.get(ValueLayout.JAVA_BYTE, STATE_OFFSET)),
                    s.get(ValueLayout.JAVA_INT_UNALIGNED, MTU_OFFSET),
                    s.get(ValueLayout.JAVA_INT_UNALIGNED, SAMPLE_MS_OFFSET),
                    Short.toUnsignedInt(s.get(ValueLayout.JAVA_SHORT_UNALIGNED, PVID_OFFSET)),
                    Short.toUnsignedInt(s.get(BE16, VLAN_PROTO_OFFSET))));
        }
    };
}
