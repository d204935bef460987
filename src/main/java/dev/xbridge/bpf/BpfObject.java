package dev.xbridge.bpf;

import dev.xbridge.sys.Native;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * A BPF ELF object (libbpf's struct bpf_object): opened from bytes, adjusted (map sizes,
 * {@code const volatile} constants), then loaded into the kernel as maps and programs.
 *
 * <p>Owns every map and program fd it loaded; {@link #close()} releases them (and detaches
 * nothing that a {@link BpfLink} or a pin still holds). Open, adjust, load and close from one
 * thread; the loaded maps and programs may then be used from any thread.
 */
public final class BpfObject implements AutoCloseable {
    // libbpf 1.1.2 libbpf.h struct bpf_object_open_opts: sz, object_name, ...; 80 bytes
    private static final long OPEN_OPTS_SIZE = 80;
    private static final long OPEN_OPTS_OBJECT_NAME_OFFSET = 8;
    private static final int LOG_TAIL_LINES = 30;

    private final String name;
    private final Arena arena;
    private final MemorySegment obj;
    private volatile boolean closed;
    private boolean loaded;
    private Btf btf;
    private Map<String, BpfMap> maps = Map.of();
    private Map<String, BpfProgram> programs = Map.of();

    private BpfObject(String name, Arena arena, MemorySegment obj) {
        this.name = name;
        this.arena = arena;
        this.obj = obj;
    }

    /**
     * Opens an ELF object from memory (bpf_object__open_mem) under {@code name}, which also
     * prefixes its internal maps' names ({@code name.rodata}, truncated by libbpf). Nothing
     * reaches the kernel until {@link #load()}.
     */
    public static BpfObject open(byte[] elf, String name) {
        LibBpf.init();
        // Shared: maps and programs read through this object may be used from other threads.
        // libbpf keeps pointing into the ELF buffer until load, so it lives as long as the object.
        Arena arena = Arena.ofShared();
        try (LibBpfLog.Capture log = LibBpfLog.capture()) {
            MemorySegment buf = arena.allocateFrom(ValueLayout.JAVA_BYTE, elf);
            MemorySegment opts = arena.allocate(OPEN_OPTS_SIZE, 8);
            opts.set(ValueLayout.JAVA_LONG, 0, OPEN_OPTS_SIZE);
            opts.set(ValueLayout.ADDRESS, OPEN_OPTS_OBJECT_NAME_OFFSET, arena.allocateFrom(name));
            MemorySegment capture = LibBpf.capture();
            MemorySegment obj = (MemorySegment) LibBpf.OBJECT_OPEN_MEM.invokeExact(capture, buf, (long) elf.length, opts);
            if (obj.equals(MemorySegment.NULL)) {
                throw new BpfException("bpf_object__open_mem " + name, LibBpf.errno(-1, capture),
                        log.tail(LOG_TAIL_LINES));
            }
            return new BpfObject(name, arena, obj);
        } catch (Throwable t) {
            arena.close();
            throw Native.rethrow(t);
        }
    }

