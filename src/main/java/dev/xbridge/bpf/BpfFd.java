package dev.xbridge.bpf;

import static dev.xbridge.sys.Native.C_INT;
import static dev.xbridge.sys.Native.C_POINTER;

import dev.xbridge.sys.Libc;
import dev.xbridge.sys.Native;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;

/** What every BPF object fd (map, program, link) supports: pinning in bpffs, info, close. */
final class BpfFd {
    private static final MethodHandle UNLINK = Native.libc("unlink", FunctionDescriptor.of(C_INT, C_POINTER));

    private BpfFd() {}

    /** bpf_obj_pin: makes {@code path} (in a bpffs) hold a reference to the object. */
    static void pin(int fd, Path path, String what) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment capture = LibBpf.capture();
            int rc = (int) LibBpf.OBJ_PIN.invokeExact(capture, fd, arena.allocateFrom(path.toString()));
            if (rc < 0) {
                throw new BpfException("bpf_obj_pin " + what + " at " + path, LibBpf.errno(rc, capture));
            }
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /** Removes a pin: unlink(2) of the bpffs path drops the reference it held. */
    static void unpin(Path path, String what) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment capture = Native.allocateCapture(arena);
            int rc = (int) UNLINK.invokeExact(capture, arena.allocateFrom(path.toString()));
            if (rc < 0) {
                throw new BpfException("unlink " + what + " pin " + path, Native.errno(capture));
            }
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /** bpf_obj_get: a new fd for the object pinned at {@code path}. */
    static int get(Path path) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment capture = LibBpf.capture();
            int fd = (int) LibBpf.OBJ_GET.invokeExact(capture, arena.allocateFrom(path.toString()));
            if (fd < 0) {
                throw new BpfException("bpf_obj_get " + path, LibBpf.errno(fd, capture));
            }
            return fd;
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /**
     * bpf_obj_get_info_by_fd into a zeroed buffer of {@code size} bytes (the UAPI struct
     * bpf_map_info / bpf_prog_info / bpf_link_info this code was written against; the kernel
     * fills only what fits, so newer kernels' longer structs are fine).
     */
    static MemorySegment info(int fd, long size, Arena arena, String what) {
        MemorySegment info = arena.allocate(size, 8);
        MemorySegment len = arena.allocateFrom(ValueLayout.JAVA_INT, (int) size);
        try {
            MemorySegment capture = LibBpf.capture();
            int rc = (int) LibBpf.OBJ_GET_INFO_BY_FD.invokeExact(capture, fd, info, len);
            if (rc < 0) {
                throw new BpfException("bpf_obj_get_info_by_fd " + what, LibBpf.errno(rc, capture));
            }
            return info;
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /**
     * The kind of BPF object behind {@code fd}, from /proc/self/fdinfo: "map", "prog" or "link"
     * (by the {@code map_type:}, {@code prog_type:}, {@code link_type:} lines), else "unknown".
     * bpf_obj_get_info_by_fd would fill a different struct for each, silently.
     */
    static String kind(int fd) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/fdinfo/" + fd))) {
                if (line.startsWith("map_type:")) {
                    return "map";
                }
                if (line.startsWith("prog_type:")) {
                    return "prog";
                }
                if (line.startsWith("link_type:")) {
                    return "link";
                }
            }
            return "unknown";
        } catch (IOException e) {
            return "unknown";
        }
    }

    static void close(int fd) {
        Libc.close(fd);
    }
}
