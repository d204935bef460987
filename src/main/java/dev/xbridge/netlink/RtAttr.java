package dev.xbridge.netlink;

import java.lang.foreign.MemorySegment;

/**
 * Flyweight over {@code struct nlattr} / {@code struct rtattr}: a 4-byte header
 * (u16 length including the header, u16 type) followed by the payload, padded to 4.
 * The top two type bits are flags (NLA_F_NESTED, NLA_F_NET_BYTEORDER), masked off by {@link #type}.
 */
public final class RtAttr {
    public static final int LENGTH_OFFSET = 0;
    public static final int TYPE_OFFSET = 2;
    /** NLA_HDRLEN */
    public static final int HEADER_SIZE = 4;
    public static final int NLA_F_NESTED = 1 << 15;
    public static final int NLA_F_NET_BYTEORDER = 1 << 14;
    public static final int NLA_TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) & 0xffff;

    private RtAttr() {}

    /** nla_len: header plus payload, without the trailing padding. */
    public static int length(MemorySegment s, long off) {
        return Wire.u16(s, off + LENGTH_OFFSET);
    }

    /** The attribute type with NLA_F_NESTED and NLA_F_NET_BYTEORDER masked off. */
    public static int type(MemorySegment s, long off) {
        return Wire.u16(s, off + TYPE_OFFSET) & NLA_TYPE_MASK;
    }

    public static boolean isNested(MemorySegment s, long off) {
        return (Wire.u16(s, off + TYPE_OFFSET) & NLA_F_NESTED) != 0;
    }

    public static long payloadOffset(long off) {
        return off + HEADER_SIZE;
    }

    public static int payloadLength(MemorySegment s, long off) {
        return length(s, off) - HEADER_SIZE;
    }

    /** Writes a header for {@code payloadLength} bytes; returns the aligned total size (NLA_ALIGN). */
    public static int header(MemorySegment s, long off, int type, int payloadLength) {
        Wire.u16(s, off + LENGTH_OFFSET, HEADER_SIZE + payloadLength);
        Wire.u16(s, off + TYPE_OFFSET, type);
        return Wire.align(HEADER_SIZE + payloadLength);
    }
}
