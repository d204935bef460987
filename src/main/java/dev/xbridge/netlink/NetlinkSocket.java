package dev.xbridge.netlink;

import dev.xbridge.sys.Errno;
import dev.xbridge.sys.Libc;
import dev.xbridge.sys.Socket;
import dev.xbridge.sys.SysException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A netlink socket, NETLINK_ROUTE unless said otherwise: socket(AF_NETLINK, SOCK_RAW|SOCK_CLOEXEC, NETLINK_ROUTE), bound with
 * a kernel-chosen port id. The socket belongs to the network namespace of the thread that
 * opened it, for its whole life. Not thread-safe.
 */
final class NetlinkSocket implements AutoCloseable {
    static final int NETLINK_ROUTE = 0;
    static final int NETLINK_NETFILTER = 12;
    // linux/netlink.h, SOL_NETLINK options
    static final int NETLINK_ADD_MEMBERSHIP = 1;
    static final int NETLINK_LISTEN_ALL_NSID = 8;
    static final int NETLINK_CAP_ACK = 10;
    static final int NETLINK_EXT_ACK = 11;
    static final int NETLINK_GET_STRICT_CHK = 12;
    /** struct sockaddr_nl { u16 nl_family; u16 nl_pad; u32 nl_pid; u32 nl_groups; } */
    static final int SOCKADDR_NL_SIZE = 12;
    static final int SOCKADDR_NL_PID_OFFSET = 4;

    private static final int INITIAL_BUFFER = 64 * 1024;

    private final int fd;
    private final Arena arena;
    private final MemorySegment kernel;
    private final int portId;
    private MemorySegment buffer;
    private boolean closed;

    private NetlinkSocket(int fd, Arena arena, int portId) {
        this.fd = fd;
        this.arena = arena;
        this.portId = portId;
        this.kernel = arena.allocate(SOCKADDR_NL_SIZE, 4);
        Wire.u16(kernel, 0, Socket.AF_NETLINK);
        this.buffer = arena.allocate(INITIAL_BUFFER, 8);
    }

    static NetlinkSocket open() {
        return open(NETLINK_ROUTE);
    }

    /** A netlink socket of another protocol (e.g. {@link #NETLINK_NETFILTER}). */
    static NetlinkSocket open(int protocol) {
        int fd = Libc.socket(Socket.AF_NETLINK, Socket.SOCK_RAW | Socket.SOCK_CLOEXEC, protocol);
        Arena arena = Arena.ofShared();
        try {
            MemorySegment local = arena.allocate(SOCKADDR_NL_SIZE, 4);
            Wire.u16(local, 0, Socket.AF_NETLINK);
            Socket.bind(fd, local, "AF_NETLINK socket fd " + fd);
            Socket.getsockname(fd, local);
            return new NetlinkSocket(fd, arena, Wire.u32(local, SOCKADDR_NL_PID_OFFSET));
        } catch (RuntimeException e) {
            arena.close();
            Libc.close(fd);
            throw e;
        }
    }

    int fd() {
        return fd;
    }

    int portId() {
        return portId;
    }

    void option(int option, int value, String name) {
        Socket.setInt(fd, Socket.SOL_NETLINK, option, value, name);
    }

    /** NETLINK_ADD_MEMBERSHIP: receive notifications of an RTNLGRP_* group. */
    void join(int group, String name) {
        option(NETLINK_ADD_MEMBERSHIP, group, "NETLINK_ADD_MEMBERSHIP " + name);
    }

    /**
     * Sets the receive buffer: SO_RCVBUFFORCE (CAP_NET_ADMIN) may exceed net.core.rmem_max,
     * which a monitor needs to ride out bursts; without the capability fall back to SO_RCVBUF.
     */
    void receiveBuffer(int bytes) {
        int err = Socket.trySetInt(fd, Socket.SOL_SOCKET, Socket.SO_RCVBUFFORCE, bytes);
        if (err == Errno.EPERM.code()) {
            Socket.setInt(fd, Socket.SOL_SOCKET, Socket.SO_RCVBUF, bytes, "SO_RCVBUF");
        } else if (err != 0) {
            throw new SysException("setsockopt SO_RCVBUFFORCE=" + bytes, err);
        }
    }

    int receiveBuffer() {
        return Socket.getInt(fd, Socket.SOL_SOCKET, Socket.SO_RCVBUF, "SO_RCVBUF");
    }

    void send(MemorySegment message, int length, String what) {
        long n = Socket.sendto(fd, message, length, 0, kernel, what);
        if (n != length) {
            throw new SysException("sendto " + what + ": sent " + n + " of " + length + " bytes", Errno.EIO.code());
        }
    }

    /**
     * Throws away every queued datagram without waiting. Returns how many there were, an
     * overrun (ENOBUFS: some were lost) counting as one.
     */
    int drain(String what) {
        int n = 0;
        while (true) {
            long r = receive(Socket.MSG_DONTWAIT);
            if (r == -Errno.EAGAIN.code()) {
                return n;
            }
            if (r == -Errno.EINTR.code()) {
                continue;
            }
            if (r < 0 && r != -Errno.ENOBUFS.code()) {
                throw new SysException("recv " + what + " fd " + fd, (int) -r);
            }
            n++;
        }
    }

    /**
     * Receives one datagram into {@link #buffer()}, growing the buffer first if the datagram
     * is larger (MSG_PEEK|MSG_TRUNC reports its real size), so nothing is ever cut off.
     * Returns its length, or -errno (-EAGAIN with MSG_DONTWAIT, -ENOBUFS after an overrun, -EINTR).
     */
    long receive(int flags) {
        long size = fitNext(flags);
        return size < 0 ? size : Socket.recv(fd, buffer, flags);
    }

    /**
     * As {@link #receive}, also reporting the first int of the datagram's {@code level}/{@code type}
     * control message in {@code controlInt[0]} (left as it is when there is none).
     */
    long receive(int flags, int level, int type, int[] controlInt) {
        long size = fitNext(flags);
        return size < 0 ? size : Socket.recvmsg(fd, buffer, flags, level, type, controlInt);
    }

    /**
     * The next datagram's real size (MSG_PEEK|MSG_TRUNC), waiting for one unless MSG_DONTWAIT;
     * or -errno. As much of it as fits is copied into {@code into}.
     */
    long peekSize(MemorySegment into, int flags) {
        return Socket.recv(fd, into, flags | Socket.MSG_PEEK | Socket.MSG_TRUNC);
    }

    /** Receives one datagram into {@code into}, which {@link #peekSize} said it fits; its length, or -errno. */
    long receiveInto(MemorySegment into, int flags) {
        return Socket.recv(fd, into, flags);
    }

    /** The next datagram's real size (MSG_PEEK|MSG_TRUNC), with the buffer grown to hold it; or -errno. */
    private long fitNext(int flags) {
        long size = peekSize(buffer, flags);
        if (size > buffer.byteSize()) {
            buffer = arena.allocate(Wire.align(size) * 2, 8);
        }
        return size;
    }

    MemorySegment buffer() {
        return buffer;
    }

    MemorySegment allocate(long bytes) {
        return arena.allocate(bytes, 8);
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            Libc.close(fd);
        } finally {
            arena.close();
        }
    }
}
