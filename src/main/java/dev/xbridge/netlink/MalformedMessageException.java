package dev.xbridge.netlink;

import dev.xbridge.sys.Errno;

/** A netlink message whose lengths do not add up (truncated header, attribute overrun, zero-length attribute, ...). */
public final class MalformedMessageException extends NetlinkException {
    public MalformedMessageException(String problem) {
        super("malformed netlink message", Errno.EBADMSG.code(), problem);
    }
}
