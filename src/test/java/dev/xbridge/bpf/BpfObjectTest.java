package dev.xbridge.bpf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.xbridge.bpf.Probe.Verdict;
import dev.xbridge.sys.Errno;
import dev.xbridge.testing.Requires;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;

class BpfObjectTest {

    @Test
    void libbpfReportsVersionAndCpus() throws Exception {
        assertThat(LibBpf.version()).startsWith("v1.");
        // /sys/devices/system/cpu/possible is a range list such as "0-1"; the last number + 1.
        String possible = Files.readString(Path.of("/sys/devices/system/cpu/possible")).strip();
        int last = Integer.parseInt(possible.substring(Math.max(possible.lastIndexOf('-'), possible.lastIndexOf(',')) + 1));
        assertThat(LibBpf.possibleCpus()).isEqualTo(last + 1);
    }

    @Test
    void openWithoutLoadListsMapsAndRefusesMapAccess() {
        try (BpfObject obj = BpfObject.openResource(Probe.RESOURCE)) {
            assertThat(obj.name()).isEqualTo("probe");
            assertThat(obj.mapNames()).contains("verdicts", "counters", "seen", "ports", "probe.rodata");
            assertThatThrownBy(() -> obj.map("verdicts")).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("load()");
        }
    }

    @Test
    void openRejectsGarbage() {
        assertThatThrownBy(() -> BpfObject.open(new byte[] {1, 2, 3, 4}, "junk"))
                .isInstanceOf(BpfException.class)
                .hasMessageStartingWith("bpf_object__open_mem junk: ");
    }

    @Test
    void loadExposesMapsAndProgramsByName() {
        Requires.root();
        try (BpfObject obj = Probe.load()) {
            BpfMap verdicts = obj.map("verdicts");
            assertThat(verdicts.type()).isEqualTo(MapType.HASH);
            assertThat(verdicts.keySize()).isEqualTo(4);
            assertThat(verdicts.valueSize()).isEqualTo(Verdict.SIZE);
            assertThat(verdicts.maxEntries()).isEqualTo(16);
            assertThat(verdicts.fd()).isPositive();
            assertThat(verdicts.id()).isPositive();
            assertThat(obj.map("counters").type()).isEqualTo(MapType.PERCPU_ARRAY);
            assertThat(obj.map("counters").perCpu()).isTrue();
            assertThat(obj.map("ports").type()).isEqualTo(MapType.DEVMAP_HASH);
            assertThat(obj.map("seen").type()).isEqualTo(MapType.ARRAY);

            BpfProgram probe = obj.program("xdp_probe");
            assertThat(probe.type()).isEqualTo(ProgramType.XDP);
            assertThat(probe.name()).isEqualTo("xdp_probe");
            assertThat(probe.id()).isPositive();
            assertThat(obj.program("xdp_redirect").id()).isNotEqualTo(probe.id());

            assertThatThrownBy(() -> obj.map("fdb")).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("no map fdb").hasMessageContaining("verdicts");
            assertThatThrownBy(() -> obj.program("nope")).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("xdp_probe").hasMessageContaining("xdp_redirect");
            assertThatThrownBy(obj::load).isInstanceOf(IllegalStateException.class);
        }
    }

