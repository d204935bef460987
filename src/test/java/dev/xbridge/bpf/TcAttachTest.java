package dev.xbridge.bpf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.xbridge.sys.Errno;
import dev.xbridge.sys.NetNamespace;
import dev.xbridge.testing.Requires;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * TC attachment both ways: tcx links (kernel 6.6+) and the clsact + cls_bpf
 * fallback, checked from outside the JVM with bpftool and tc.
 */
class TcAttachTest {
    static final int HANDLE = 0x7862;
    static final int PRIORITY = 0xc000;

    private BpfObject obj;
    private BpfProgram tc;
    private ScratchNet net;
    private NetNamespace ns;

    @BeforeEach
    void setUp() {
        Requires.root();
        obj = Probe.load();
        tc = obj.program("tc_probe");
        net = ScratchNet.create();
        net.veth("v0", "v1");
        ns = NetNamespace.named(net.ns);
    }

    @AfterEach
    void tearDown() {
        if (ns != null) {
            ns.close();
        }
        if (net != null) {
            net.close();
        }
        if (obj != null) {
            obj.close();
        }
    }

    /** Runs a command in the namespace with nsenter, which (unlike ip netns exec) keeps /sys/fs/bpf. */
    String inNs(String... cmd) {
        String[] withNs = new String[cmd.length + 2];
        withNs[0] = "nsenter";
        withNs[1] = "--net=/run/netns/" + net.ns;
        System.arraycopy(cmd, 0, withNs, 2, cmd.length);
        return ScratchNet.run(withNs);
    }

    int seen() {
        return new TypedMap<>(obj.map("seen"), Codec.u32(), Codec.u32()).get(0).orElse(0);
    }

    @Test
    void tcxQueryListsEachDirectionsProgramsInOrder() {
        int v0 = net.ifindex("v0");
        assertThat(ns.call(() -> BpfProgram.tcxProgramIds(v0, TcDirection.INGRESS))).isEmpty();
        BpfLink first = ns.call(() -> tc.attachTcx(v0, TcDirection.INGRESS));
        try (BpfObject other = Probe.load()) {
            BpfProgram second = other.program("tc_probe");
            BpfLink link2 = ns.call(() -> second.attachTcx(v0, TcDirection.INGRESS));
            BpfLink egress = ns.call(() -> second.attachTcx(v0, TcDirection.EGRESS));
            try {
                assertThat(ns.call(() -> BpfProgram.tcxProgramIds(v0, TcDirection.INGRESS)))
                        .as("appended in attach order").containsExactly(tc.id(), second.id());
                assertThat(ns.call(() -> BpfProgram.tcxProgramIds(v0, TcDirection.EGRESS))).containsExactly(second.id());
            } finally {
                egress.close();
                link2.close();
            }
            assertThat(ns.call(() -> BpfProgram.tcxProgramIds(v0, TcDirection.INGRESS))).containsExactly(tc.id());
            assertThat(ns.call(() -> BpfProgram.tcxProgramIds(v0, TcDirection.EGRESS))).isEmpty();
        } finally {
            first.close();
        }
        assertThat(ns.call(() -> BpfProgram.tcxProgramIds(v0, TcDirection.INGRESS))).isEmpty();
    }

    @Test
    void tcxLinkRunsOnIngressAndDetachesOnClose() {
        int v0 = net.ifindex("v0");
        assertThat(tc.type()).isEqualTo(ProgramType.SCHED_CLS);
        BpfLink link = ns.call(() -> tc.attachTcx(v0, TcDirection.INGRESS));
        int linkId;
        try {
            linkId = link.id();
            assertThat(link.programId()).isEqualTo(tc.id());
            // bpftool 7.1 predates tcx and shows the link by number only; the program's run is the witness.
            assertThat(inNs("bpftool", "-j", "link", "show", "id", Integer.toString(linkId)))
                    .contains("\"prog_id\":" + tc.id());
            assertThat(seen()).isZero();
            // The ARP request of a ping from v1 crosses v0's ingress; nobody answers it.
            net.ip("addr", "add", "198.18.0.1/24", "dev", "v1");
            try {
                ScratchNet.run("ip", "netns", "exec", net.ns, "ping", "-c", "1", "-W", "1", "198.18.0.2");
            } catch (IllegalStateException noReply) {
                // expected
            }
        } finally {
            link.close();
        }
        assertThat(seen()).as("the program ran on v0's ingress").isEqualTo(v0);
        int closedId = linkId;
        assertThatThrownBy(() -> inNs("bpftool", "link", "show", "id", Integer.toString(closedId)))
                .as("the link is gone").isInstanceOf(IllegalStateException.class);
    }

