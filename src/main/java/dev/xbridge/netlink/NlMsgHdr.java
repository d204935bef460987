package dev.xbridge.netlink;

import java.lang.foreign.MemorySegment;

/** Flyweight over {@code struct nlmsghdr} (linux/netlink.h), plus the message types and flags used here. */
public final class NlMsgHdr {
    public static final int LENGTH_OFFSET = 0;
    public static final int TYPE_OFFSET = 4;
    public static final int FLAGS_OFFSET = 6;
    public static final int SEQ_OFFSET = 8;
    public static final int PID_OFFSET = 12;
    /** NLMSG_HDRLEN */
    public static final int SIZE = 16;

    // nlmsg_type: control messages (< NLMSG_MIN_TYPE 0x10)
    public static final int NLMSG_NOOP = 0x1;
    public static final int NLMSG_ERROR = 0x2;
    public static final int NLMSG_DONE = 0x3;
    public static final int NLMSG_OVERRUN = 0x4;
    // linux/rtnetlink.h
    public static final int RTM_NEWLINK = 16;
    public static final int RTM_DELLINK = 17;
    public static final int RTM_GETLINK = 18;
    public static final int RTM_NEWNEIGH = 28;
    public static final int RTM_DELNEIGH = 29;
    public static final int RTM_GETNEIGH = 30;
    public static final int RTM_NEWQDISC = 36;
    public static final int RTM_DELQDISC = 37;
    public static final int RTM_GETQDISC = 38;
    public static final int RTM_NEWTFILTER = 44;
    public static final int RTM_DELTFILTER = 45;
    public static final int RTM_GETTFILTER = 46;
    public static final int RTM_NEWNSID = 88;
    public static final int RTM_NEWVLAN = 112;
    public static final int RTM_DELVLAN = 113;
    public static final int RTM_GETVLAN = 114;
    public static final int RTM_GETNSID = 90;

    // nlmsg_flags
    public static final int NLM_F_REQUEST = 0x01;
    public static final int NLM_F_MULTI = 0x02;
    public static final int NLM_F_ACK = 0x04;
    public static final int NLM_F_ECHO = 0x08;
    /** Dump was inconsistent due to a sequence change (the table changed during the dump). */
    public static final int NLM_F_DUMP_INTR = 0x10;
    public static final int NLM_F_DUMP_FILTERED = 0x20;
    public static final int NLM_F_ROOT = 0x100;
    public static final int NLM_F_MATCH = 0x200;
    public static final int NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH;
    public static final int NLM_F_REPLACE = 0x100;
    public static final int NLM_F_EXCL = 0x200;
    public static final int NLM_F_CREATE = 0x400;
    /** ACK flags: the request payload was not echoed (NETLINK_CAP_ACK). */
    public static final int NLM_F_CAPPED = 0x100;
    /** ACK flags: extended ACK TLVs follow. */
    public static final int NLM_F_ACK_TLVS = 0x200;

    private NlMsgHdr() {}

    public static int length(MemorySegment s, long off) {
        return Wire.u32(s, off + LENGTH_OFFSET);
    }

    public static int type(MemorySegment s, long off) {
        return Wire.u16(s, off + TYPE_OFFSET);
    }

    public static int flags(MemorySegment s, long off) {
        return Wire.u16(s, off + FLAGS_OFFSET);
    }

    public static int seq(MemorySegment s, long off) {
        return Wire.u32(s, off + SEQ_OFFSET);
    }

    public static int pid(MemorySegment s, long off) {
        return Wire.u32(s, off + PID_OFFSET);
    }

    public static void length(MemorySegment s, long off, int v) {
        Wire.u32(s, off + LENGTH_OFFSET, v);
    }

    public static void type(MemorySegment s, long off, int v) {
        Wire.u16(s, off + TYPE_OFFSET, v);
    }

    public static void flags(MemorySegment s, long off, int v) {
        Wire.u16(s, off + FLAGS_OFFSET, v);
    }

    public static void seq(MemorySegment s, long off, int v) {
        Wire.u32(s, off + SEQ_OFFSET, v);
    }

    public static void pid(MemorySegment s, long off, int v) {
        Wire.u32(s, off + PID_OFFSET, v);
    }

    /** A name for logs and errors: {@code RTM_NEWLINK}, {@code NLMSG_ERROR}, or the number. */
    public static String typeName(int type) {
        return switch (type) {
            case NLMSG_NOOP -> "NLMSG_NOOP";
            case NLMSG_ERROR -> "NLMSG_ERROR";
            case NLMSG_DONE -> "NLMSG_DONE";
            case NLMSG_OVERRUN -> "NLMSG_OVERRUN";
            case RTM_NEWLINK -> "RTM_NEWLINK";
            case RTM_DELLINK -> "RTM_DELLINK";
            case RTM_GETLINK -> "RTM_GETLINK";
            case RTM_NEWNEIGH -> "RTM_NEWNEIGH";
            case RTM_DELNEIGH -> "RTM_DELNEIGH";
            case RTM_GETNEIGH -> "RTM_GETNEIGH";
            case RTM_NEWQDISC -> "RTM_NEWQDISC";
            case RTM_DELQDISC -> "RTM_DELQDISC";
            case RTM_GETQDISC -> "RTM_GETQDISC";
            case RTM_NEWTFILTER -> "RTM_NEWTFILTER";
            case RTM_DELTFILTER -> "RTM_DELTFILTER";
            case RTM_GETTFILTER -> "RTM_GETTFILTER";
            case RTM_NEWNSID -> "RTM_NEWNSID";
            case RTM_NEWVLAN -> "RTM_NEWVLAN";
            case RTM_DELVLAN -> "RTM_DELVLAN";
            case RTM_GETVLAN -> "RTM_GETVLAN";
            case RTM_GETNSID -> "RTM_GETNSID";
            default -> "nlmsg_type " + type;
        };
    }
}
