package dev.xbridge.netlink;

import static dev.xbridge.netlink.NlMsgHdr.*;

import dev.xbridge.sys.Errno;
import dev.xbridge.sys.Socket;
import dev.xbridge.sys.SysException;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.function.Consumer;

/**
 * Listens to RTNLGRP_LINK, RTNLGRP_NEIGH, RTNLGRP_TC and RTNLGRP_BRVLAN in the network namespace of the thread that called
 * {@link #open()}. Non-bridge neighbour messages (ARP, ND) are dropped; AF_BRIDGE neighbour
 * messages become FDB events; link messages keep their family (AF_BRIDGE port messages included);
 * qdisc and filter messages become {@link RtEvent.TcChanged} (tc's actions and chains are not
 * followed: an action is bound to a filter, which announces itself).
 * Not thread-safe: one thread polls.
 */
public final class RtMonitor implements AutoCloseable {
    // linux/rtnetlink.h enum rtnetlink_groups
    static final int RTNLGRP_LINK = 1;
    static final int RTNLGRP_NEIGH = 3;
    static final int RTNLGRP_BRVLAN = 33;
    static final int RTNLGRP_TC = 4;
    /** Large enough for bursts (a bridge flush emits one RTM_DELNEIGH per entry). */
    static final int DEFAULT_RECEIVE_BUFFER = 8 * 1024 * 1024;
    /** A bound on one poll's drain so a flood cannot keep the caller inside forever. */
    private static final int MAX_DATAGRAMS_PER_POLL = 65536;

    private final NetlinkSocket socket;

    private RtMonitor(NetlinkSocket socket) {
        this.socket = socket;
    }

    public static final int DEFAULT_BUFFER = DEFAULT_RECEIVE_BUFFER;

    public static RtMonitor open() {
        return open(DEFAULT_RECEIVE_BUFFER);
    }

    /**
     * With a chosen receive buffer size. A larger buffer survives longer
     * bursts; tests use a tiny one to provoke an overrun.
     */
    public static RtMonitor open(int receiveBufferBytes) {
        NetlinkSocket socket = NetlinkSocket.open();
        try {
            socket.receiveBuffer(receiveBufferBytes);
            socket.join(RTNLGRP_LINK, "RTNLGRP_LINK");
            socket.join(RTNLGRP_NEIGH, "RTNLGRP_NEIGH");
            joinVlans(socket);
            socket.join(RTNLGRP_TC, "RTNLGRP_TC");
            return new RtMonitor(socket);
        } catch (RuntimeException e) {
            socket.close();
            throw e;
        }
    }

    /**
     * RTNLGRP_BRVLAN (Linux 5.10+) carries per-VLAN changes, per-VLAN STP state among them,
     * that no link message reports. A kernel without it has no VLAN database to follow:
     * the daemon then leaves VLAN-filtering bridges to the kernel (no VLAN dump either).
     */
    private static void joinVlans(NetlinkSocket socket) {
        try {
            socket.join(RTNLGRP_BRVLAN, "RTNLGRP_BRVLAN");
        } catch (SysException e) {
            if (e.errno() != Errno.EINVAL) {
                throw e;
            }
        }
    }

    /** The socket fd, for callers that poll several fds themselves. */
    public int fd() {
        return socket.fd();
    }

    int receiveBufferSize() {
        return socket.receiveBuffer();
    }

    /**
     * Waits up to {@code timeout} for the socket to become readable (poll(2)), then delivers
     * everything queued to {@code sink}. Returns the number of events delivered (0 on timeout).
     * An overrun (ENOBUFS) is delivered as {@link RtEvent.Overrun} and draining goes on.
     */
    public int poll(Duration timeout, Consumer<RtEvent> sink) {
        long ms = Math.min(timeout.toMillis(), Integer.MAX_VALUE);
        int revents = Socket.poll(socket.fd(), Socket.POLLIN, (int) Math.max(ms, 0));
        if (revents == -Errno.EINTR.code() || revents == 0) {
            return 0;
        }
        if (revents < 0) {
            throw new SysException("poll rtnetlink monitor fd " + socket.fd(), -revents);
        }
        int[] delivered = {0};
        for (int i = 0; i < MAX_DATAGRAMS_PER_POLL; i++) {
            long n = socket.receive(Socket.MSG_DONTWAIT);
            if (n == -Errno.EAGAIN.code()) {
                break;
            }
            if (n == -Errno.EINTR.code()) {
                continue;
            }
            if (n == -Errno.ENOBUFS.code()) {
                sink.accept(new RtEvent.Overrun());
                delivered[0]++;
                continue;
            }
            if (n < 0) {
                throw new SysException("recv rtnetlink monitor fd " + socket.fd(), (int) -n);
            }
            Messages.forEach(socket.buffer(), n, (s, off) -> {
                RtEvent e = decode(s, off);
                if (e != null) {
                    sink.accept(e);
                    delivered[0]++;
                }
                return true;
            });
        }
        return delivered[0];
    }

    /**
     * Throws away every queued notification. After an overrun the queue
     * holds events older than the dump the caller is about to take; applied
     * after it, they would roll the model back.
     *
     * @return how many datagrams were discarded (an overrun counts as one)
     */
    public int discardQueued() {
        return socket.drain("rtnetlink monitor");
    }

    /** The event for one notification, or null for messages the monitor ignores. */
    static RtEvent decode(MemorySegment s, long off) {
        int type = NlMsgHdr.type(s, off);
        switch (type) {
            case RTM_NEWLINK:
                return new RtEvent.LinkChanged(Link.decode(s, off));
            case RTM_DELLINK:
                return new RtEvent.LinkDeleted(Link.decode(s, off));
            case RTM_NEWNEIGH:
            case RTM_DELNEIGH:
                if (NlMsgHdr.length(s, off) < NlMsgHdr.SIZE + NdMsg.SIZE) {
                    throw new MalformedMessageException(NlMsgHdr.typeName(type) + " of " + NlMsgHdr.length(s, off)
                            + " bytes is too short for struct ndmsg");
                }
                if (NdMsg.family(s, off + NlMsgHdr.SIZE) != Socket.AF_BRIDGE) {
                    return null; // ARP / ND neighbours of AF_INET / AF_INET6
                }
                FdbEntry e = FdbEntry.decode(s, off);
                return type == RTM_NEWNEIGH ? new RtEvent.FdbChanged(e) : new RtEvent.FdbDeleted(e);
            case RTM_NEWVLAN:
            case RTM_DELVLAN:
                return new RtEvent.VlansChanged(PortVlan.ifindex(s, off));
            case RTM_NEWQDISC:
            case RTM_DELQDISC:
            case RTM_NEWTFILTER:
            case RTM_DELTFILTER:
                return new RtEvent.TcChanged(TcObject.decode(s, off));
            case NLMSG_OVERRUN:
                return new RtEvent.Overrun();
            default:
                return null;
        }
    }

    @Override
    public void close() {
        socket.close();
    }
}
