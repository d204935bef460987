package dev.xbridge.sys;

import java.util.HashMap;
import java.util.Map;

/** Linux errno values (asm-generic/errno-base.h, errno.h) that xbridge branches on or reports. */
public enum Errno {
    EPERM(1, "operation not permitted"),
    ENOENT(2, "no such file or directory"),
    ESRCH(3, "no such process"),
    EINTR(4, "interrupted system call"),
    EIO(5, "I/O error"),
    E2BIG(7, "argument list too long"),
    EBADF(9, "bad file descriptor"),
    EAGAIN(11, "resource temporarily unavailable"),
    ENOMEM(12, "out of memory"),
    EACCES(13, "permission denied"),
    EFAULT(14, "bad address"),
    EBUSY(16, "device or resource busy"),
    EEXIST(17, "file exists"),
    ENODEV(19, "no such device"),
    ENOTDIR(20, "not a directory"),
    EINVAL(22, "invalid argument"),
    ENFILE(23, "too many open files in system"),
    EMFILE(24, "too many open files"),
    ENOTTY(25, "inappropriate ioctl for device"),
    ENOSPC(28, "no space left on device"),
    ERANGE(34, "result out of range"),
    ENOSYS(38, "function not implemented"),
    ENOMSG(42, "no message of desired type"),
    ENODATA(61, "no data available"),
    EPROTO(71, "protocol error"),
    EBADMSG(74, "bad message"),
    EOVERFLOW(75, "value too large for defined data type"),
    EMSGSIZE(90, "message too long"),
    EPROTONOSUPPORT(93, "protocol not supported"),
    EOPNOTSUPP(95, "operation not supported"),
    EAFNOSUPPORT(97, "address family not supported"),
    EADDRINUSE(98, "address already in use"),
    ENETDOWN(100, "network is down"),
    ENOBUFS(105, "no buffer space available"),
    ETIMEDOUT(110, "connection timed out"),
    ECONNREFUSED(111, "connection refused"),
    ENOTSUPP(524, "operation not supported (kernel-internal ENOTSUPP)"),
    UNKNOWN(-1, "unknown error");

    private static final Map<Integer, Errno> BY_CODE = new HashMap<>();

    static {
        for (Errno e : values()) {
            BY_CODE.put(e.code, e);
        }
    }

    private final int code;
    private final String description;

    Errno(int code, String description) {
        this.code = code;
        this.description = description;
    }

    /** The errno for a positive or negative code; {@link #UNKNOWN} when this enum does not name it. */
    public static Errno of(int code) {
        return BY_CODE.getOrDefault(Math.abs(code), UNKNOWN);
    }

    public int code() {
        return code;
    }

    public String description() {
        return description;
    }

    /** {@code "file exists (EEXIST)"}, or {@code "errno 200"} for codes this enum does not know. */
    public static String describe(int code) {
        Errno e = of(code);
        return e == UNKNOWN ? "errno " + Math.abs(code) : e.description + " (" + e.name() + ")";
    }
}
