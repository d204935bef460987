package dev.xbridge.bpf;

import dev.xbridge.sys.Native;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Maps by kernel id (bpf_map_get_fd_by_id), for looking into a map another process owns
 * without it pinning anything: {@code xbridge bench} reads the daemon's FDB map this way,
 * with the id from the daemon's {@code /proc/PID/fdinfo}. Needs CAP_SYS_ADMIN.
 */
public final class BpfMapIds {
    private static final MethodHandle MAP_GET_FD_BY_ID = Native.downcallErrno(LibBpf.LIB,
            "bpf_map_get_fd_by_id", FunctionDescriptor.of(Native.C_INT, Native.C_INT));

    private BpfMapIds() {}

    /** A new fd for map {@code id}, owned by the returned map (close it). */
    public static BpfMap open(int id) {
        int fd;
        try {
            MemorySegment capture = LibBpf.capture();
            fd = (int) MAP_GET_FD_BY_ID.invokeExact(capture, id);
            if (fd < 0) {
                throw new BpfException("bpf_map_get_fd_by_id " + id, LibBpf.errno(fd, capture));
            }
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment info = BpfFd.info(fd, BpfMap.MAP_INFO_SIZE, arena, "map id " + id);
            return new BpfMap(fd,
                    info.asSlice(BpfMap.MAP_INFO_NAME_OFFSET, BpfMap.BPF_OBJ_NAME_LEN).getString(0),
                    MapType.of(info.get(ValueLayout.JAVA_INT, BpfMap.MAP_INFO_TYPE_OFFSET)),
                    info.get(ValueLayout.JAVA_INT, BpfMap.MAP_INFO_KEY_SIZE_OFFSET),
                    info.get(ValueLayout.JAVA_INT, BpfMap.MAP_INFO_VALUE_SIZE_OFFSET),
                    info.get(ValueLayout.JAVA_INT, BpfMap.MAP_INFO_MAX_ENTRIES_OFFSET),
                    null);
        } catch (RuntimeException e) {
            BpfFd.close(fd);
            throw e;
        }
    }
}
