package dev.xbridge.netlink;

import java.lang.foreign.MemorySegment;

/**
 * Flyweight over {@code struct ndmsg} (linux/neighbour.h) with the NDA_*, NTF_* and NUD_*
 * numbers the bridge FDB uses. For AF_BRIDGE, ndm_ifindex is the port (or the bridge itself
 * for entries without a port) and ndm_state tells local/static/dynamic.
 */
public final class NdMsg {
    public static final int FAMILY_OFFSET = 0;
    public static final int IFINDEX_OFFSET = 4;
    public static final int STATE_OFFSET = 8;
    public static final int FLAGS_OFFSET = 10;
    public static final int TYPE_OFFSET = 11;
    public static final int SIZE = 12;

    // enum NDA_*
    public static final int NDA_DST = 1;
    public static final int NDA_LLADDR = 2;
    public static final int NDA_CACHEINFO = 3;
    public static final int NDA_VLAN = 5;
    public static final int NDA_IFINDEX = 8;
    public static final int NDA_MASTER = 9;
    public static final int NDA_FLAGS_EXT = 15;

    // struct nda_cacheinfo { u32 confirmed, used, updated, refcnt } in clock_t (1/100 s here)
    public static final int CACHEINFO_CONFIRMED_OFFSET = 0;
    public static final int CACHEINFO_USED_OFFSET = 4;
    public static final int CACHEINFO_UPDATED_OFFSET = 8;
    public static final int CACHEINFO_SIZE = 16;

    // ndm_flags NTF_*
    public static final int NTF_USE = 0x01;
    public static final int NTF_SELF = 0x02;
    public static final int NTF_MASTER = 0x04;
    public static final int NTF_PROXY = 0x08;
    public static final int NTF_EXT_LEARNED = 0x10;
    public static final int NTF_OFFLOADED = 0x20;
    public static final int NTF_STICKY = 0x40;
    public static final int NTF_ROUTER = 0x80;
    // NDA_FLAGS_EXT bits
    public static final int NTF_EXT_MANAGED = 1;
    /** A locked port's entry learned for MAB (6.2+). */
    public static final int NTF_EXT_LOCKED = 1 << 1;

    // ndm_state NUD_*
    public static final int NUD_INCOMPLETE = 0x01;
    public static final int NUD_REACHABLE = 0x02;
    public static final int NUD_STALE = 0x04;
    public static final int NUD_NOARP = 0x40;
    public static final int NUD_PERMANENT = 0x80;

    private NdMsg() {}

    public static int family(MemorySegment s, long off) {
        return Wire.u8(s, off + FAMILY_OFFSET);
    }

    public static int ifindex(MemorySegment s, long off) {
        return Wire.u32(s, off + IFINDEX_OFFSET);
    }

    public static int state(MemorySegment s, long off) {
        return Wire.u16(s, off + STATE_OFFSET);
    }

    public static int flags(MemorySegment s, long off) {
        return Wire.u8(s, off + FLAGS_OFFSET);
    }

    public static int type(MemorySegment s, long off) {
        return Wire.u8(s, off + TYPE_OFFSET);
    }

    public static void family(MemorySegment s, long off, int v) {
        Wire.u8(s, off + FAMILY_OFFSET, v);
    }

    public static void ifindex(MemorySegment s, long off, int v) {
        Wire.u32(s, off + IFINDEX_OFFSET, v);
    }

    public static void state(MemorySegment s, long off, int v) {
        Wire.u16(s, off + STATE_OFFSET, v);
    }

    public static void flags(MemorySegment s, long off, int v) {
        Wire.u8(s, off + FLAGS_OFFSET, v);
    }
}
