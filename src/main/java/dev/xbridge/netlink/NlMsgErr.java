package dev.xbridge.netlink;

import java.lang.foreign.MemorySegment;

/**
 * Flyweight over {@code struct nlmsgerr} (linux/netlink.h): the payload of NLMSG_ERROR,
 * an ack when error is 0. The echoed request header follows; its payload follows too
 * unless NLM_F_CAPPED is set; then, with NLM_F_ACK_TLVS, the extended-ack attributes.
 */
public final class NlMsgErr {
    public static final int ERROR_OFFSET = 0;
    /** The request's nlmsghdr, echoed. */
    public static final int MSG_OFFSET = 4;
    public static final int SIZE = 4 + NlMsgHdr.SIZE;

    // enum nlmsgerr_attrs
    public static final int NLMSGERR_ATTR_MSG = 1;
    public static final int NLMSGERR_ATTR_OFFS = 2;

    private NlMsgErr() {}

    /** The negative errno, or 0 for an ack. */
    public static int error(MemorySegment s, long off) {
        return Wire.u32(s, off + ERROR_OFFSET);
    }

    public static int requestSeq(MemorySegment s, long off) {
        return NlMsgHdr.seq(s, off + MSG_OFFSET);
    }

    public static int requestType(MemorySegment s, long off) {
        return NlMsgHdr.type(s, off + MSG_OFFSET);
    }

    public static int requestLength(MemorySegment s, long off) {
        return NlMsgHdr.length(s, off + MSG_OFFSET);
    }
}
