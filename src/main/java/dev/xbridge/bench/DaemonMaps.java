package dev.xbridge.bench;

import dev.xbridge.bpf.BpfMap;
import dev.xbridge.bpf.BpfMapIds;
import dev.xbridge.bpf.BpfProgram;
import dev.xbridge.bridge.Datapath;
import dev.xbridge.bridge.FdbKey;
import dev.xbridge.netlink.MacAddress;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * The running daemon's FDB map, seen from outside: the daemon pins nothing, so the map's id
 * comes from the {@code map_id} line of its fds in {@code /proc/PID/fdinfo}, and a new fd
 * from bpf_map_get_fd_by_id. Looking up one key there, and seeing the FDB generation move on
 * (fdb_gen, which the daemon bumps after each change, and only then do frames see it through
 * their per-CPU cache), is how the bench sees "the datapath acts on it".
 */
final class DaemonMaps implements AutoCloseable {
    private final BpfMap fdb;
    private final BpfMap gen;
    private final Arena arena = Arena.ofConfined();
    private final MemorySegment key = arena.allocate(FdbKey.SIZE, 8);
    private final MemorySegment value;
    private final MemorySegment zero = arena.allocate(4, 4);
    private final MemorySegment genValue = arena.allocate(8, 8);

    private DaemonMaps(BpfMap fdb, BpfMap gen) {
        this.fdb = fdb;
        this.gen = gen;
        this.value = arena.allocate(fdb.valueBufferSize(), 8);
    }

    /** Finds the map named {@code fdb} among {@code pid}'s fds; waits up to {@code timeoutMillis} for it. */
    static DaemonMaps of(long pid, long timeoutMillis) {
        long end = System.nanoTime() + timeoutMillis * 1_000_000;
        while (true) {
            BpfMap fdb = null;
            BpfMap gen = null;
            for (int id : mapIds(pid)) {
                BpfMap m;
                try {
                    m = BpfMapIds.open(id);
                } catch (RuntimeException e) {
                    continue; // freed meanwhile
                }
                if (fdb == null && m.name().equals("fdb") && m.keySize() == FdbKey.SIZE) {
                    fdb = m;
                } else if (gen == null && m.name().equals(Datapath.FDB_GEN_MAP) && m.valueSize() == 8) {
                    gen = m;
                } else {
                    m.close();
                }
            }
            if (fdb != null && gen != null) {
                return new DaemonMaps(fdb, gen);
            }
            if (fdb != null) {
                fdb.close();
            }
            if (gen != null) {
                gen.close();
            }
            if (System.nanoTime() > end) {
                throw new IllegalStateException("process " + pid + " holds no BPF maps named fdb and " + Datapath.FDB_GEN_MAP + " (is it an xbridge daemon?)");
            }
            Cpus.sleep(20);
        }
    }

    static List<Integer> mapIds(long pid) {
        return fdinfoIds(pid, "map_id:");
    }

    /** The id of {@code pid}'s program named {@code name} (the kernel keeps 15 characters), or -1. */
    static int programId(long pid, String name) {
        for (int id : fdinfoIds(pid, "prog_id:")) {
            try {
                if (BpfProgram.nameOfId(id).equals(name)) {
                    return id;
                }
            } catch (RuntimeException e) {
                // freed meanwhile
            }
        }
        return -1;
    }

    private static List<Integer> fdinfoIds(long pid, String field) {
        List<Integer> ids = new ArrayList<>();
        try (Stream<Path> fds = Files.list(Path.of("/proc", Long.toString(pid), "fdinfo"))) {
            for (Path fd : (Iterable<Path>) fds::iterator) {
                try {
                    for (String line : Files.readAllLines(fd)) {
                        if (line.startsWith(field)) {
                            ids.add(Integer.parseInt(line.substring(field.length()).strip()));
                        }
                    }
                } catch (IOException | RuntimeException e) {
                    // closed meanwhile
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot list /proc/" + pid + "/fdinfo: " + e.getMessage(), e);
        }
        return ids;
    }

    int maxEntries() {
        return fdb.maxEntries();
    }

    /** Whether the datapath's FDB holds {@code mac} on bridge {@code bridgeIndex}. One bpf(2) call, no allocation. */
    boolean has(int bridgeIndex, MacAddress mac) {
        FdbKey.CODEC.write(key, new FdbKey(bridgeIndex, 0, mac));
        return fdb.lookup(key, value);
    }

    /** The FDB generation: how many changes of the FDB map the daemon has announced to the datapath. */
    long generation() {
        gen.lookup(zero, genValue);
        return genValue.get(java.lang.foreign.ValueLayout.JAVA_LONG, 0);
    }

    @Override
    public void close() {
        fdb.close();
        gen.close();
        arena.close();
    }
}
