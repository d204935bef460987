package dev.xbridge.bpf;

import dev.xbridge.sys.Errno;
import dev.xbridge.sys.Native;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.function.BooleanSupplier;

/**
 * A TC program attached the pre-tcx way: a {@code clsact} qdisc on the device
 * and a {@code cls_bpf} filter in direct-action mode under it (libbpf's
 * bpf_tc_hook_create / bpf_tc_attach, which speak rtnetlink in the calling
 * thread's network namespace). For kernels before 6.6, which lack tcx links.
 *
 * <p>Unlike a link, the filter holds the program itself: it outlives this
 * process unless {@link #close()} runs. Filters go at a fixed handle and
 * priority so that a later run can find one left behind ({@link #query}) and
 * remove it ({@link #detach}). The qdisc is removed on close only when this
 * attachment created it.
 */
public final class ClsBpf implements AutoCloseable {
    // libbpf 1.1.2 libbpf.h struct bpf_tc_hook { size_t sz; int ifindex; enum attach_point; __u32 parent; } (offsetof checked)
    private static final long HOOK_SIZE = 24;
    private static final long HOOK_IFINDEX = 8;
    private static final long HOOK_ATTACH_POINT = 12;
    // struct bpf_tc_opts { size_t sz; int prog_fd; __u32 flags, prog_id, handle, priority; }
    private static final long OPTS_SIZE = 32;
    private static final long OPTS_PROG_FD = 8;
    private static final long OPTS_PROG_ID = 16;
    private static final long OPTS_HANDLE = 20;
    private static final long OPTS_PRIORITY = 24;
    /** BPF_TC_INGRESS | BPF_TC_EGRESS: bpf_tc_hook_destroy then deletes the whole clsact qdisc. */
    private static final int BOTH = 3;

    private final int ifindex;
    private final TcDirection direction;
    private final int handle;
    private final int priority;
    private final boolean createdQdisc;
    private final int programId;
    private boolean closed;

    private ClsBpf(int ifindex, TcDirection direction, int handle, int priority, boolean createdQdisc, int programId) {
        this.ifindex = ifindex;
        this.direction = direction;
        this.handle = handle;
        this.priority = priority;
        this.createdQdisc = createdQdisc;
        this.programId = programId;
    }

