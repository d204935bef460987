package dev.xbridge.netlink;

import dev.xbridge.sys.SysException;

/**
 * The kernel refused a netlink request: the errno from NLMSG_ERROR and, when the kernel
 * gave one, the extended-ack text (NLMSGERR_ATTR_MSG), e.g.
 * {@code "RTM_NEWNEIGH p1 02:00:00:00:00:0a: invalid argument (EINVAL): invalid vlan id"}.
 */
public class NetlinkException extends SysException {
    private final String extAck;

    public NetlinkException(String operation, int errno, String extAck) {
        super(operation, errno, extAck);
        this.extAck = extAck == null ? "" : extAck;
    }

    /** The kernel's NLMSGERR_ATTR_MSG text, or "" when it sent none. */
    public String extAck() {
        return extAck;
    }
}
