package dev.xbridge.netlink;

import java.lang.foreign.MemorySegment;

/**
 * Flyweight over {@code struct tcmsg} (linux/rtnetlink.h): the family header of qdisc, class
 * and filter messages, with the TCA_* numbers and the TC_H_* handles read here
 * (linux/rtnetlink.h, linux/pkt_sched.h, linux/pkt_cls.h, checked against the 6.1 UAPI).
 */
public final class TcMsg {
    public static final int FAMILY_OFFSET = 0;
    public static final int IFINDEX_OFFSET = 4;
    public static final int HANDLE_OFFSET = 8;
    public static final int PARENT_OFFSET = 12;
    /** For filters: TC_H_MAKE(priority << 16, protocol in network byte order). */
    public static final int INFO_OFFSET = 16;
    public static final int SIZE = 20;

    /** tcm_ifindex of a filter in a shared block ({@code tc filter add block N}); tcm_parent is then N. */
    public static final int TCM_IFINDEX_MAGIC_BLOCK = 0xFFFFFFFF;

    // enum TCA_*
    public static final int TCA_KIND = 1;
    public static final int TCA_OPTIONS = 2;
    public static final int TCA_CHAIN = 11;
    static final int TCA_MAX = 16;

    // cls_bpf options, enum TCA_BPF_* (linux/pkt_cls.h)
    public static final int TCA_BPF_NAME = 7;
    public static final int TCA_BPF_ID = 11;
    static final int TCA_BPF_MAX = 11;

    // linux/pkt_sched.h
    public static final int TC_H_ROOT = 0xFFFFFFFF;
    /** The parent of the ingress and clsact qdiscs (TC_H_CLSACT is the same value). */
    public static final int TC_H_INGRESS = 0xFFFFFFF1;
    public static final int TC_H_MIN_INGRESS = 0xFFF2;
    public static final int TC_H_MIN_EGRESS = 0xFFF3;
    /** The ingress block of an ingress or clsact qdisc, as {@code tc filter ... ingress} names it. */
    public static final int INGRESS_BLOCK = TC_H_INGRESS & 0xFFFF0000 | TC_H_MIN_INGRESS;
    /** The egress block of a clsact qdisc ({@code tc filter ... egress}). */
    public static final int EGRESS_BLOCK = TC_H_INGRESS & 0xFFFF0000 | TC_H_MIN_EGRESS;

    private TcMsg() {}

    public static int family(MemorySegment s, long off) {
        return Wire.u8(s, off + FAMILY_OFFSET);
    }

    public static int ifindex(MemorySegment s, long off) {
        return Wire.u32(s, off + IFINDEX_OFFSET);
    }

    public static int handle(MemorySegment s, long off) {
        return Wire.u32(s, off + HANDLE_OFFSET);
    }

    public static int parent(MemorySegment s, long off) {
        return Wire.u32(s, off + PARENT_OFFSET);
    }

    public static int info(MemorySegment s, long off) {
        return Wire.u32(s, off + INFO_OFFSET);
    }

    static void family(MemorySegment s, long off, int v) {
        Wire.u8(s, off + FAMILY_OFFSET, v);
    }

    static void ifindex(MemorySegment s, long off, int v) {
        Wire.u32(s, off + IFINDEX_OFFSET, v);
    }

    static void parent(MemorySegment s, long off, int v) {
        Wire.u32(s, off + PARENT_OFFSET, v);
    }

    /** {@code maj:min} in hex as tc prints handles, e.g. {@code 8001:}, {@code ffff:fff2}, {@code root}. */
    public static String handleText(int h) {
        if (h == TC_H_ROOT) {
            return "root";
        }
        int maj = h >>> 16;
        int min = h & 0xFFFF;
        return Integer.toHexString(maj) + ":" + (min == 0 ? "" : Integer.toHexString(min));
    }
}
