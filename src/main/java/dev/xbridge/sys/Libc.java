package dev.xbridge.sys;

import static dev.xbridge.sys.Native.C_INT;
import static dev.xbridge.sys.Native.C_LONG;
import static dev.xbridge.sys.Native.C_POINTER;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/** The few libc calls xbridge needs, each throwing {@link SysException} with the errno on failure. */
public final class Libc {
    public static final int O_RDONLY = 0;
    public static final int O_CLOEXEC = 0x80000;
    /** sched.h */
    public static final int CLONE_NEWNET = 0x40000000;

    private static final MethodHandle OPEN = Native.libcVariadic("open", FunctionDescriptor.of(C_INT, C_POINTER, C_INT), 2);
    private static final MethodHandle CLOSE = Native.libc("close", FunctionDescriptor.of(C_INT, C_INT));
    private static final MethodHandle SETNS = Native.libc("setns", FunctionDescriptor.of(C_INT, C_INT, C_INT));
    private static final MethodHandle IOCTL = Native.libcVariadic("ioctl", FunctionDescriptor.of(C_INT, C_INT, C_LONG, C_POINTER), 2);
    private static final MethodHandle SOCKET = Native.libc("socket", FunctionDescriptor.of(C_INT, C_INT, C_INT, C_INT));
    private static final MethodHandle MMAP = Native.libc("mmap",
            FunctionDescriptor.of(C_POINTER, C_POINTER, C_LONG, C_INT, C_INT, C_INT, C_LONG));
    private static final MethodHandle MUNMAP = Native.libc("munmap", FunctionDescriptor.of(C_INT, C_POINTER, C_LONG));
    /** sys/mman.h */
    public static final int PROT_READ = 1;
    public static final int PROT_WRITE = 2;
    public static final int MAP_SHARED = 1;
    private static final long MAP_FAILED = -1;
    private static final MethodHandle GETEUID = Native.downcall(Native.LIBC, "geteuid", FunctionDescriptor.of(C_INT));

    private Libc() {}

    public static int open(String path, int flags) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment capture = Native.allocateCapture(arena);
            int fd = (int) OPEN.invokeExact(capture, arena.allocateFrom(path), flags);
            if (fd < 0) {
                throw new SysException("open " + path, Native.errno(capture));
            }
            return fd;
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    public static void close(int fd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment capture = Native.allocateCapture(arena);
            int rc = (int) CLOSE.invokeExact(capture, fd);
            if (rc < 0) {
                throw new SysException("close fd " + fd, Native.errno(capture));
            }
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /** setns(2) for the calling thread only. */
    public static void setns(int fd, int nstype, String what) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment capture = Native.allocateCapture(arena);
            int rc = (int) SETNS.invokeExact(capture, fd, nstype);
            if (rc < 0) {
                throw new SysException("setns " + what, Native.errno(capture));
            }
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    public static int socket(int domain, int type, int protocol) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment capture = Native.allocateCapture(arena);
            int fd = (int) SOCKET.invokeExact(capture, domain, type, protocol);
            if (fd < 0) {
                throw new SysException("socket(" + domain + ", " + type + ", " + protocol + ")", Native.errno(capture));
            }
            return fd;
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /** ioctl(2); returns the errno (0 on success) so callers can branch on EOPNOTSUPP and the like. */
    public static int ioctl(int fd, long request, MemorySegment arg) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment capture = Native.allocateCapture(arena);
            int rc = (int) IOCTL.invokeExact(capture, fd, request, arg);
            return rc < 0 ? Native.errno(capture) : 0;
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /**
     * mmap(2) of {@code length} bytes of {@code fd} from offset 0, shared, read and write; the
     * segment is unmapped when {@code arena} closes. {@code what} names the mapping in errors.
     */
    public static MemorySegment mmapShared(int fd, long length, Arena arena, String what) {
        MemorySegment at;
        try (Arena scratch = Arena.ofConfined()) {
            MemorySegment capture = Native.allocateCapture(scratch);
            at = (MemorySegment) MMAP.invokeExact(capture, MemorySegment.NULL, length, PROT_READ | PROT_WRITE,
                    MAP_SHARED, fd, 0L);
            if (at.address() == MAP_FAILED) {
                throw new SysException("mmap " + what, Native.errno(capture));
            }
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
        long address = at.address();
        return at.reinterpret(length, arena, s -> munmap(address, length, what));
    }

    private static void munmap(long address, long length, String what) {
        try (Arena scratch = Arena.ofConfined()) {
            MemorySegment capture = Native.allocateCapture(scratch);
            int rc = (int) MUNMAP.invokeExact(capture, MemorySegment.ofAddress(address), length);
            if (rc < 0) {
                throw new SysException("munmap " + what, Native.errno(capture));
            }
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    public static int geteuid() {
        try {
            return (int) GETEUID.invokeExact();
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }
}
