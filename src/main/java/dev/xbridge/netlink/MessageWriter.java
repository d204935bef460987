package dev.xbridge.netlink;

import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;

/** Builds one request message in a segment: nlmsghdr, a family header, then attributes. */
final class MessageWriter {
    private final MemorySegment s;
    private int pos;

    MessageWriter(MemorySegment s) {
        this.s = s;
    }

    MemorySegment segment() {
        return s;
    }

    MessageWriter start(int type, int flags, int seq) {
        ensure(NlMsgHdr.SIZE);
        s.asSlice(0, NlMsgHdr.SIZE).fill((byte) 0);
        NlMsgHdr.type(s, 0, type);
        NlMsgHdr.flags(s, 0, flags);
        NlMsgHdr.seq(s, 0, seq);
        pos = NlMsgHdr.SIZE;
        return this;
    }

    /** Reserves a zeroed family header of {@code size} bytes (NLMSG_ALIGNed) and returns its offset. */
    long header(int size) {
        int aligned = Wire.align(size);
        ensure(aligned);
        long off = pos;
        s.asSlice(off, aligned).fill((byte) 0);
        pos += aligned;
        return off;
    }

    MessageWriter ifinfomsg(int family, int index) {
        long off = header(IfInfoMsg.SIZE);
        IfInfoMsg.family(s, off, family);
        IfInfoMsg.index(s, off, index);
        return this;
    }

    MessageWriter ndmsg(int family, int ifindex, int state, int flags) {
        long off = header(NdMsg.SIZE);
        NdMsg.family(s, off, family);
        NdMsg.ifindex(s, off, ifindex);
        NdMsg.state(s, off, state);
        NdMsg.flags(s, off, flags);
        return this;
    }

    /** struct br_vlan_msg { u8 family; u8 reserved1; u16 reserved2; u32 ifindex; }. */
    MessageWriter brVlanMsg(int family, int ifindex) {
        long off = header(PortVlan.MSG_SIZE);
        Wire.u8(s, off, family);
        Wire.u32(s, off + PortVlan.MSG_IFINDEX_OFFSET, ifindex);
        return this;
    }

    MessageWriter tcmsg(int family, int ifindex, int parent) {
        long off = header(TcMsg.SIZE);
        TcMsg.family(s, off, family);
        TcMsg.ifindex(s, off, ifindex);
        TcMsg.parent(s, off, parent);
        return this;
    }

    /** struct rtgenmsg { u8 rtgen_family; }, padded to 4. */
    MessageWriter rtgenmsg(int family) {
        long off = header(1);
        Wire.u8(s, off, family);
        return this;
    }

    private long attr(int type, int payloadLength) {
        int total = Wire.align(RtAttr.HEADER_SIZE + payloadLength);
        ensure(total);
        s.asSlice(pos, total).fill((byte) 0);
        RtAttr.header(s, pos, type, payloadLength);
        long payload = RtAttr.payloadOffset(pos);
        pos += total;
        return payload;
    }

    MessageWriter u8(int type, int v) {
        Wire.u8(s, attr(type, 1), v);
        return this;
    }

    MessageWriter u16(int type, int v) {
        Wire.u16(s, attr(type, 2), v);
        return this;
    }

    MessageWriter u32(int type, int v) {
        Wire.u32(s, attr(type, 4), v);
        return this;
    }

    MessageWriter bytes(int type, byte[] v) {
        MemorySegment.copy(v, 0, s, Wire.U8, attr(type, v.length), v.length);
        return this;
    }

    /** A NUL-terminated string, as NLA_NUL_STRING and NLA_STRING policies both accept. */
    MessageWriter string(int type, String v) {
        byte[] b = v.getBytes(StandardCharsets.UTF_8);
        long off = attr(type, b.length + 1);
        MemorySegment.copy(b, 0, s, Wire.U8, off, b.length);
        return this;
    }

    /** Opens a nest (NLA_F_NESTED set); close it with {@link #endNested}. */
    int beginNested(int type) {
        int start = pos;
        attr(type | RtAttr.NLA_F_NESTED, 0);
        return start;
    }

    MessageWriter endNested(int start) {
        Wire.u16(s, start + RtAttr.LENGTH_OFFSET, pos - start);
        return this;
    }

    /** Writes nlmsg_len and returns it. */
    int finish() {
        NlMsgHdr.length(s, 0, pos);
        return pos;
    }

    private void ensure(int bytes) {
        if (pos + bytes > s.byteSize()) {
            throw new IllegalStateException("netlink request larger than its " + s.byteSize() + "-byte buffer");
        }
    }
}