    @Test
    void closeIsIdempotentAndInvalidatesFds() {
        Requires.root();
        BpfObject obj = Probe.load();
        BpfMap verdicts = obj.map("verdicts");
        BpfProgram probe = obj.program("xdp_probe");
        obj.close();
        obj.close();
        verdicts.close();
        probe.close();
        assertThatThrownBy(verdicts::fd).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(probe::fd).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void setMaxEntriesResizesBeforeLoad() {
        Requires.root();
        try (BpfObject obj = BpfObject.openResource(Probe.RESOURCE)) {
            obj.setMaxEntries("verdicts", 2);
            assertThatThrownBy(() -> obj.setMaxEntries("fdb", 2)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("verdicts");
            obj.load();
            BpfMap verdicts = obj.map("verdicts");
            assertThat(verdicts.maxEntries()).isEqualTo(2);
            TypedMap<Integer, Verdict> m = new TypedMap<>(verdicts, Codec.u32(), Verdict.CODEC);
            m.put(1, Verdict.of(Xdp.DROP));
            m.put(2, Verdict.of(Xdp.DROP));
            // A full hash map refuses a new key with E2BIG (htab_map_update_elem, alloc_htab_elem).
            assertThatThrownBy(() -> m.put(3, Verdict.of(Xdp.DROP)))
                    .isInstanceOfSatisfying(BpfException.class, e -> assertThat(e.errno()).isEqualTo(Errno.E2BIG))
                    .hasMessage("bpf_map_update_elem verdicts: argument list too long (E2BIG)");
            assertThatThrownBy(() -> obj.setMaxEntries("verdicts", 4)).isInstanceOf(IllegalStateException.class);
        }
    }

    @Test
    void setConstantChangesTheVerdict() {
        Requires.root();
        try (BpfObject plain = Probe.load(); BpfObject answering = BpfObject.openResource(Probe.RESOURCE)) {
            answering.setConstant("answer", Xdp.DROP);
            answering.load();
            assertThat(plain.program("xdp_probe").run(RunOptions.of(Probe.frame(9))).retval()).isEqualTo(Xdp.PASS);
            assertThat(answering.program("xdp_probe").run(RunOptions.of(Probe.frame(9))).retval()).isEqualTo(Xdp.DROP);
            assertThatThrownBy(() -> answering.setConstant("answer", 1)).isInstanceOf(IllegalStateException.class);
        }
    }

    @Test
    void setConstantChecksNameAndRange() {
        try (BpfObject obj = BpfObject.openResource(Probe.RESOURCE)) {
            assertThatThrownBy(() -> obj.setConstant("question", 1)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("answer");
            assertThatThrownBy(() -> obj.setConstant("answer", 1L << 32)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("4 bytes");
        }
    }

    @Test
    void rejectedProgramCarriesTheVerifierLog() {
        Requires.root();
        try (BpfObject obj = BpfObject.openResource("/bpf/rejected.bpf.o")) {
            assertThatThrownBy(obj::load)
                    .isInstanceOfSatisfying(BpfException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EACCES))
                    .hasMessageStartingWith("bpf_object__load rejected: permission denied (EACCES)")
                    .hasMessageContaining("xdp_unchecked")
                    .hasMessageContaining("invalid access to packet");
        }
    }

    @Test
    void libbpfLogReachesTheLoggerWhenEnabled() {
        Logger log = Logger.getLogger("dev.xbridge.bpf.libbpf");
        List<String> messages = new ArrayList<>();
        Handler handler = new Handler() {
            @Override
            public void publish(LogRecord r) {
                messages.add(r.getMessage());
            }

            @Override
            public void flush() {}

            @Override
            public void close() {}
        };
        Level before = log.getLevel();
        log.setLevel(Level.ALL);
        log.addHandler(handler);
        try (BpfObject _ = BpfObject.openResource(Probe.RESOURCE)) {
            // libbpf's debug line "loading object 'probe' from buffer" formats a %s argument.
            assertThat(messages).anyMatch(m -> m.startsWith("libbpf: ") && m.contains("'probe'"));
        } finally {
            log.removeHandler(handler);
            log.setLevel(before);
        }
    }

    @Test
    void btfDescribesTheValueStruct() {
        try (BpfObject obj = BpfObject.openResource(Probe.RESOURCE)) {
            StructInfo s = obj.btf().struct("probe_verdict").orElseThrow();
            assertThat(s.size()).isEqualTo(Verdict.SIZE);
            assertThat(s.members()).containsExactly(
                    new StructInfo.Member("action", (int) Verdict.ACTION_OFFSET, 4),
                    new StructInfo.Member("port", (int) Verdict.PORT_OFFSET, 2),
                    new StructInfo.Member("flags", (int) Verdict.FLAGS_OFFSET, 1),
                    new StructInfo.Member("pad", (int) Verdict.FLAGS_OFFSET + 1, 1),
                    new StructInfo.Member("hits", (int) Verdict.HITS_OFFSET, 8));
            assertThat(obj.btf().struct("no_such_struct")).isEmpty();
            assertThat(obj.btf().sectionVariables(".rodata")).containsExactly(new StructInfo.Member("answer", 0, 4));
        }
    }
}
