package dev.xbridge.netlink;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * One VLAN of one bridge port (or of the bridge device itself), from the bridge VLAN
 * database: RTM_NEWVLAN / RTM_DELVLAN messages (struct br_vlan_msg, then one
 * BRIDGE_VLANDB_ENTRY nest per VLAN or VLAN range; include/uapi/linux/if_bridge.h).
 * Ranges are expanded, one record per VID.
 *
 * @param ifindex the port, or the bridge for its own VLANs ({@link #master()} entries)
 * @param vid 1..4094
 * @param flags BRIDGE_VLAN_INFO_*: {@link #PVID}, {@link #UNTAGGED}, {@link #MASTER}, {@link #BRENTRY}
 * @param state the VLAN's STP state on that port (BR_STATE_*); forwarding when the kernel did not say
 */
public record PortVlan(int ifindex, int vid, int flags, int state) {
    // struct bridge_vlan_info flags
    public static final int MASTER = 1;
    public static final int PVID = 1 << 1;
    public static final int UNTAGGED = 1 << 2;
    public static final int RANGE_BEGIN = 1 << 3;
    public static final int RANGE_END = 1 << 4;
    public static final int BRENTRY = 1 << 5;
    // struct br_vlan_msg { u8 family; u8 reserved1; u16 reserved2; u32 ifindex; }
    static final int MSG_SIZE = 8;
    static final int MSG_IFINDEX_OFFSET = 4;
    // enum BRIDGE_VLANDB_*, BRIDGE_VLANDB_ENTRY_*
    static final int BRIDGE_VLANDB_ENTRY = 1;
    static final int ENTRY_INFO = 1;
    static final int ENTRY_RANGE = 2;
    static final int ENTRY_STATE = 3;
    static final int ENTRY_MAX = 8;
    static final int BR_STATE_FORWARDING = 3;

    public boolean pvid() {
        return (flags & PVID) != 0;
    }

    public boolean untagged() {
        return (flags & UNTAGGED) != 0;
    }

    /** struct br_vlan_msg's ifindex of the message at {@code off}. */
    static int ifindex(MemorySegment s, long off) {
        if (NlMsgHdr.length(s, off) < NlMsgHdr.SIZE + MSG_SIZE) {
            throw new MalformedMessageException(NlMsgHdr.typeName(NlMsgHdr.type(s, off)) + " of "
                    + NlMsgHdr.length(s, off) + " bytes is too short for struct br_vlan_msg");
        }
        return Wire.u32(s, off + NlMsgHdr.SIZE + MSG_IFINDEX_OFFSET);
    }

    /** Every VLAN in the message at {@code off}, ranges expanded. */
    static List<PortVlan> decode(MemorySegment s, long off) {
        int ifindex = ifindex(s, off);
        String name = NlMsgHdr.typeName(NlMsgHdr.type(s, off));
        long end = off + NlMsgHdr.length(s, off);
        long a = off + NlMsgHdr.SIZE + MSG_SIZE;
        List<PortVlan> out = new ArrayList<>();
        // The entries repeat one attribute type, so walk them rather than index them.
        while (end - a >= RtAttr.HEADER_SIZE) {
            int len = RtAttr.length(s, a);
            if (len < RtAttr.HEADER_SIZE || len > end - a) {
                throw new MalformedMessageException(name + ": attribute at offset " + (a - off) + " has length "
                        + len + " with " + (end - a) + " bytes left");
            }
            if ((RtAttr.type(s, a) & RtAttr.NLA_TYPE_MASK) == BRIDGE_VLANDB_ENTRY) {
                AttrTable e = AttrTable.parse(s, RtAttr.payloadOffset(a), a + len, ENTRY_MAX,
                        name + " BRIDGE_VLANDB_ENTRY");
                if (!e.has(ENTRY_INFO) || e.payloadLength(ENTRY_INFO) < 4) {
                    throw new MalformedMessageException(name + ": BRIDGE_VLANDB_ENTRY without a 4-byte "
                            + "BRIDGE_VLANDB_ENTRY_INFO");
                }
                long info = e.payloadOffset(ENTRY_INFO);
                int flags = Wire.u16(s, info);
                int vid = Wire.u16(s, info + 2);
                int last = e.u16(ENTRY_RANGE, vid);
                int state = e.u8(ENTRY_STATE, BR_STATE_FORWARDING);
                if (vid < 1 || vid > 4094 || last < vid || last > 4094) {
                    throw new MalformedMessageException(name + ": VLAN range " + vid + "-" + last
                            + " is outside 1..4094");
                }
                for (int v = vid; v <= last; v++) {
                    out.add(new PortVlan(ifindex, v, flags & ~(RANGE_BEGIN | RANGE_END), state));
                }
            }
            a += Wire.align(len);
        }
        return out;
    }
}