    @Test
    void clsactFallbackCreatesTheQdiscAndRemovesOnlyWhatItCreated() {
        int v0 = net.ifindex("v0");
        ClsBpf filter = ns.call(() -> ClsBpf.attach(tc, v0, TcDirection.INGRESS, HANDLE, PRIORITY));
        try {
            assertThat(filter.createdQdisc()).isTrue();
            assertThat(filter.programId()).isEqualTo(tc.id());
            assertThat(ScratchNet.run("tc", "-n", net.ns, "qdisc", "show", "dev", "v0")).contains("clsact");
            assertThat(ScratchNet.run("tc", "-n", net.ns, "filter", "show", "dev", "v0", "ingress"))
                    .contains("tc_probe").contains("direct-action");
            assertThat(ns.call(() -> ClsBpf.query(v0, TcDirection.INGRESS, HANDLE, PRIORITY))).isEqualTo(tc.id());
            assertThatThrownBy(() -> ns.call(() -> ClsBpf.attach(tc, v0, TcDirection.INGRESS, HANDLE, PRIORITY)))
                    .isInstanceOfSatisfying(BpfException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EEXIST));
        } finally {
            ns.run(filter::close);
        }
        assertThat(ScratchNet.run("tc", "-n", net.ns, "qdisc", "show", "dev", "v0")).doesNotContain("clsact");
        assertThat(ns.call(() -> ClsBpf.query(v0, TcDirection.INGRESS, HANDLE, PRIORITY))).isZero();

        // A clsact qdisc someone else made stays, with their filters.
        ScratchNet.run("tc", "-n", net.ns, "qdisc", "add", "dev", "v0", "clsact");
        ClsBpf second = ns.call(() -> ClsBpf.attach(tc, v0, TcDirection.INGRESS, HANDLE, PRIORITY));
        assertThat(second.createdQdisc()).isFalse();
        ns.run(second::close);
        assertThat(ScratchNet.run("tc", "-n", net.ns, "qdisc", "show", "dev", "v0")).contains("clsact");
        assertThat(ScratchNet.run("tc", "-n", net.ns, "filter", "show", "dev", "v0", "ingress")).doesNotContain("tc_probe");
    }

    @Test
    void aFilterLeftBehindIsFoundAndRemovedByHandleAndPriority() {
        int v0 = net.ifindex("v0");
        ns.call(() -> ClsBpf.attach(tc, v0, TcDirection.INGRESS, HANDLE, PRIORITY)); // never closed: a crash
        assertThat(ns.call(() -> ClsBpf.query(v0, TcDirection.INGRESS, HANDLE, PRIORITY))).isEqualTo(tc.id());
        ns.run(() -> ClsBpf.detach(v0, TcDirection.INGRESS, HANDLE, PRIORITY));
        assertThat(ns.call(() -> ClsBpf.query(v0, TcDirection.INGRESS, HANDLE, PRIORITY))).isZero();
        assertThat(ScratchNet.run("tc", "-n", net.ns, "filter", "show", "dev", "v0", "ingress")).doesNotContain("tc_probe");
    }

    @Test
    void queryOnADeviceWithoutClsactFindsNothing() {
        int v0 = net.ifindex("v0");
        assertThat(ns.call(() -> ClsBpf.query(v0, TcDirection.INGRESS, HANDLE, PRIORITY))).isZero();
    }
}
