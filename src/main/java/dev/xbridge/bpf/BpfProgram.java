package dev.xbridge.bpf;

import dev.xbridge.sys.Native;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A loaded BPF program of a {@link BpfObject}, which owns its fd: {@link #close()} does
 * nothing and the program is unusable once the object is closed.
 */
public final class BpfProgram implements AutoCloseable {
    // UAPI struct bpf_prog_info (linux/bpf.h, 6.1 headers: 232 bytes; offsetof checked)
    private static final long PROG_INFO_SIZE = 232;
    private static final long PROG_INFO_ID_OFFSET = 4;
    private static final long PROG_INFO_NAME_OFFSET = 64; // char name[BPF_OBJ_NAME_LEN = 16]
    private static final long PROG_INFO_RUN_TIME_NS_OFFSET = 192;
    private static final long PROG_INFO_RUN_CNT_OFFSET = 200;

    // libbpf 1.1.2 bpf.h struct bpf_test_run_opts (checked with offsetof against the installed header)
    private static final long TEST_RUN_OPTS_SIZE = 80;
    private static final long TR_DATA_IN = 8;
    private static final long TR_DATA_OUT = 16;
    private static final long TR_DATA_SIZE_IN = 24;
    private static final long TR_DATA_SIZE_OUT = 28;
    private static final long TR_CTX_IN = 32;
    private static final long TR_CTX_OUT = 40;
    private static final long TR_CTX_SIZE_IN = 48;
    private static final long TR_CTX_SIZE_OUT = 52;
    private static final long TR_RETVAL = 56;
    private static final long TR_REPEAT = 60;
    private static final long TR_DURATION = 64;
    private static final long TR_FLAGS = 68;
    private static final long TR_CPU = 72;
    private static final long TR_BATCH_SIZE = 76;

    // libbpf 1.1.2 bpf.h struct bpf_link_create_opts: sz, then __u32 flags; 64 bytes in all
    private static final long LINK_CREATE_OPTS_SIZE = 64;
    private static final long LINK_CREATE_FLAGS_OFFSET = 8;
    // libbpf 1.1.2 bpf.h struct bpf_prog_query_opts { size_t sz; __u32 query_flags, attach_flags;
    // __u32 *prog_ids; __u32 prog_cnt; __u32 *prog_attach_flags; } (offsetof checked): 40 bytes
    private static final long QUERY_OPTS_SIZE = 40;
    private static final long QUERY_PROG_IDS = 16;
    private static final long QUERY_PROG_CNT = 24;
    private static final int QUERY_MAX_PROGRAMS = 64;

    // UAPI enum bpf_attach_type (BPF_TCX_* since 6.6; the 6.1 headers installed here lack them)
    private static final int BPF_XDP = 37;
    static final int BPF_TCX_INGRESS = 46;
    static final int BPF_TCX_EGRESS = 47;

    private final int fd;
    private final String name;
    private final ProgramType type;
    private final BpfObject owner;

    BpfProgram(int fd, String name, ProgramType type, BpfObject owner) {
        this.fd = fd;
        this.name = name;
        this.type = type;
        this.owner = owner;
    }

    public int fd() {
        if (owner.isClosed()) {
            throw new IllegalStateException("program " + name + " is closed (its object was closed)");
        }
        return fd;
    }

    /** The function name in the object (the kernel keeps only 15 characters of it). */
    public String name() {
        return name;
    }

    public ProgramType type() {
        return type;
    }

    /** The kernel's program id (bpf_prog_info.id), as {@code ip link} and bpftool show it. */
    public int id() {
        try (Arena arena = Arena.ofConfined()) {
            return BpfFd.info(fd(), PROG_INFO_SIZE, arena, "program " + name)
                    .get(ValueLayout.JAVA_INT, PROG_INFO_ID_OFFSET);
        }
    }

    /**
     * The name the kernel keeps for program {@code id} (at most 15 characters), e.g. to
     * recognise one's own program in an attachment left behind.
     */
    public static String nameOfId(int id) {
        int fd = fdOfId(id);
        try (Arena arena = Arena.ofConfined()) {
            return BpfFd.info(fd, PROG_INFO_SIZE, arena, "program id " + id)
                    .asSlice(PROG_INFO_NAME_OFFSET, 16).getString(0);
        } finally {
            BpfFd.close(fd);
        }
    }

    /**
     * The kernel's run statistics of program {@code id}, which another process may own
     * (bpf_prog_info run_time_ns and run_cnt). They grow only while {@link RunStats#enable()}
     * or the kernel.bpf_stats_enabled sysctl has the kernel time programs.
     */
    public static RunStats.Sample runStatsOfId(int id) {
        int fd = fdOfId(id);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment info = BpfFd.info(fd, PROG_INFO_SIZE, arena, "program id " + id);
            return new RunStats.Sample(info.get(ValueLayout.JAVA_LONG, PROG_INFO_RUN_TIME_NS_OFFSET),
                    info.get(ValueLayout.JAVA_LONG, PROG_INFO_RUN_CNT_OFFSET));
        } finally {
            BpfFd.close(fd);
        }
    }

    /**
     * Runs {@code use} with an fd of program {@code id}, which another process may own
     * (bpf_prog_get_fd_by_id; needs CAP_SYS_ADMIN), and closes the fd after: for handing the
     * program to the kernel, e.g. as a prog array value, which takes its own reference.
     */
    public static void withFdOfId(int id, java.util.function.IntConsumer use) {
        int fd = fdOfId(id);
        try {
            use.accept(fd);
        } finally {
            BpfFd.close(fd);
        }
    }

    /** A new fd for program {@code id} (bpf_prog_get_fd_by_id); the caller closes it. */
    private static int fdOfId(int id) {
        try {
            MemorySegment capture = LibBpf.capture();
            int fd = (int) LibBpf.PROG_GET_FD_BY_ID.invokeExact(capture, id);
            if (fd < 0) {
                throw new BpfException("bpf_prog_get_fd_by_id " + id, LibBpf.errno(fd, capture));
            }
            return fd;
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /** BPF_PROG_RUN (bpf_prog_test_run_opts). Runs on the calling thread, in its network namespace. */
    public RunResult run(RunOptions o) {
        return run(fd(), name, o);
    }

    /**
     * BPF_PROG_RUN of program {@code id}, which another process may own (bpf_prog_get_fd_by_id;
     * needs CAP_SYS_ADMIN). The run uses that program's maps as they are.
     */
    public static RunResult runById(int id, RunOptions o) {
        int fd = fdOfId(id);
        try {
            return run(fd, "id " + id, o);
        } finally {
            BpfFd.close(fd);
        }
    }

    private static RunResult run(int fd, String name, RunOptions o) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment opts = arena.allocate(TEST_RUN_OPTS_SIZE, 8);
            opts.set(ValueLayout.JAVA_LONG, 0, TEST_RUN_OPTS_SIZE);
            opts.set(ValueLayout.ADDRESS, TR_DATA_IN, arena.allocateFrom(ValueLayout.JAVA_BYTE, o.data()));
            opts.set(ValueLayout.JAVA_INT, TR_DATA_SIZE_IN, o.data().length);
            MemorySegment dataOut = MemorySegment.NULL;
            if (!o.live() && o.dataOutCapacity() > 0) {
                dataOut = arena.allocate(o.dataOutCapacity());
                opts.set(ValueLayout.ADDRESS, TR_DATA_OUT, dataOut);
                opts.set(ValueLayout.JAVA_INT, TR_DATA_SIZE_OUT, o.dataOutCapacity());
            }
            MemorySegment ctxOut = MemorySegment.NULL;
            if (o.context() != null) {
                opts.set(ValueLayout.ADDRESS, TR_CTX_IN, arena.allocateFrom(ValueLayout.JAVA_BYTE, o.context()));
                opts.set(ValueLayout.JAVA_INT, TR_CTX_SIZE_IN, o.context().length);
                if (!o.live()) {
                    ctxOut = arena.allocate(o.context().length);
                    opts.set(ValueLayout.ADDRESS, TR_CTX_OUT, ctxOut);
                    opts.set(ValueLayout.JAVA_INT, TR_CTX_SIZE_OUT, o.context().length);
                }
            }
            opts.set(ValueLayout.JAVA_INT, TR_REPEAT, o.repeat());
            opts.set(ValueLayout.JAVA_INT, TR_FLAGS, o.flags());
            opts.set(ValueLayout.JAVA_INT, TR_CPU, o.cpu());
            opts.set(ValueLayout.JAVA_INT, TR_BATCH_SIZE, o.batchSize());

            MemorySegment capture = LibBpf.capture();
            int rc = (int) LibBpf.PROG_TEST_RUN_OPTS.invokeExact(capture, fd, opts);
            if (rc < 0) {
                throw new BpfException("bpf_prog_test_run_opts " + name, LibBpf.errno(rc, capture));
            }
            byte[] data = dataOut.equals(MemorySegment.NULL) ? new byte[0]
                    : dataOut.asSlice(0, Integer.toUnsignedLong(opts.get(ValueLayout.JAVA_INT, TR_DATA_SIZE_OUT)))
                            .toArray(ValueLayout.JAVA_BYTE);
            byte[] ctx = ctxOut.equals(MemorySegment.NULL) ? null
                    : ctxOut.asSlice(0, Integer.toUnsignedLong(opts.get(ValueLayout.JAVA_INT, TR_CTX_SIZE_OUT)))
                            .toArray(ValueLayout.JAVA_BYTE);
            return new RunResult(opts.get(ValueLayout.JAVA_INT, TR_RETVAL), data, ctx,
                    Integer.toUnsignedLong(opts.get(ValueLayout.JAVA_INT, TR_DURATION)));
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /**
     * Attaches this XDP program to device {@code ifindex} with a BPF link
     * (bpf_link_create(prog, ifindex, BPF_XDP, flags)). The ifindex is resolved in the
     * calling thread's network namespace. Closing the returned link detaches the program
     * unless the link is pinned; a second link on the same device fails with EBUSY.
     */
    public BpfLink attachXdp(int ifindex, XdpMode mode) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment opts = arena.allocate(LINK_CREATE_OPTS_SIZE, 8);
            opts.set(ValueLayout.JAVA_LONG, 0, LINK_CREATE_OPTS_SIZE);
            opts.set(ValueLayout.JAVA_INT, LINK_CREATE_FLAGS_OFFSET, mode.flags());
            MemorySegment capture = LibBpf.capture();
            int linkFd = (int) LibBpf.LINK_CREATE.invokeExact(capture, fd(), ifindex, BPF_XDP, opts);
            if (linkFd < 0) {
                throw new BpfException("bpf_link_create " + name + " xdp ifindex " + ifindex + " " + mode,
                        LibBpf.errno(linkFd, capture));
            }
            return new BpfLink(linkFd, null);
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /**
     * Attaches this TC (SCHED_CLS) program to device {@code ifindex} with a tcx link
     * (bpf_link_create(prog, ifindex, BPF_TCX_INGRESS or _EGRESS), kernel 6.6 and later),
     * appended after programs already there. libbpf 1.1.2 has no bpf_program__attach_tcx,
     * but its bpf_link_create passes an unknown attach type through with target_fd as the
     * ifindex (the same union member as link_create.target_ifindex). A kernel without tcx
     * refuses it with EINVAL ({@link #isTcxMissing}); closing the link detaches.
     */
    public BpfLink attachTcx(int ifindex, TcDirection direction) {
        int attachType = direction == TcDirection.INGRESS ? BPF_TCX_INGRESS : BPF_TCX_EGRESS;
        try {
            MemorySegment capture = LibBpf.capture();
            int linkFd = (int) LibBpf.LINK_CREATE.invokeExact(capture, fd(), ifindex, attachType, MemorySegment.NULL);
            if (linkFd < 0) {
                throw new BpfException("bpf_link_create " + name + " tcx " + direction.name().toLowerCase(java.util.Locale.ROOT)
                        + " ifindex " + ifindex, LibBpf.errno(linkFd, capture));
            }
            return new BpfLink(linkFd, null);
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /**
     * The ids of the programs attached to {@code ifindex}'s tcx hook in {@code direction}, in the
     * order they run (BPF_PROG_QUERY with BPF_TCX_INGRESS or _EGRESS; libbpf 1.1.2 passes the
     * ifindex as target_fd, the same union member as query.target_ifindex). Empty on a kernel
     * without tcx (before 6.6 the attach type is refused with EINVAL) and when none is attached.
     * Links and plain attachments both count. The ifindex is resolved in the calling thread's
     * network namespace.
     */
    public static int[] tcxProgramIds(int ifindex, TcDirection direction) {
        int attachType = direction == TcDirection.INGRESS ? BPF_TCX_INGRESS : BPF_TCX_EGRESS;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment opts = arena.allocate(QUERY_OPTS_SIZE, 8);
            MemorySegment ids = arena.allocate(ValueLayout.JAVA_INT, QUERY_MAX_PROGRAMS);
            opts.set(ValueLayout.JAVA_LONG, 0, QUERY_OPTS_SIZE);
            opts.set(ValueLayout.ADDRESS, QUERY_PROG_IDS, ids);
            opts.set(ValueLayout.JAVA_INT, QUERY_PROG_CNT, QUERY_MAX_PROGRAMS);
            MemorySegment capture = LibBpf.capture();
            int rc = (int) LibBpf.PROG_QUERY_OPTS.invokeExact(capture, ifindex, attachType, opts);
            if (rc < 0) {
                int errno = LibBpf.errno(rc, capture);
                if (errno == dev.xbridge.sys.Errno.EINVAL.code()) {
                    return new int[0]; // no tcx in this kernel
                }
                // ENOSPC: more than QUERY_MAX_PROGRAMS; the first ones were copied and count says how many.
                if (errno != dev.xbridge.sys.Errno.ENOSPC.code()) {
                    throw new BpfException("bpf_prog_query tcx " + direction.name().toLowerCase(java.util.Locale.ROOT)
                            + " ifindex " + ifindex, errno);
                }
            }
            int n = Math.min(opts.get(ValueLayout.JAVA_INT, QUERY_PROG_CNT), QUERY_MAX_PROGRAMS);
            return ids.asSlice(0, 4L * n).toArray(ValueLayout.JAVA_INT);
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /** Whether a failed {@link #attachTcx} means the kernel has no tcx (before 6.6): EINVAL for an unknown attach type. */
    public static boolean isTcxMissing(BpfException e) {
        return e.errno() == dev.xbridge.sys.Errno.EINVAL;
    }

    /** Does nothing: the {@link BpfObject} owns the fd. */
    @Override
    public void close() {}

    @Override
    public String toString() {
        return "BpfProgram[" + name + " " + type + "]";
    }
}
