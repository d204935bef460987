package dev.xbridge.bpf;

import dev.xbridge.sys.Errno;
import dev.xbridge.sys.Native;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** The BTF of a {@link BpfObject} (owned by it), read for type layouts and section variables. */
public final class Btf {
    // UAPI linux/btf.h
    private static final int BTF_KIND_STRUCT = 4;
    private static final int BTF_KIND_DATASEC = 15;
    private static final long BTF_TYPE_SIZE = 12;          // struct btf_type: name_off, info, size/type
    private static final long BTF_TYPE_INFO_OFFSET = 4;
    private static final long BTF_TYPE_SIZE_OFFSET = 8;
    private static final long BTF_MEMBER_SIZE = 12;        // struct btf_member: name_off, type, offset
    private static final long BTF_VAR_SECINFO_SIZE = 12;   // struct btf_var_secinfo: type, offset, size

    private final MemorySegment btf;
    private final BpfObject owner;

    Btf(MemorySegment btf, BpfObject owner) {
        this.btf = btf;
        this.owner = owner;
    }

    /** The struct called {@code name}, with members' byte offsets and sizes; empty if BTF has none. */
    public Optional<StructInfo> struct(String name) {
        int id = findByNameKind(name, BTF_KIND_STRUCT);
        if (id < 0) {
            return Optional.empty();
        }
        MemorySegment t = typeById(id);
        int info = t.get(ValueLayout.JAVA_INT, BTF_TYPE_INFO_OFFSET);
        int vlen = info & 0xffff;
        // kind_flag on a struct: member offset holds bitfield_size << 24 | bit_offset (BTF_MEMBER_BIT_OFFSET)
        boolean kindFlag = (info >>> 31) != 0;
        t = t.reinterpret(BTF_TYPE_SIZE + vlen * BTF_MEMBER_SIZE);
        List<StructInfo.Member> members = new ArrayList<>(vlen);
        for (int i = 0; i < vlen; i++) {
            long m = BTF_TYPE_SIZE + i * BTF_MEMBER_SIZE;
            int nameOff = t.get(ValueLayout.JAVA_INT, m);
            int type = t.get(ValueLayout.JAVA_INT, m + 4);
            int offset = t.get(ValueLayout.JAVA_INT, m + 8);
            int bitOffset = kindFlag ? offset & 0xffffff : offset;
            members.add(new StructInfo.Member(nameByOffset(nameOff), bitOffset / 8, (int) resolveSize(type)));
        }
        return Optional.of(new StructInfo(name, t.get(ValueLayout.JAVA_INT, BTF_TYPE_SIZE_OFFSET), members));
    }

    /**
     * The variables of data section {@code section} (".rodata", ".bss", ...) with their offset
     * and size in it, from the DATASEC's btf_var_secinfo entries. libbpf fixes up those
     * offsets when it opens the object (clang leaves them 0 for some sections).
     */
    List<StructInfo.Member> sectionVariables(String section) {
        int id = findByNameKind(section, BTF_KIND_DATASEC);
        if (id < 0) {
            return List.of();
        }
        MemorySegment t = typeById(id);
        int vlen = t.get(ValueLayout.JAVA_INT, BTF_TYPE_INFO_OFFSET) & 0xffff;
        t = t.reinterpret(BTF_TYPE_SIZE + vlen * BTF_VAR_SECINFO_SIZE);
        List<StructInfo.Member> vars = new ArrayList<>(vlen);
        for (int i = 0; i < vlen; i++) {
            long v = BTF_TYPE_SIZE + i * BTF_VAR_SECINFO_SIZE;
            MemorySegment var = typeById(t.get(ValueLayout.JAVA_INT, v));
            vars.add(new StructInfo.Member(nameByOffset(var.get(ValueLayout.JAVA_INT, 0)),
                    t.get(ValueLayout.JAVA_INT, v + 4), t.get(ValueLayout.JAVA_INT, v + 8)));
        }
        return vars;
    }

    private int findByNameKind(String name, int kind) {
        owner.checkOpen();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment capture = LibBpf.capture();
            int id = (int) LibBpf.BTF_FIND_BY_NAME_KIND.invokeExact(capture, btf, arena.allocateFrom(name), kind);
            if (id < 0) {
                int errno = LibBpf.errno(id, capture);
                if (errno == Errno.ENOENT.code()) {
                    return -1;
                }
                throw new BpfException("btf__find_by_name_kind " + name, errno);
            }
            return id;
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    private MemorySegment typeById(int id) {
        try {
            MemorySegment t = (MemorySegment) LibBpf.BTF_TYPE_BY_ID.invokeExact(btf, id);
            if (t.equals(MemorySegment.NULL)) {
                throw new IllegalStateException("BTF of " + owner.name() + " has no type id " + id);
            }
            return t.reinterpret(BTF_TYPE_SIZE);
        } catch (Throwable e) {
            throw Native.rethrow(e);
        }
    }

    private String nameByOffset(int offset) {
        try {
            String s = LibBpf.cString((MemorySegment) LibBpf.BTF_NAME_BY_OFFSET.invokeExact(btf, offset));
            return s == null ? "" : s;
        } catch (Throwable e) {
            throw Native.rethrow(e);
        }
    }

    private long resolveSize(int typeId) {
        try {
            MemorySegment capture = LibBpf.capture();
            long size = (long) LibBpf.BTF_RESOLVE_SIZE.invokeExact(capture, btf, typeId);
            if (size < 0) {
                throw new BpfException("btf__resolve_size type " + typeId, LibBpf.errno((int) size, capture));
            }
            return size;
        } catch (Throwable e) {
            throw Native.rethrow(e);
        }
    }
}
