package dev.xbridge.sys;

/**
 * A failed system or library call. The message names the operation and the
 * errno, e.g. {@code "setns /run/netns/a: operation not permitted (EPERM)"}.
 */
public class SysException extends RuntimeException {
    private final String operation;
    private final int errno;

    public SysException(String operation, int errno) {
        super(operation + ": " + Errno.describe(errno));
        this.operation = operation;
        this.errno = Math.abs(errno);
    }

    public SysException(String operation, int errno, String detail) {
        super(operation + ": " + Errno.describe(errno) + (detail == null || detail.isEmpty() ? "" : ": " + detail));
        this.operation = operation;
        this.errno = Math.abs(errno);
    }

    public String operation() {
        return operation;
    }

    /** The positive errno value. */
    public int errnoCode() {
        return errno;
    }

    public Errno errno() {
        return Errno.of(errno);
    }
}