    /** Opens a classpath resource such as {@code "/bpf/xbridge.bpf.o"}, named after its file ("xbridge"). */
    public static BpfObject openResource(String classpathResource) {
        byte[] elf;
        try (InputStream in = BpfObject.class.getResourceAsStream(classpathResource)) {
            if (in == null) {
                throw new IllegalArgumentException("no classpath resource " + classpathResource);
            }
            elf = in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + classpathResource, e);
        }
        String file = classpathResource.substring(classpathResource.lastIndexOf('/') + 1);
        int dot = file.indexOf('.');
        return open(elf, dot > 0 ? file.substring(0, dot) : file);
    }

    public String name() {
        return name;
    }

    /** Before {@link #load()}: the map's max_entries (bpf_map__set_max_entries). */
    public void setMaxEntries(String mapName, int maxEntries) {
        checkNotLoaded("setMaxEntries " + mapName);
        MemorySegment map = mapPointer(mapName);
        try {
            MemorySegment capture = LibBpf.capture();
            int rc = (int) LibBpf.MAP_SET_MAX_ENTRIES.invokeExact(capture, map, maxEntries);
            if (rc < 0) {
                throw new BpfException("bpf_map__set_max_entries " + mapName, LibBpf.errno(rc, capture));
            }
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /**
     * Before {@link #load()}: sets the {@code const volatile} global {@code varName} in .rodata.
     * Its offset and size come from the object's BTF DATASEC ".rodata"; the value is written
     * in host order into the .rodata map's initial image (bpf_map__initial_value), which the
     * kernel freezes at load, so the verifier sees it as a constant and prunes dead branches.
     *
     * @throws IllegalArgumentException if there is no such variable or {@code value} does not fit its size
     */
    public void setConstant(String varName, long value) {
        checkNotLoaded("setConstant " + varName);
        List<StructInfo.Member> vars = btf().sectionVariables(".rodata");
        StructInfo.Member var = vars.stream().filter(v -> v.name().equals(varName)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("object " + name + " has no .rodata variable "
                        + varName + "; it has " + vars.stream().map(StructInfo.Member::name).toList()));
        checkFits(varName, value, var.size());
        MemorySegment rodata = rodataMap();
        try (Arena scratch = Arena.ofConfined()) {
            MemorySegment sizeOut = scratch.allocate(ValueLayout.JAVA_LONG);
            MemorySegment image = (MemorySegment) LibBpf.MAP_INITIAL_VALUE.invokeExact(rodata, sizeOut);
            long size = sizeOut.get(ValueLayout.JAVA_LONG, 0);
            if (image.equals(MemorySegment.NULL) || var.offset() + var.size() > size) {
                throw new IllegalStateException(".rodata image of " + name + " (" + size + " bytes) does not hold "
                        + varName + " at " + var.offset() + "+" + var.size());
            }
            MemorySegment at = image.reinterpret(size).asSlice(var.offset(), var.size());
            switch (var.size()) {
                case 1 -> at.set(ValueLayout.JAVA_BYTE, 0, (byte) value);
                case 2 -> at.set(ValueLayout.JAVA_SHORT_UNALIGNED, 0, (short) value);
                case 4 -> at.set(ValueLayout.JAVA_INT_UNALIGNED, 0, (int) value);
                case 8 -> at.set(ValueLayout.JAVA_LONG_UNALIGNED, 0, value);
                default -> throw new IllegalArgumentException(
                        varName + " is " + var.size() + " bytes; setConstant writes 1, 2, 4 or 8");
            }
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /**
     * Creates the maps and loads and verifies the programs (bpf_object__load). On failure the
     * exception message ends with the last lines libbpf printed, the verifier log among them.
     */
    public void load() {
        checkNotLoaded("load");
        try (LibBpfLog.Capture log = LibBpfLog.capture()) {
            MemorySegment capture = LibBpf.capture();
            int rc = (int) LibBpf.OBJECT_LOAD.invokeExact(capture, obj);
            if (rc < 0) {
                throw new BpfException("bpf_object__load " + name, LibBpf.errno(rc, capture),
                        "libbpf log tail:\n" + log.tail(LOG_TAIL_LINES));
            }
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
        loaded = true;
        maps = Collections.unmodifiableMap(readMaps());
        programs = Collections.unmodifiableMap(readPrograms());
    }

    /** A loaded map by name. */
    public BpfMap map(String mapName) {
        checkLoaded("map " + mapName);
        BpfMap map = maps.get(mapName);
        if (map == null) {
            throw new IllegalArgumentException("object " + name + " has no map " + mapName + "; it has " + maps.keySet());
        }
        return map;
    }

    /** A loaded program by function name. */
    public BpfProgram program(String programName) {
        checkLoaded("program " + programName);
        BpfProgram p = programs.get(programName);
        if (p == null) {
            throw new IllegalArgumentException(
                    "object " + name + " has no program " + programName + "; it has " + programs.keySet());
        }
        return p;
    }

    /** Names of the maps, including libbpf's internal ones ({@code NAME.rodata}, ...). */
    public List<String> mapNames() {
        checkOpen();
        List<String> names = new ArrayList<>();
        for (MemorySegment m : mapPointers()) {
            names.add(mapName(m));
        }
        return names;
    }

    /** The object's BTF; valid until {@link #close()}. */
    public Btf btf() {
        checkOpen();
        if (btf == null) {
            try {
                MemorySegment p = (MemorySegment) LibBpf.OBJECT_BTF.invokeExact(obj);
                if (p.equals(MemorySegment.NULL)) {
                    throw new IllegalStateException("object " + name + " has no BTF (compiled without -g?)");
                }
                btf = new Btf(p, this);
            } catch (Throwable t) {
                throw Native.rethrow(t);
            }
        }
        return btf;
    }

    boolean isClosed() {
        return closed;
    }

    void checkOpen() {
        if (closed) {
            throw new IllegalStateException("object " + name + " is closed");
        }
    }

    /** Frees libbpf's object and closes every map and program fd it holds. Idempotent. */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        try {
            LibBpf.OBJECT_CLOSE.invokeExact(obj);
        } catch (Throwable t) {
            throw Native.rethrow(t);
        } finally {
            arena.close();
        }
    }

    @Override
    public String toString() {
        return "BpfObject[" + name + (loaded ? " loaded" : "") + (closed ? " closed" : "") + "]";
    }

    private Map<String, BpfMap> readMaps() {
        Map<String, BpfMap> out = new LinkedHashMap<>();
        try {
            for (MemorySegment m : mapPointers()) {
                String mapName = mapName(m);
                out.put(mapName, new BpfMap((int) LibBpf.MAP_FD.invokeExact(m), mapName,
                        MapType.of((int) LibBpf.MAP_TYPE.invokeExact(m)),
                        (int) LibBpf.MAP_KEY_SIZE.invokeExact(m), (int) LibBpf.MAP_VALUE_SIZE.invokeExact(m),
                        (int) LibBpf.MAP_MAX_ENTRIES.invokeExact(m), this));
            }
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
        return out;
    }

    private Map<String, BpfProgram> readPrograms() {
        Map<String, BpfProgram> out = new LinkedHashMap<>();
        try {
            MemorySegment p = MemorySegment.NULL;
            while (!(p = (MemorySegment) LibBpf.OBJECT_NEXT_PROGRAM.invokeExact(obj, p)).equals(MemorySegment.NULL)) {
                String progName = LibBpf.cString((MemorySegment) LibBpf.PROGRAM_NAME.invokeExact(p));
                out.put(progName, new BpfProgram((int) LibBpf.PROGRAM_FD.invokeExact(p), progName,
                        ProgramType.of((int) LibBpf.PROGRAM_TYPE.invokeExact(p)), this));
            }
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
        return out;
    }

    private List<MemorySegment> mapPointers() {
        List<MemorySegment> out = new ArrayList<>();
        try {
            MemorySegment m = MemorySegment.NULL;
            while (!(m = (MemorySegment) LibBpf.OBJECT_NEXT_MAP.invokeExact(obj, m)).equals(MemorySegment.NULL)) {
                out.add(m);
            }
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
        return out;
    }

    private static String mapName(MemorySegment map) {
        try {
            return LibBpf.cString((MemorySegment) LibBpf.MAP_NAME.invokeExact(map));
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    private MemorySegment mapPointer(String mapName) {
        checkOpen();
        List<MemorySegment> all = mapPointers();
        for (MemorySegment m : all) {
            if (mapName.equals(mapName(m))) {
                return m;
            }
        }
        throw new IllegalArgumentException("object " + name + " has no map " + mapName + "; it has "
                + all.stream().map(BpfObject::mapName).collect(Collectors.toList()));
    }

    /** libbpf's internal map for .rodata, named "<object name prefix>.rodata". */
    private MemorySegment rodataMap() {
        try {
            for (MemorySegment m : mapPointers()) {
                if ((boolean) LibBpf.MAP_IS_INTERNAL.invokeExact(m) && mapName(m).endsWith(".rodata")) {
                    return m;
                }
            }
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
        throw new IllegalStateException("object " + name + " has no .rodata map");
    }

    private static void checkFits(String varName, long value, int size) {
        if (size >= 8) {
            return;
        }
        long min = -(1L << (size * 8 - 1));
        long max = (1L << (size * 8)) - 1;
        if (value < min || value > max) {
            throw new IllegalArgumentException(value + " does not fit " + varName + " (" + size + " bytes)");
        }
    }

    private void checkNotLoaded(String what) {
        checkOpen();
        if (loaded) {
            throw new IllegalStateException(what + ": object " + name + " is already loaded");
        }
    }

    private void checkLoaded(String what) {
        checkOpen();
        if (!loaded) {
            throw new IllegalStateException(what + ": load() object " + name + " first");
        }
    }
}
