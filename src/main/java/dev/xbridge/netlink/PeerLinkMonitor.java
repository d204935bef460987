package dev.xbridge.netlink;

import dev.xbridge.sys.Errno;
import dev.xbridge.sys.Socket;
import dev.xbridge.sys.SysException;
import java.lang.foreign.MemorySegment;

/**
 * Link notifications (RTNLGRP_LINK) of this network namespace and of every namespace that has
 * an nsid here, with that nsid: NETLINK_LISTEN_ALL_NSID, as {@code ip monitor all-nsid}. A
 * veth port's peer lives in such a namespace (IFLA_LINK_NETNSID), and the kernel announces
 * each change of the peer there: offloads and GRO (NETDEV_FEAT_CHANGE), MTU, an XDP program
 * attached or removed (veth updates the features of both ends). The socket stays in this
 * namespace, so unlike a socket opened inside a container's namespace it keeps none alive.
 * Not thread-safe: one thread polls.
 */
public final class PeerLinkMonitor implements AutoCloseable {
    /** The nsid reported for this namespace's own links (no control message). */
    public static final int THIS_NAMESPACE = -1;
    private static final int MAX_DATAGRAMS_PER_DRAIN = 65536;

    /** What one notification says: which link changed, in which namespace. */
    public interface Sink {
        /**
         * @param nsid the namespace's nsid here, or {@link #THIS_NAMESPACE}
         * @param ifindex the link's index in that namespace
         */
        void linkChanged(int nsid, int ifindex);

        /** Notifications were lost (ENOBUFS): anything may have changed. */
        void overrun();
    }

    private final NetlinkSocket socket;

    private PeerLinkMonitor(NetlinkSocket socket) {
        this.socket = socket;
    }

    /**
     * Opens the socket in the calling thread's namespace. Seeing another namespace's
     * notifications takes CAP_NET_BROADCAST in that namespace's user namespace; without it the
     * kernel just does not deliver them.
     */
    public static PeerLinkMonitor open() {
        NetlinkSocket socket = NetlinkSocket.open();
        try {
            socket.receiveBuffer(RtMonitor.DEFAULT_RECEIVE_BUFFER / 8);
            socket.option(NetlinkSocket.NETLINK_LISTEN_ALL_NSID, 1, "NETLINK_LISTEN_ALL_NSID");
            socket.join(RtMonitor.RTNLGRP_LINK, "RTNLGRP_LINK");
            return new PeerLinkMonitor(socket);
        } catch (RuntimeException e) {
            socket.close();
            throw e;
        }
    }

    public int fd() {
        return socket.fd();
    }

    /** Delivers every queued notification without waiting; returns how many datagrams there were. */
    public int drain(Sink sink) {
        int datagrams = 0;
        for (int i = 0; i < MAX_DATAGRAMS_PER_DRAIN; i++) {
            int[] nsid = {THIS_NAMESPACE};
            long n = socket.receive(Socket.MSG_DONTWAIT, Socket.SOL_NETLINK, NetlinkSocket.NETLINK_LISTEN_ALL_NSID, nsid);
            if (n == -Errno.EAGAIN.code()) {
                break;
            }
            if (n == -Errno.EINTR.code()) {
                continue;
            }
            datagrams++;
            if (n == -Errno.ENOBUFS.code()) {
                sink.overrun();
                continue;
            }
            if (n < 0) {
                throw new SysException("recvmsg peer link monitor fd " + socket.fd(), (int) -n);
            }
            Messages.forEach(socket.buffer(), n, (s, off) -> {
                deliver(s, off, nsid[0], sink);
                return true;
            });
        }
        return datagrams;
    }

    static void deliver(MemorySegment s, long off, int nsid, Sink sink) {
        int type = NlMsgHdr.type(s, off);
        if (type == NlMsgHdr.NLMSG_OVERRUN) {
            sink.overrun();
            return;
        }
        if (type != NlMsgHdr.RTM_NEWLINK && type != NlMsgHdr.RTM_DELLINK) {
            return;
        }
        if (NlMsgHdr.length(s, off) < NlMsgHdr.SIZE + IfInfoMsg.SIZE) {
            throw new MalformedMessageException(NlMsgHdr.typeName(type) + " of " + NlMsgHdr.length(s, off)
                    + " bytes is too short for struct ifinfomsg");
        }
        sink.linkChanged(nsid, Wire.u32(s, off + NlMsgHdr.SIZE + IfInfoMsg.INDEX_OFFSET));
    }

    @Override
    public void close() {
        socket.close();
    }
}
