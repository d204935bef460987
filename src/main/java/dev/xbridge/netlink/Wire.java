package dev.xbridge.netlink;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Netlink's byte order is the host's (nlmsghdr, nlattr, ifinfomsg are all native),
 * except for attributes the kernel puts with nla_put_be16/be32. Layouts are the
 * unaligned variants because fixtures and nested payloads sit at any offset.
 */
final class Wire {
    static final ValueLayout.OfByte U8 = ValueLayout.JAVA_BYTE;
    static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.nativeOrder());
    static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.nativeOrder());
    static final ValueLayout.OfShort BE16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    private Wire() {}

    static int u8(MemorySegment s, long off) {
        return s.get(U8, off) & 0xff;
    }

    static int u16(MemorySegment s, long off) {
        return s.get(U16, off) & 0xffff;
    }

    static int u32(MemorySegment s, long off) {
        return s.get(U32, off);
    }

    static void u8(MemorySegment s, long off, int v) {
        s.set(U8, off, (byte) v);
    }

    static void u16(MemorySegment s, long off, int v) {
        s.set(U16, off, (short) v);
    }

    static void u32(MemorySegment s, long off, int v) {
        s.set(U32, off, v);
    }

    /** NLMSG_ALIGN / NLA_ALIGN: both align to 4. */
    static int align(int len) {
        return (len + 3) & ~3;
    }

    static long align(long len) {
        return (len + 3) & ~3L;
    }
}