    /**
     * Adds a clsact qdisc to {@code ifindex} unless one is there, then the filter
     * (fails with EEXIST when a filter already holds this handle and priority).
     */
    public static ClsBpf attach(BpfProgram program, int ifindex, TcDirection direction, int handle, int priority) {
        if (handle == 0 || priority <= 0 || priority > 0xffff) {
            throw new IllegalArgumentException("handle must be nonzero and priority 1..65535: " + handle + ", " + priority);
        }
        boolean created = createQdisc(ifindex, direction);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment hook = hook(arena, ifindex, direction.tcAttachPoint());
            MemorySegment opts = opts(arena, handle, priority);
            opts.set(ValueLayout.JAVA_INT, OPTS_PROG_FD, program.fd());
            int rc = call(LibBpf.TC_ATTACH, hook, opts);
            if (rc < 0) {
                throw new BpfException("bpf_tc_attach " + program.name() + " ifindex " + ifindex + " "
                        + direction.name().toLowerCase(java.util.Locale.ROOT), -rc);
            }
            return new ClsBpf(ifindex, direction, handle, priority, created,
                    opts.get(ValueLayout.JAVA_INT, OPTS_PROG_ID));
        } catch (RuntimeException e) {
            if (created) {
                destroyQdisc(ifindex);
            }
            throw e;
        }
    }

    /** The id of the program in the filter at this handle and priority, or 0 when there is none. */
    public static int query(int ifindex, TcDirection direction, int handle, int priority) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment opts = opts(arena, handle, priority);
            int rc = call(LibBpf.TC_QUERY, hook(arena, ifindex, direction.tcAttachPoint()), opts);
            if (rc == -Errno.ENOENT.code() || rc == -Errno.EINVAL.code()) {
                return 0; // no such filter, or no clsact qdisc at all
            }
            if (rc < 0) {
                throw new BpfException("bpf_tc_query ifindex " + ifindex, -rc);
            }
            return opts.get(ValueLayout.JAVA_INT, OPTS_PROG_ID);
        }
    }

    /** Removes the filter at this handle and priority (quiet when it is gone). */
    public static void detach(int ifindex, TcDirection direction, int handle, int priority) {
        try (Arena arena = Arena.ofConfined()) {
            int rc = call(LibBpf.TC_DETACH, hook(arena, ifindex, direction.tcAttachPoint()), opts(arena, handle, priority));
            if (rc < 0 && rc != -Errno.ENOENT.code() && rc != -Errno.ENODEV.code() && rc != -Errno.EINVAL.code()) {
                throw new BpfException("bpf_tc_detach ifindex " + ifindex, -rc);
            }
        }
    }

    /** Deletes the clsact qdisc of {@code ifindex} with every filter in it (quiet when it is gone). */
    public static void destroyQdisc(int ifindex) {
        try (Arena arena = Arena.ofConfined()) {
            int rc = call(LibBpf.TC_HOOK_DESTROY, hook(arena, ifindex, BOTH));
            if (rc < 0 && rc != -Errno.ENOENT.code() && rc != -Errno.ENODEV.code() && rc != -Errno.EINVAL.code()) {
                throw new BpfException("bpf_tc_hook_destroy ifindex " + ifindex, -rc);
            }
        }
    }

    /** True when this call created the qdisc, false when a clsact qdisc was already there. */
    private static boolean createQdisc(int ifindex, TcDirection direction) {
        try (Arena arena = Arena.ofConfined()) {
            int rc = call(LibBpf.TC_HOOK_CREATE, hook(arena, ifindex, direction.tcAttachPoint()));
            if (rc == -Errno.EEXIST.code()) {
                return false;
            }
            if (rc < 0) {
                throw new BpfException("bpf_tc_hook_create (clsact) ifindex " + ifindex, -rc);
            }
            return true;
        }
    }

    public int ifindex() {
        return ifindex;
    }

    public int programId() {
        return programId;
    }

    /** Whether {@link #close()} will delete the clsact qdisc (this attachment created it). */
    public boolean createdQdisc() {
        return createdQdisc;
    }

    /** Removes the filter, and the qdisc if this attachment created it. Idempotent; quiet if the device is gone. */
    @Override
    public void close() {
        close(() -> false);
    }

    /**
     * Removes the filter, then the qdisc if this attachment created it and
     * {@code qdiscInUse}, asked after the filter is gone, says nothing else is in
     * it: deleting a clsact qdisc deletes every filter under it, someone else's too.
     */
    public synchronized void close(BooleanSupplier qdiscInUse) {
        if (closed) {
            return;
        }
        closed = true;
        detach(ifindex, direction, handle, priority);
        if (createdQdisc && !qdiscInUse.getAsBoolean()) {
            destroyQdisc(ifindex);
        }
    }

    private static MemorySegment hook(Arena arena, int ifindex, int attachPoint) {
        MemorySegment hook = arena.allocate(HOOK_SIZE, 8);
        hook.set(ValueLayout.JAVA_LONG, 0, HOOK_SIZE);
        hook.set(ValueLayout.JAVA_INT, HOOK_IFINDEX, ifindex);
        hook.set(ValueLayout.JAVA_INT, HOOK_ATTACH_POINT, attachPoint);
        return hook;
    }

    private static MemorySegment opts(Arena arena, int handle, int priority) {
        MemorySegment opts = arena.allocate(OPTS_SIZE, 8);
        opts.set(ValueLayout.JAVA_LONG, 0, OPTS_SIZE);
        opts.set(ValueLayout.JAVA_INT, OPTS_HANDLE, handle);
        opts.set(ValueLayout.JAVA_INT, OPTS_PRIORITY, priority);
        return opts;
    }

    /** libbpf's bpf_tc_* return -errno. */
    private static int call(MethodHandle h, MemorySegment... args) {
        try {
            MemorySegment capture = LibBpf.capture();
            if (args.length == 1) {
                return (int) h.invokeExact(capture, args[0]);
            }
            return (int) h.invokeExact(capture, args[0], args[1]);
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }
}
