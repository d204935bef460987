package dev.xbridge.bridge;

import dev.xbridge.bpf.Codec;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * {@code struct xb_decision}: what the datapath decided for the last frame (trace map, tests only).
 *
 * @param vid the VLAN the frame was classified to (0 without VLAN filtering)
 * @param tag what a redirect does to the outer VLAN tag
 * @param outTagged the frame leaves with a tag of the bridge's vlan_protocol
 * @param tci with {@link Tag#PUSH} or {@link Tag#REWRITE}: the tag's TCI
 * @param tagProtocol and its TPID (host order here)
 */
public record Decision(Action action, Reason reason, int egress, int slot, int vid, Tag tag, boolean outTagged,
        int tci, int tagProtocol) {
    public enum Action { PASS, REDIRECT, DROP }

    /** {@code XB_TAG_*}, br_handle_vlan() on egress. */
    public enum Tag { KEEP, POP, PUSH, REWRITE }

    /** Without VLAN filtering. */
    public Decision(Action action, Reason reason, int egress, int slot) {
        this(action, reason, egress, slot, 0, Tag.KEEP, false, 0, 0);
    }

    /** The same verdict, ignoring the VLAN fields (entry points that leave a tag to the kernel differ there). */
    public Decision withoutVlan() {
        return new Decision(action, reason, egress, slot);
    }

    public static final int ACTION_OFFSET = 0;
    public static final int REASON_OFFSET = 4;
    public static final int EGRESS_OFFSET = 8;
    public static final int SLOT_OFFSET = 12;
    public static final int VID_OFFSET = 16;
    public static final int TAG_OFFSET = 18;
    public static final int OUT_TAGGED_OFFSET = 19;
    public static final int TCI_OFFSET = 20;
    public static final int TAG_PROTO_OFFSET = 22;
    public static final int SIZE = 24;

    public static final Codec<Decision> CODEC = new Codec<>() {
        @Override
        public int size() {
            return SIZE;
        }

        @Override
        public void write(MemorySegment s, Decision d) {
            s.set(ValueLayout.JAVA_INT_UNALIGNED, ACTION_OFFSET, d.action.ordinal());
            s.set(ValueLayout.JAVA_INT_UNALIGNED, REASON_OFFSET, d.reason.ordinal());
            s.set(ValueLayout.JAVA_INT_UNALIGNED, EGRESS_OFFSET, d.egress);
            s.set(ValueLayout.JAVA_INT_UNALIGNED, SLOT_OFFSET, d.slot);
            s.set(ValueLayout.JAVA_SHORT_UNALIGNED, VID_OFFSET, (short) d.vid);
            s.set(ValueLayout.JAVA_BYTE, TAG_OFFSET, (byte) d.tag.ordinal());
            s.set(ValueLayout.JAVA_BYTE, OUT_TAGGED_OFFSET, (byte) (d.outTagged ? 1 : 0));
            s.set(ValueLayout.JAVA_SHORT_UNALIGNED, TCI_OFFSET, (short) d.tci);
            s.set(PortRecord.BE16, TAG_PROTO_OFFSET, (short) d.tagProtocol);
        }

        @Override
        public Decision read(MemorySegment s) {
            return new Decision(
                    Action.values()[s.get(ValueLayout.JAVA_INT_UNALIGNED, ACTION_OFFSET)],
                    Reason.values()[s.get(ValueLayout.JAVA_INT_UNALIGNED, REASON_OFFSET)],
                    s.get(ValueLayout.JAVA_INT_UNALIGNED, EGRESS_OFFSET),
                    s.get(ValueLayout.JAVA_INT_UNALIGNED, SLOT_OFFSET),
                    Short.toUnsignedInt(s.get(ValueLayout.JAVA_SHORT_UNALIGNED, VID_OFFSET)),
                    Tag.values()[s.get(ValueLayout.JAVA_BYTE, TAG_OFFSET)],
                    s.get(ValueLayout.JAVA_BYTE, OUT_TAGGED_OFFSET) != 0,
                    Short.toUnsignedInt(s.get(ValueLayout.JAVA_SHORT_UNALIGNED, TCI_OFFSET)),
                    Short.toUnsignedInt(s.get(PortRecord.BE16, TAG_PROTO_OFFSET)));
        }
    };
}
