package dev.xbridge.netlink;

import java.lang.foreign.MemorySegment;

/**
 * Walks the netlink messages in a received buffer (NLMSG_OK / NLMSG_NEXT), rejecting a
 * header that is truncated, shorter than itself or longer than what remains.
 */
final class Messages {
    interface Handler {
        /** Called with the segment and the offset of each message's nlmsghdr; return false to stop. */
        boolean onMessage(MemorySegment s, long off);
    }

    private Messages() {}

    /** Visits each message in {@code [0, length)}; returns the offset where it stopped. */
    static long forEach(MemorySegment s, long length, Handler handler) {
        long off = 0;
        while (off < length) {
            long remaining = length - off;
            if (remaining < NlMsgHdr.SIZE) {
                throw new MalformedMessageException("truncated nlmsghdr at offset " + off + ": " + remaining
                        + " bytes left, a header needs " + NlMsgHdr.SIZE);
            }
            long len = NlMsgHdr.length(s, off) & 0xffffffffL;
            if (len < NlMsgHdr.SIZE) {
                throw new MalformedMessageException("nlmsg_len " + len + " at offset " + off
                        + " is shorter than the 16-byte nlmsghdr");
            }
            if (len > remaining) {
                throw new MalformedMessageException(NlMsgHdr.typeName(NlMsgHdr.type(s, off)) + " at offset " + off
                        + " claims nlmsg_len " + len + " but only " + remaining + " bytes remain");
            }
            if (!handler.onMessage(s, off)) {
                return off;
            }
            off += Wire.align(len);
        }
        return off;
    }

    /** The message's attributes after a fixed family header of {@code headerSize} bytes. */
    static AttrTable attrs(MemorySegment s, long off, int headerSize, int maxType) {
        int len = NlMsgHdr.length(s, off);
        String name = NlMsgHdr.typeName(NlMsgHdr.type(s, off));
        long start = off + NlMsgHdr.SIZE + Wire.align(headerSize);
        if (len < NlMsgHdr.SIZE + headerSize) {
            throw new MalformedMessageException(name + ": nlmsg_len " + len + " too short for its "
                    + headerSize + "-byte family header");
        }
        return AttrTable.parse(s, start, off + len, maxType, name);
    }
}
