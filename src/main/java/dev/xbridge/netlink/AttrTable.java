package dev.xbridge.netlink;

import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;

/**
 * The attributes of one message or nest, indexed by type (what the kernel's nla_parse
 * builds as {@code tb[]}). Parsing validates every header: a length below the header
 * size (which would loop forever) or past the end of the region is rejected.
 * Types above {@code maxType} are skipped; a repeated type keeps the last one, like nla_parse.
 */
final class AttrTable {
    private final MemorySegment segment;
    private final long[] offsets;
    private final String where;

    private AttrTable(MemorySegment segment, int maxType, String where) {
        this.segment = segment;
        this.offsets = new long[maxType + 1];
        java.util.Arrays.fill(offsets, -1);
        this.where = where;
    }

    /** Parses attributes in {@code [start, end)}; {@code where} names the region in errors (e.g. "RTM_NEWLINK"). */
    static AttrTable parse(MemorySegment s, long start, long end, int maxType, String where) {
        AttrTable t = new AttrTable(s, maxType, where);
        long off = start;
        while (end - off >= RtAttr.HEADER_SIZE) {
            int len = RtAttr.length(s, off);
            int type = RtAttr.type(s, off);
            if (len < RtAttr.HEADER_SIZE) {
                throw new MalformedMessageException(where + ": attribute type " + type + " at offset " + (off - start)
                        + " has length " + len + ", less than its own 4-byte header");
            }
            if (len > end - off) {
                throw new MalformedMessageException(where + ": attribute type " + type + " at offset " + (off - start)
                        + " has length " + len + " but only " + (end - off) + " bytes remain");
            }
            if (type <= maxType) {
                t.offsets[type] = off;
            }
            off += Wire.align(len);
        }
        // Fewer than 4 bytes left over is padding (NLA_ALIGN of the last attribute); the kernel tolerates it too.
        return t;
    }

    boolean has(int type) {
        return type < offsets.length && offsets[type] >= 0;
    }

    int payloadLength(int type) {
        return RtAttr.payloadLength(segment, offsets[type]);
    }

    long payloadOffset(int type) {
        return RtAttr.payloadOffset(offsets[type]);
    }

    private long need(int type, int bytes) {
        long off = offsets[type];
        int len = RtAttr.payloadLength(segment, off);
        if (len < bytes) {
            throw new MalformedMessageException(where + ": attribute type " + type + " has " + len
                    + " payload bytes, needs " + bytes);
        }
        return RtAttr.payloadOffset(off);
    }

    int u8(int type, int absent) {
        return has(type) ? Wire.u8(segment, need(type, 1)) : absent;
    }

    int u16(int type, int absent) {
        return has(type) ? Wire.u16(segment, need(type, 2)) : absent;
    }

    /** A u16 the kernel put with nla_put_be16 (e.g. IFLA_BR_VLAN_PROTOCOL), in host terms. */
    int be16(int type, int absent) {
        return has(type) ? segment.get(Wire.BE16, need(type, 2)) & 0xffff : absent;
    }

    int u32(int type, int absent) {
        return has(type) ? Wire.u32(segment, need(type, 4)) : absent;
    }

    boolean flag(int type) {
        return u8(type, 0) != 0;
    }

    /** A NUL-terminated (or unterminated) string attribute; {@code absent} when missing. */
    String string(int type, String absent) {
        if (!has(type)) {
            return absent;
        }
        long off = payloadOffset(type);
        int len = payloadLength(type);
        int n = 0;
        while (n < len && segment.get(Wire.U8, off + n) != 0) {
            n++;
        }
        byte[] bytes = new byte[n];
        MemorySegment.copy(segment, Wire.U8, off, bytes, 0, n);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    byte[] bytes(int type) {
        if (!has(type)) {
            return null;
        }
        byte[] b = new byte[payloadLength(type)];
        MemorySegment.copy(segment, Wire.U8, payloadOffset(type), b, 0, b.length);
        return b;
    }

    /** The attributes nested in {@code type}, or null when absent. NLA_F_NESTED is not required (old kernels omit it). */
    AttrTable nested(int type, int maxType, String name) {
        if (!has(type)) {
            return null;
        }
        long start = payloadOffset(type);
        return parse(segment, start, start + payloadLength(type), maxType, where + "/" + name);
    }

    MemorySegment segment() {
        return segment;
    }
}
