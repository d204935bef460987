package dev.xbridge.sys;

import static dev.xbridge.sys.Native.C_INT;
import static dev.xbridge.sys.Native.C_LONG;
import static dev.xbridge.sys.Native.C_POINTER;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Socket calls beyond {@link Libc#socket}: options, bind, send, receive and poll(2).
 *
 * <p>{@link #recv} and {@link #poll} report failures as a negative errno instead of
 * throwing, because their callers branch on EAGAIN, EINTR and ENOBUFS in normal
 * operation (a drained socket, a signal, a netlink overrun).
 */
public final class Socket {
    public static final int AF_UNSPEC = 0;
    public static final int AF_INET = 2;
    public static final int AF_BRIDGE = 7;
    public static final int AF_NETLINK = 16;
    public static final int SOCK_DGRAM = 2;
    public static final int SOCK_RAW = 3;
    public static final int SOCK_CLOEXEC = 0x80000;
    /** asm-generic/socket.h */
    public static final int SOL_SOCKET = 1;
    public static final int SO_SNDBUF = 7;
    public static final int SO_RCVBUF = 8;
    public static final int SO_RCVBUFFORCE = 33;
    /** linux/socket.h */
    public static final int SOL_NETLINK = 270;
    public static final int MSG_PEEK = 0x2;
    public static final int MSG_TRUNC = 0x20;
    public static final int MSG_DONTWAIT = 0x40;
    /** poll.h */
    public static final short POLLIN = 0x1;
    public static final short POLLERR = 0x8;

    private static final MethodHandle SETSOCKOPT =
            Native.libc("setsockopt", FunctionDescriptor.of(C_INT, C_INT, C_INT, C_INT, C_POINTER, C_INT));
    private static final MethodHandle GETSOCKOPT =
            Native.libc("getsockopt", FunctionDescriptor.of(C_INT, C_INT, C_INT, C_INT, C_POINTER, C_POINTER));
    private static final MethodHandle BIND = Native.libc("bind", FunctionDescriptor.of(C_INT, C_INT, C_POINTER, C_INT));
    private static final MethodHandle GETSOCKNAME =
            Native.libc("getsockname", FunctionDescriptor.of(C_INT, C_INT, C_POINTER, C_POINTER));
    private static final MethodHandle SENDTO = Native.libc("sendto",
            FunctionDescriptor.of(C_LONG, C_INT, C_POINTER, C_LONG, C_INT, C_POINTER, C_INT));
    private static final MethodHandle RECV =
            Native.libc("recv", FunctionDescriptor.of(C_LONG, C_INT, C_POINTER, C_LONG, C_INT));
    private static final MethodHandle RECVMSG =
            Native.libc("recvmsg", FunctionDescriptor.of(C_LONG, C_INT, C_POINTER, C_INT));
    private static final MethodHandle POLL = Native.libc("poll", FunctionDescriptor.of(C_INT, C_POINTER, C_LONG, C_INT));

    // struct msghdr (x86-64/aarch64 LP64): msg_name, msg_namelen (+4), msg_iov, msg_iovlen,
    // msg_control, msg_controllen, msg_flags (+4)
    static final long MSGHDR_SIZE = 56;
    static final long MSGHDR_IOV_OFFSET = 16;
    static final long MSGHDR_IOVLEN_OFFSET = 24;
    static final long MSGHDR_CONTROL_OFFSET = 32;
    static final long MSGHDR_CONTROLLEN_OFFSET = 40;
    // struct cmsghdr: size_t cmsg_len; int cmsg_level; int cmsg_type; data at 16 (CMSG_ALIGN(16))
    static final long CMSGHDR_SIZE = 16;

    private Socket() {}

    /** setsockopt(2) with an int value; {@code what} names the option in the error. */
    public static void setInt(int fd, int level, int option, int value, String what) {
        int err = trySetInt(fd, level, option, value);
        if (err != 0) {
            throw new SysException("setsockopt " + what + "=" + value + " on fd " + fd, err);
        }
    }

    /** setsockopt(2) with an int value; returns 0 or the errno, for options that may be refused (SO_RCVBUFFORCE). */
    public static int trySetInt(int fd, int level, int option, int value) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment capture = Native.allocateCapture(arena);
            MemorySegment v = arena.allocateFrom(ValueLayout.JAVA_INT, value);
            int rc = (int) SETSOCKOPT.invokeExact(capture, fd, level, option, v, 4);
            return rc < 0 ? Native.errno(capture) : 0;
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    public static int getInt(int fd, int level, int option, String what) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment capture = Native.allocateCapture(arena);
            MemorySegment v = arena.allocate(ValueLayout.JAVA_INT);
            MemorySegment len = arena.allocateFrom(ValueLayout.JAVA_INT, 4);
            int rc = (int) GETSOCKOPT.invokeExact(capture, fd, level, option, v, len);
            if (rc < 0) {
                throw new SysException("getsockopt " + what + " on fd " + fd, Native.errno(capture));
            }
            return v.get(ValueLayout.JAVA_INT, 0);
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    public static void bind(int fd, MemorySegment address, String what) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment capture = Native.allocateCapture(arena);
            int rc = (int) BIND.invokeExact(capture, fd, address, (int) address.byteSize());
            if (rc < 0) {
                throw new SysException("bind " + what, Native.errno(capture));
            }
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /** getsockname(2) into {@code address}; returns the address length the kernel reported. */
    public static int getsockname(int fd, MemorySegment address) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment capture = Native.allocateCapture(arena);
            MemorySegment len = arena.allocateFrom(ValueLayout.JAVA_INT, (int) address.byteSize());
            int rc = (int) GETSOCKNAME.invokeExact(capture, fd, address, len);
            if (rc < 0) {
                throw new SysException("getsockname fd " + fd, Native.errno(capture));
            }
            return len.get(ValueLayout.JAVA_INT, 0);
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /** sendto(2) of the first {@code length} bytes of {@code data}; EINTR is retried. */
    public static long sendto(int fd, MemorySegment data, long length, int flags, MemorySegment address, String what) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment capture = Native.allocateCapture(arena);
            while (true) {
                long n = (long) SENDTO.invokeExact(capture, fd, data, length, flags, address, (int) address.byteSize());
                if (n >= 0) {
                    return n;
                }
                int errno = Native.errno(capture);
                if (errno != Errno.EINTR.code()) {
                    throw new SysException("sendto " + what, errno);
                }
            }
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /** recv(2) into {@code buffer}; returns the byte count (the full datagram size with MSG_TRUNC) or -errno. */
    public static long recv(int fd, MemorySegment buffer, int flags) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment capture = Native.allocateCapture(arena);
            long n = (long) RECV.invokeExact(capture, fd, buffer, buffer.byteSize(), flags);
            return n >= 0 ? n : -Native.errno(capture);
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /**
     * recvmsg(2) of one datagram into {@code buffer}, with ancillary data: the first int of
     * each control message of {@code level}/{@code type} goes to {@code controlInt[0]}, which
     * is left as it is when there is none (the caller sets its "none"). Returns the byte count or
     * -errno, as {@link #recv}.
     */
    public static long recvmsg(int fd, MemorySegment buffer, int flags, int level, int type, int[] controlInt) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment capture = Native.allocateCapture(arena);
            MemorySegment iov = arena.allocate(16, 8);
            iov.set(ValueLayout.ADDRESS, 0, buffer);
            iov.set(ValueLayout.JAVA_LONG, 8, buffer.byteSize());
            MemorySegment control = arena.allocate(256, 8);
            MemorySegment msg = arena.allocate(MSGHDR_SIZE, 8);
            msg.set(ValueLayout.ADDRESS, MSGHDR_IOV_OFFSET, iov);
            msg.set(ValueLayout.JAVA_LONG, MSGHDR_IOVLEN_OFFSET, 1);
            msg.set(ValueLayout.ADDRESS, MSGHDR_CONTROL_OFFSET, control);
            msg.set(ValueLayout.JAVA_LONG, MSGHDR_CONTROLLEN_OFFSET, control.byteSize());
            long n = (long) RECVMSG.invokeExact(capture, fd, msg, flags);
            if (n < 0) {
                return -Native.errno(capture);
            }
            long length = msg.get(ValueLayout.JAVA_LONG, MSGHDR_CONTROLLEN_OFFSET);
            for (long at = 0; at + CMSGHDR_SIZE <= length; ) {
                long len = control.get(ValueLayout.JAVA_LONG, at);
                if (len < CMSGHDR_SIZE || at + len > length) {
                    break;
                }
                if (control.get(ValueLayout.JAVA_INT, at + 8) == level && control.get(ValueLayout.JAVA_INT, at + 12) == type
                        && len >= CMSGHDR_SIZE + 4) {
                    controlInt[0] = control.get(ValueLayout.JAVA_INT, at + CMSGHDR_SIZE);
                }
                at += (len + 7) & ~7L;
            }
            return n;
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /**
     * poll(2) for input on several fds: a bit per fd that is readable or in error (bit i for
     * {@code fds[i]}), 0 on timeout, or -errno (e.g. -EINTR). At most 31 fds.
     */
    public static int pollIn(int[] fds, int timeoutMillis) {
        if (fds.length > 31) {
            throw new IllegalArgumentException("pollIn takes at most 31 fds, got " + fds.length);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment capture = Native.allocateCapture(arena);
            MemorySegment pfds = arena.allocate(8L * fds.length, 4);
            for (int i = 0; i < fds.length; i++) {
                pfds.set(ValueLayout.JAVA_INT, 8L * i, fds[i]);
                pfds.set(ValueLayout.JAVA_SHORT, 8L * i + 4, POLLIN);
            }
            int rc = (int) POLL.invokeExact(capture, pfds, (long) fds.length, timeoutMillis);
            if (rc < 0) {
                return -Native.errno(capture);
            }
            int ready = 0;
            for (int i = 0; i < fds.length; i++) {
                if (pfds.get(ValueLayout.JAVA_SHORT, 8L * i + 6) != 0) {
                    ready |= 1 << i;
                }
            }
            return ready;
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /**
     * poll(2) on one fd: returns the revents (0 on timeout) or -errno (e.g. -EINTR).
     * A negative {@code timeoutMillis} waits forever.
     */
    public static int poll(int fd, short events, int timeoutMillis) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment capture = Native.allocateCapture(arena);
            // struct pollfd { int fd; short events; short revents; }
            MemorySegment pfd = arena.allocate(8, 4);
            pfd.set(ValueLayout.JAVA_INT, 0, fd);
            pfd.set(ValueLayout.JAVA_SHORT, 4, events);
            int rc = (int) POLL.invokeExact(capture, pfd, 1L, timeoutMillis);
            if (rc < 0) {
                return -Native.errno(capture);
            }
            return rc == 0 ? 0 : pfd.get(ValueLayout.JAVA_SHORT, 6) & 0xffff;
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }
}
