package dev.xbridge.bpf;

import static dev.xbridge.sys.Native.C_INT;
import static dev.xbridge.sys.Native.C_LONG;
import static dev.xbridge.sys.Native.C_POINTER;

import dev.xbridge.sys.Native;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * The libbpf 1.1 entry points xbridge uses, and two facts about the library itself.
 *
 * <p>libbpf 1.x reports errors in two ways: integer APIs return {@code -errno}
 * (and also set errno), pointer APIs return NULL and set errno. Every handle
 * that can fail is made with errno capture, and {@link #errno(int, MemorySegment)}
 * picks whichever of the two carries the error.
 */
public final class LibBpf {
    static final SymbolLookup LIB = SymbolLookup.libraryLookup("libbpf.so.1", Arena.global());

    // libbpf.h: library
    private static final MethodHandle VERSION_STRING = plain("libbpf_version_string", FunctionDescriptor.of(C_POINTER));
    private static final MethodHandle NUM_POSSIBLE_CPUS = plain("libbpf_num_possible_cpus", FunctionDescriptor.of(C_INT));
    static final MethodHandle SET_PRINT = plain("libbpf_set_print", FunctionDescriptor.of(C_POINTER, C_POINTER));

    // libbpf.h: objects
    static final MethodHandle OBJECT_OPEN_MEM =
            withErrno("bpf_object__open_mem", FunctionDescriptor.of(C_POINTER, C_POINTER, C_LONG, C_POINTER));
    static final MethodHandle OBJECT_LOAD = withErrno("bpf_object__load", FunctionDescriptor.of(C_INT, C_POINTER));
    static final MethodHandle OBJECT_CLOSE = plain("bpf_object__close", FunctionDescriptor.ofVoid(C_POINTER));
    static final MethodHandle OBJECT_NEXT_MAP =
            plain("bpf_object__next_map", FunctionDescriptor.of(C_POINTER, C_POINTER, C_POINTER));
    static final MethodHandle OBJECT_NEXT_PROGRAM =
            plain("bpf_object__next_program", FunctionDescriptor.of(C_POINTER, C_POINTER, C_POINTER));
    static final MethodHandle OBJECT_BTF = plain("bpf_object__btf", FunctionDescriptor.of(C_POINTER, C_POINTER));

    // libbpf.h: maps of an object
    static final MethodHandle MAP_NAME = plain("bpf_map__name", FunctionDescriptor.of(C_POINTER, C_POINTER));
    static final MethodHandle MAP_FD = plain("bpf_map__fd", FunctionDescriptor.of(C_INT, C_POINTER));
    static final MethodHandle MAP_TYPE = plain("bpf_map__type", FunctionDescriptor.of(C_INT, C_POINTER));
    static final MethodHandle MAP_KEY_SIZE = plain("bpf_map__key_size", FunctionDescriptor.of(C_INT, C_POINTER));
    static final MethodHandle MAP_VALUE_SIZE = plain("bpf_map__value_size", FunctionDescriptor.of(C_INT, C_POINTER));
    static final MethodHandle MAP_MAX_ENTRIES = plain("bpf_map__max_entries", FunctionDescriptor.of(C_INT, C_POINTER));
    static final MethodHandle MAP_SET_MAX_ENTRIES =
            withErrno("bpf_map__set_max_entries", FunctionDescriptor.of(C_INT, C_POINTER, C_INT));
    static final MethodHandle MAP_IS_INTERNAL =
            plain("bpf_map__is_internal", FunctionDescriptor.of(ValueLayout.JAVA_BOOLEAN, C_POINTER));
    static final MethodHandle MAP_INITIAL_VALUE =
            plain("bpf_map__initial_value", FunctionDescriptor.of(C_POINTER, C_POINTER, C_POINTER));

    // libbpf.h: programs of an object
    static final MethodHandle PROGRAM_NAME = plain("bpf_program__name", FunctionDescriptor.of(C_POINTER, C_POINTER));
    static final MethodHandle PROGRAM_FD = plain("bpf_program__fd", FunctionDescriptor.of(C_INT, C_POINTER));
    static final MethodHandle PROGRAM_TYPE = plain("bpf_program__type", FunctionDescriptor.of(C_INT, C_POINTER));

    // bpf.h: thin bpf(2) wrappers
    static final MethodHandle MAP_LOOKUP_ELEM =
            withErrno("bpf_map_lookup_elem", FunctionDescriptor.of(C_INT, C_INT, C_POINTER, C_POINTER));
    static final MethodHandle MAP_UPDATE_ELEM =
            withErrno("bpf_map_update_elem", FunctionDescriptor.of(C_INT, C_INT, C_POINTER, C_POINTER, C_LONG));
    static final MethodHandle MAP_DELETE_ELEM =
            withErrno("bpf_map_delete_elem", FunctionDescriptor.of(C_INT, C_INT, C_POINTER));
    static final MethodHandle MAP_GET_NEXT_KEY =
            withErrno("bpf_map_get_next_key", FunctionDescriptor.of(C_INT, C_INT, C_POINTER, C_POINTER));
    static final MethodHandle MAP_UPDATE_BATCH = withErrno("bpf_map_update_batch",
            FunctionDescriptor.of(C_INT, C_INT, C_POINTER, C_POINTER, C_POINTER, C_POINTER));
    static final MethodHandle MAP_LOOKUP_BATCH = withErrno("bpf_map_lookup_batch",
            FunctionDescriptor.of(C_INT, C_INT, C_POINTER, C_POINTER, C_POINTER, C_POINTER, C_POINTER, C_POINTER));
    static final MethodHandle MAP_DELETE_BATCH = withErrno("bpf_map_delete_batch",
            FunctionDescriptor.of(C_INT, C_INT, C_POINTER, C_POINTER, C_POINTER));
    static final MethodHandle OBJ_PIN = withErrno("bpf_obj_pin", FunctionDescriptor.of(C_INT, C_INT, C_POINTER));
    static final MethodHandle OBJ_GET = withErrno("bpf_obj_get", FunctionDescriptor.of(C_INT, C_POINTER));
    static final MethodHandle OBJ_GET_INFO_BY_FD =
            withErrno("bpf_obj_get_info_by_fd", FunctionDescriptor.of(C_INT, C_INT, C_POINTER, C_POINTER));
    static final MethodHandle PROG_TEST_RUN_OPTS =
            withErrno("bpf_prog_test_run_opts", FunctionDescriptor.of(C_INT, C_INT, C_POINTER));
    static final MethodHandle PROG_GET_FD_BY_ID =
            withErrno("bpf_prog_get_fd_by_id", FunctionDescriptor.of(C_INT, C_INT));
    static final MethodHandle ENABLE_STATS = withErrno("bpf_enable_stats", FunctionDescriptor.of(C_INT, C_INT));
    static final MethodHandle PROG_QUERY_OPTS =
            withErrno("bpf_prog_query_opts", FunctionDescriptor.of(C_INT, C_INT, C_INT, C_POINTER));
    static final MethodHandle LINK_CREATE =
            withErrno("bpf_link_create", FunctionDescriptor.of(C_INT, C_INT, C_INT, C_INT, C_POINTER));

    // libbpf.h: TC (clsact qdisc + cls_bpf filter, netlink under the hood)
    static final MethodHandle TC_HOOK_CREATE = withErrno("bpf_tc_hook_create", FunctionDescriptor.of(C_INT, C_POINTER));
    static final MethodHandle TC_HOOK_DESTROY = withErrno("bpf_tc_hook_destroy", FunctionDescriptor.of(C_INT, C_POINTER));
    static final MethodHandle TC_ATTACH = withErrno("bpf_tc_attach", FunctionDescriptor.of(C_INT, C_POINTER, C_POINTER));
    static final MethodHandle TC_DETACH = withErrno("bpf_tc_detach", FunctionDescriptor.of(C_INT, C_POINTER, C_POINTER));
    static final MethodHandle TC_QUERY = withErrno("bpf_tc_query", FunctionDescriptor.of(C_INT, C_POINTER, C_POINTER));

    // btf.h
    static final MethodHandle BTF_FIND_BY_NAME_KIND =
            withErrno("btf__find_by_name_kind", FunctionDescriptor.of(C_INT, C_POINTER, C_POINTER, C_INT));
    static final MethodHandle BTF_TYPE_BY_ID = plain("btf__type_by_id", FunctionDescriptor.of(C_POINTER, C_POINTER, C_INT));
    static final MethodHandle BTF_NAME_BY_OFFSET =
            plain("btf__name_by_offset", FunctionDescriptor.of(C_POINTER, C_POINTER, C_INT));
    static final MethodHandle BTF_RESOLVE_SIZE =
            withErrno("btf__resolve_size", FunctionDescriptor.of(C_LONG, C_POINTER, C_INT));

    static {
        LibBpfLog.install();
    }

    private LibBpf() {}

    /** libbpf's version, e.g. {@code "v1.1"} (libbpf_version_string: major.minor only). */
    public static String version() {
        try {
            return cString((MemorySegment) VERSION_STRING.invokeExact());
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /**
     * Possible CPUs (/sys/devices/system/cpu/possible), which is how many values a
     * per-CPU map holds per key, not how many CPUs are online.
     */
    public static int possibleCpus() {
        int n = POSSIBLE_CPUS;
        if (n < 0) {
            throw new BpfException("libbpf_num_possible_cpus", -n);
        }
        return n;
    }

    // libbpf caches this itself; the cache here saves the downcall on every per-CPU lookup.
    private static final int POSSIBLE_CPUS;

    static {
        try {
            POSSIBLE_CPUS = (int) NUM_POSSIBLE_CPUS.invokeExact();
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /** Makes sure libbpf's print callback is installed before the first libbpf call that may log. */
    static void init() {}

    /**
     * The errno of a failed libbpf call: {@code -rc} for integer APIs in libbpf 1.x,
     * else the captured errno (pointer APIs, or a bare -1).
     */
    static int errno(int rc, MemorySegment capture) {
        if (rc < -1) {
            return -rc;
        }
        int captured = Native.errno(capture);
        return captured != 0 ? captured : Math.max(1, -rc);
    }

    // One errno capture segment per thread, so a map operation allocates nothing for it.
    private static final ThreadLocal<MemorySegment> CAPTURE =
            ThreadLocal.withInitial(() -> Native.allocateCapture(Arena.ofAuto()));

    /** This thread's errno capture segment for the handles above. */
    static MemorySegment capture() {
        return CAPTURE.get();
    }

    static String cString(MemorySegment p) {
        return p.equals(MemorySegment.NULL) ? null : p.reinterpret(Long.MAX_VALUE).getString(0);
    }

    private static MethodHandle plain(String symbol, FunctionDescriptor fd) {
        return Native.downcall(LIB, symbol, fd);
    }

    private static MethodHandle withErrno(String symbol, FunctionDescriptor fd) {
        return Native.downcallErrno(LIB, symbol, fd);
    }
}
