package dev.xbridge.bpf;

import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;

/**
 * A BPF link (an attachment held by an fd). Closing the last reference detaches the
 * program; a pin in bpffs is such a reference, so a pinned link outlives this process.
 */
public final class BpfLink implements AutoCloseable {
    // UAPI struct bpf_link_info (linux/bpf.h, 6.1 headers: 48 bytes): type, id, prog_id, union
    private static final long LINK_INFO_SIZE = 48;
    private static final long LINK_INFO_ID_OFFSET = 4;
    private static final long LINK_INFO_PROG_ID_OFFSET = 8;

    private volatile int fd;
    private volatile Path pinnedAt;

    BpfLink(int fd, Path pinnedAt) {
        this.fd = fd;
        this.pinnedAt = pinnedAt;
    }

    /** Opens the link pinned at {@code path} (bpf_obj_get). */
    public static BpfLink openPinned(Path path) {
        int fd = BpfFd.get(path);
        String kind = BpfFd.kind(fd);
        if (!kind.equals("link")) {
            BpfFd.close(fd);
            throw new IllegalArgumentException(path + " holds a BPF " + kind + ", not a link");
        }
        return new BpfLink(fd, path);
    }

    public int fd() {
        int f = fd;
        if (f < 0) {
            throw new IllegalStateException("link is closed");
        }
        return f;
    }

    /** The kernel's link id (bpf_link_info.id). */
    public int id() {
        return info(LINK_INFO_ID_OFFSET);
    }

    /** The id of the attached program (bpf_link_info.prog_id). */
    public int programId() {
        return info(LINK_INFO_PROG_ID_OFFSET);
    }

    private int info(long offset) {
        try (Arena arena = Arena.ofConfined()) {
            return BpfFd.info(fd(), LINK_INFO_SIZE, arena, "link").get(ValueLayout.JAVA_INT, offset);
        }
    }

    /** Pins the link at {@code path} in a bpffs: the attachment then survives {@link #close()}. */
    public void pin(Path path) {
        BpfFd.pin(fd(), path, "link");
        pinnedAt = path;
    }

    /** Removes the pin; the attachment then lives only as long as open fds. */
    public void unpin() {
        Path path = pinnedAt;
        if (path == null) {
            throw new IllegalStateException("link is not pinned");
        }
        BpfFd.unpin(path, "link");
        pinnedAt = null;
    }

    /** Closes the fd; an unpinned link with no other fd detaches its program. Idempotent. */
    @Override
    public void close() {
        int f;
        synchronized (this) {
            f = fd;
            fd = -1;
        }
        if (f >= 0) {
            BpfFd.close(f);
        }
    }
}
