package dev.xbridge.bpf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.xbridge.bpf.Probe.Verdict;
import dev.xbridge.sys.Errno;
import dev.xbridge.testing.Requires;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class BpfMapTest {
    private BpfObject obj;
    private TypedMap<Integer, Verdict> verdicts;

    @BeforeEach
    void load() {
        Requires.root();
        obj = Probe.load();
        verdicts = new TypedMap<>(obj.map("verdicts"), Codec.u32(), Verdict.CODEC);
    }

    @AfterEach
    void close() {
        if (obj != null) {
            obj.close();
        }
    }

    @Test
    void putGetRemoveRoundTrip() {
        Verdict v = new Verdict(Xdp.TX, (short) 4789, (byte) 3, 123456789012L);
        assertThat(verdicts.get(7)).isEmpty();
        verdicts.put(7, v);
        assertThat(verdicts.get(7)).contains(v);
        assertThat(verdicts.remove(7)).isTrue();
        assertThat(verdicts.remove(7)).isFalse();
        assertThat(verdicts.get(7)).isEmpty();
    }

    @Test
    void noexistAndExistFailWithTheirErrno() {
        verdicts.put(1, Verdict.of(Xdp.DROP), UpdateFlag.NOEXIST);
        assertThatThrownBy(() -> verdicts.put(1, Verdict.of(Xdp.PASS), UpdateFlag.NOEXIST))
                .isInstanceOfSatisfying(BpfException.class, e -> {
                    assertThat(e.isKeyExists()).isTrue();
                    assertThat(e.isKeyNotFound()).isFalse();
                    assertThat(e.errnoCode()).isEqualTo(Errno.EEXIST.code());
                })
                .hasMessage("bpf_map_update_elem verdicts: file exists (EEXIST)");
        assertThatThrownBy(() -> verdicts.put(2, Verdict.of(Xdp.PASS), UpdateFlag.EXIST))
                .isInstanceOfSatisfying(BpfException.class, e -> assertThat(e.isKeyNotFound()).isTrue())
                .hasMessage("bpf_map_update_elem verdicts: no such file or directory (ENOENT)");
        verdicts.put(1, Verdict.of(Xdp.PASS), UpdateFlag.EXIST);
        assertThat(verdicts.get(1)).map(Verdict::action).contains(Xdp.PASS);
    }

    @Test
    void keysAndEntriesWalkTheWholeMap() {
        for (int k = 0; k < 10; k++) {
            verdicts.put(k * 11, Verdict.of(k % 5));
        }
        assertThat(verdicts.keys()).containsExactlyInAnyOrderElementsOf(IntStream.range(0, 10).map(k -> k * 11).boxed().toList());
        Map<Integer, Verdict> entries = verdicts.entries();
        assertThat(entries).hasSize(10);
        assertThat(entries.get(33)).isEqualTo(Verdict.of(3));
        verdicts.keys().forEach(verdicts::remove);
        assertThat(verdicts.keys()).isEmpty();
        assertThat(verdicts.entries()).isEmpty();
    }

    @Test
    void deletingTheCursorKeyRestartsAHashWalk() {
        // The premise of TypedMap's restart-and-skip walk: htab_map_get_next_key returns the
        // first key again when the key passed in is gone.
        BpfMap map = verdicts.map();
        for (int k = 1; k <= 5; k++) {
            verdicts.put(k, Verdict.of(Xdp.PASS));
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment first = arena.allocate(4);
            MemorySegment second = arena.allocate(4);
            MemorySegment again = arena.allocate(4);
            assertThat(map.nextKey(null, first)).isTrue();
            assertThat(map.nextKey(first, second)).isTrue();
            assertThat(map.delete(second)).isTrue();
            assertThat(map.nextKey(second, again)).isTrue();
            assertThat(again.get(ValueLayout.JAVA_INT, 0)).isEqualTo(first.get(ValueLayout.JAVA_INT, 0));
        }
    }

    @Test
    void keysUnderChurnAreUniqueAndKeepStableKeys() throws Exception {
        obj.close();
        obj = BpfObject.openResource(Probe.RESOURCE);
        obj.setMaxEntries("verdicts", 1024);
        obj.load();
        TypedMap<Integer, Verdict> m = new TypedMap<>(obj.map("verdicts"), Codec.u32(), Verdict.CODEC);
        List<Integer> stable = IntStream.range(0, 50).boxed().toList();
        stable.forEach(k -> m.put(k, Verdict.of(Xdp.PASS)));
        AtomicBoolean stop = new AtomicBoolean();
        Thread churn = Thread.ofPlatform().start(() -> {
            ThreadLocalRandom r = ThreadLocalRandom.current();
            while (!stop.get()) {
                int k = 1000 + r.nextInt(100);
                if (r.nextBoolean()) {
                    m.put(k, Verdict.of(Xdp.DROP));
                } else {
                    m.remove(k);
                }
            }
        });
        try {
            for (int round = 0; round < 200; round++) {
                List<Integer> keys = m.keys();
                assertThat(new HashSet<>(keys)).hasSameSizeAs(keys);
                assertThat(keys).containsAll(stable);
                assertThat(keys).allMatch(k -> k < 50 || (k >= 1000 && k < 1100));
            }
        } finally {
            stop.set(true);
            churn.join();
        }
    }

    @Test
    void codecSizesAreCheckedAgainstTheMap() {
        assertThatThrownBy(() -> new TypedMap<>(obj.map("verdicts"), Codec.u64(), Verdict.CODEC))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("4-byte keys");
        assertThatThrownBy(() -> new TypedMap<>(obj.map("verdicts"), Codec.u32(), Codec.u64()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("16-byte values");
        assertThatThrownBy(() -> new TypedMap<>(obj.map("counters"), Codec.u32(), Codec.u64()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("PerCpuMap");
        assertThatThrownBy(() -> new PerCpuMap<>(obj.map("verdicts"), Codec.u32(), Verdict.CODEC))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("TypedMap");
    }

    @Test
    void perCpuValuesHaveOneSlotPerPossibleCpu() {
        PerCpuMap<Integer, Long> counters = new PerCpuMap<>(obj.map("counters"), Codec.u32(), Codec.u64());
        int cpus = LibBpf.possibleCpus();
        assertThat(obj.map("counters").valueSlotSize()).isEqualTo(8);
        assertThat(obj.map("counters").valueBufferSize()).isEqualTo(8 * cpus);
        assertThat(counters.get(1)).hasSize(cpus).containsOnly(0L);
        counters.putAll(1, 42L);
        assertThat(counters.get(1)).hasSize(cpus).containsOnly(42L);
        assertThat(counters.keys()).containsExactly(0, 1, 2, 3, 4);
        // An array has no key 5: ENOENT from the lookup means absent, not an error.
        assertThat(counters.get(5)).isEmpty();
    }

    @Test
    void anMmapableArrayIsTheSameMemoryThroughMmapAndSyscalls() {
        TypedMap<Integer, Long> shared = new TypedMap<>(obj.map("shared"), Codec.u32(), Codec.u64());
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment mem = obj.map("shared").mmap(arena);
            assertThat(mem.byteSize()).isEqualTo(3 * 8);
            shared.put(1, 41L);
            assertThat(mem.get(ValueLayout.JAVA_LONG, 8)).as("a syscall's write, seen in the mapping").isEqualTo(41);
            ValueLayout.JAVA_LONG.varHandle().getAndAdd(mem, 8L, 1L);
            mem.set(ValueLayout.JAVA_LONG, 16, -7L);
            assertThat(shared.get(1)).as("an atomic add through the mapping").contains(42L);
            assertThat(shared.get(2)).contains(-7L);
        }
    }

    @Test
    void onlyAnMmapableArrayMaps() {
        try (Arena arena = Arena.ofConfined()) {
            assertThatThrownBy(() -> obj.map("verdicts").mmap(arena)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("verdicts").hasMessageContaining("HASH");
            assertThatThrownBy(() -> obj.map("seen").mmap(arena)).isInstanceOf(dev.xbridge.sys.SysException.class)
                    .hasMessageContaining("mmap map seen");
        }
    }

    @Test
    void arraysCannotDelete() {
        TypedMap<Integer, Integer> seen = new TypedMap<>(obj.map("seen"), Codec.u32(), Codec.u32());
        assertThatThrownBy(() -> seen.remove(0))
                .isInstanceOfSatisfying(BpfException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EINVAL))
                .hasMessage("bpf_map_delete_elem seen: invalid argument (EINVAL)");
    }

    @Test
    void updateBatchWritesEntriesAndReportsWhereItStopped() {
        BpfMap map = obj.map("verdicts");
        try (Arena arena = Arena.ofConfined()) {
            int n = 20;
            MemorySegment keys = arena.allocate(4L * n, 8);
            MemorySegment values = arena.allocate((long) Verdict.SIZE * n, 8);
            for (int i = 0; i < n; i++) {
                keys.setAtIndex(ValueLayout.JAVA_INT, i, 100 + i);
                Verdict.CODEC.write(values.asSlice((long) i * Verdict.SIZE, Verdict.SIZE), Verdict.of(i % 5));
            }
            assertThat(map.updateBatch(keys, values, 5, UpdateFlag.ANY)).isEqualTo(5);
            assertThat(verdicts.entries()).hasSize(5).containsEntry(103, Verdict.of(3));
            // verdicts holds 16: the 17th new key fails with E2BIG after 16 were applied.
            assertThatThrownBy(() -> map.updateBatch(keys, values, n, UpdateFlag.ANY))
                    .isInstanceOfSatisfying(BpfException.class, e -> assertThat(e.errno()).isEqualTo(Errno.E2BIG))
                    .hasMessage("bpf_map_update_batch verdicts: argument list too long (E2BIG): 16 of 20 applied");
            assertThat(verdicts.keys()).hasSize(16);
            assertThatThrownBy(() -> map.updateBatch(keys, values, 1, UpdateFlag.NOEXIST))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("BPF_F_LOCK");
        }
    }

    @Test
    void forEachBatchVisitsEveryEntryOnceAndMayDeleteBehindItself() {
        BpfMap map = obj.map("verdicts");
        for (int k = 0; k < 16; k++) {
            verdicts.put(1000 + k, Verdict.of(k % 5));
        }
        Map<Integer, Verdict> seen = new java.util.HashMap<>();
        List<Integer> calls = new java.util.ArrayList<>();
        // Three per call: several calls, the last ending with ENOENT (a bucket with more keys
        // than that grows the call's room instead of failing).
        long total = map.forEachBatch(3, (keys, values, n) -> {
            calls.add(n);
            for (int i = 0; i < n; i++) {
                int key = keys.getAtIndex(ValueLayout.JAVA_INT, i);
                Verdict v = Verdict.CODEC.read(values.asSlice((long) i * Verdict.SIZE, Verdict.SIZE));
                assertThat(seen.put(key, v)).as("key %d seen twice", key).isNull();
            }
            assertThat(map.deleteBatch(keys, n)).isEqualTo(n);
        });
        assertThat(total).isEqualTo(16);
        assertThat(calls.size()).isGreaterThan(1);
        assertThat(seen).hasSize(16).containsEntry(1003, Verdict.of(3));
        assertThat(verdicts.keys()).isEmpty();
        assertThat(map.forEachBatch(3, (keys, values, n) -> calls.add(-1))).isZero();
    }

    @Test
    void deleteBatchSkipsKeysThatAreAlreadyGone() {
        BpfMap map = obj.map("verdicts");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment keys = arena.allocate(4L * 6, 8);
            for (int i = 0; i < 6; i++) {
                keys.setAtIndex(ValueLayout.JAVA_INT, i, 200 + i);
                if (i % 2 == 0) {
                    verdicts.put(200 + i, Verdict.of(1));
                }
            }
            verdicts.put(300, Verdict.of(2));
            assertThat(map.deleteBatch(keys, 6)).isEqualTo(3);
            assertThat(verdicts.keys()).containsExactly(300);
            assertThat(map.deleteBatch(keys, 0)).isZero();
        }
    }

    @Test
    void undersizedSegmentsAreRefusedBeforeTheKernelSeesThem() {
        try (Arena arena = Arena.ofConfined()) {
            BpfMap map = obj.map("verdicts");
            assertThatThrownBy(() -> map.lookup(arena.allocate(2), arena.allocate(16)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("needs 4");
            BpfMap counters = obj.map("counters");
            assertThatThrownBy(() -> counters.lookup(arena.allocate(4), arena.allocate(8)))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("needs " + 8 * LibBpf.possibleCpus());
        }
    }

    @Test
    void pinOpenPinnedAndUnpin() throws IOException {
        Path dir = Files.createDirectory(Path.of("/sys/fs/bpf", "xbt-" + Long.toHexString(ThreadLocalRandom.current().nextLong())));
        try {
            Path pin = dir.resolve("verdicts");
            BpfMap original = obj.map("verdicts");
            original.pin(pin);
            assertThat(pin).exists();
            BpfMap pinned = BpfMap.openPinned(pin);
            try {
                assertThat(pinned.fd()).isNotEqualTo(original.fd());
                assertThat(pinned.id()).isEqualTo(original.id());
                assertThat(pinned.name()).isEqualTo("verdicts");
                assertThat(pinned.type()).isEqualTo(MapType.HASH);
                assertThat(pinned.keySize()).isEqualTo(4);
                assertThat(pinned.valueSize()).isEqualTo(Verdict.SIZE);
                assertThat(pinned.maxEntries()).isEqualTo(16);
                new TypedMap<>(pinned, Codec.u32(), Verdict.CODEC).put(5, Verdict.of(Xdp.TX));
                assertThat(verdicts.get(5)).contains(Verdict.of(Xdp.TX));
            } finally {
                pinned.close();
            }
            pinned.close();
            assertThatThrownBy(pinned::fd).isInstanceOf(IllegalStateException.class);
            assertThatThrownBy(() -> original.pin(pin))
                    .isInstanceOfSatisfying(BpfException.class, e -> assertThat(e.isKeyExists()).isTrue());
            original.unpin();
            assertThat(pin).doesNotExist();
            assertThatThrownBy(() -> BpfMap.openPinned(pin))
                    .isInstanceOfSatisfying(BpfException.class, e -> assertThat(e.isKeyNotFound()).isTrue())
                    .hasMessageStartingWith("bpf_obj_get " + pin);
            assertThatThrownBy(original::unpin).isInstanceOf(IllegalStateException.class);
        } finally {
            try (Stream<Path> s = Files.walk(dir)) {
                for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    @Test
    void devmapHashAcceptsOnlyExistingDevices() {
        TypedMap<Integer, Integer> ports = new TypedMap<>(obj.map("ports"), Codec.u32(), Codec.u32());
        // An ifindex that no namespace here uses: the devmap resolves it at update time.
        assertThatThrownBy(() -> ports.put(1, 999_999))
                .isInstanceOf(BpfException.class)
                .hasMessageStartingWith("bpf_map_update_elem ports: ");
        assertThat(ports.keys()).isEmpty();
    }

}
