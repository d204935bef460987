package dev.xbridge.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.xbridge.bpf.BpfLink;
import dev.xbridge.bpf.BpfObject;
import dev.xbridge.bpf.TcDirection;
import dev.xbridge.testbed.BridgeLab;
import dev.xbridge.testbed.DaemonProcess;
import dev.xbridge.testbed.EthtoolStats;
import dev.xbridge.testbed.Host;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * tc on a bridge port, end to end: the port steps aside while tc acts on it,
 * and comes back when tc stops. The witnesses are the kernel's, not
 * xbridge's: a mirror target's receive count (tc's mirred ran on the frames),
 * a qdisc's own packet count ({@code tc -s qdisc}), XDP redirect counters
 * ({@code ethtool -S}) and xbridge's fast-path count only once tc is gone.
 */
class TcStepAsideTest extends DaemonLabTest {
    static final Duration PROMPT = Duration.ofSeconds(5);

    /** Frames a qdisc of this kind on the port has sent, per {@code tc -s qdisc}. */
    long qdiscPackets(String port, String kind) {
        try {
            JsonNode all = JSON.readTree(lab.switchNs().exec("tc", "-s", "-j", "qdisc", "show", "dev", port).stdout());
            for (JsonNode q : all) {
                if (q.path("kind").asText().equals(kind)) {
                    return q.path("packets").asLong();
                }
            }
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new AssertionError(e);
        }
        throw new AssertionError("no " + kind + " qdisc on " + port);
    }

    long awaitTimed(String what, java.util.function.BooleanSupplier condition) {
        long t0 = System.nanoTime();
        await(what, PROMPT, condition);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        System.out.println(what + ": " + ms + " ms");
        return ms;
    }

    /** Learned and mirrored, and each source's first mirrored frame (an aging sample) spent outside the counts. */
    void warmUp(Host a, Host b) {
        assertThat(a.ping(b).allReceived()).isTrue();
        awaitMirrored(a.mac(), a.portName());
        awaitMirrored(b.mac(), b.portName());
        assertThat(a.ping(b).allReceived()).isTrue();
    }

    /** With {@code tcAttach} "tcx" or "clsact": how xbridge's own TC hook is attached. */
    void mirrorOnAnIngressPort(String tcAttach) {
        lab = BridgeLab.builder().prefix("xbt").hosts(3).ageingTime(Duration.ofHours(1)).build();
        Host h1 = lab.host(1);
        Host h2 = lab.host(2);
        Host h3 = lab.host(3);
        daemon = DaemonProcess.start(lab.switchNs(), "--tc-attach", tcAttach);
        assertThat(port("p1").hook()).isEqualTo("tc");
        assertThat(port("p1").mode()).startsWith(tcAttach);
        warmUp(h1, h2);

        // Before: the fast path carries h1 -> h2, and nothing reaches h3.
        long fast = port("p1").fastPackets();
        long rx3 = h3.rxPackets();
        assertThat(h1.ping(h2, 20, Duration.ofMillis(5)).allReceived()).isTrue();
        assertThat(port("p1").fastPackets() - fast).isGreaterThanOrEqualTo(20);
        assertThat(h3.rxPackets() - rx3).as("nothing to h3 before the mirror").isLessThanOrEqualTo(2);

        // Port mirroring: every IPv4 frame p1 receives is copied out of p3.
        if (tcAttach.equals("tcx")) {
            lab.switchNs().exec("tc", "qdisc", "add", "dev", "p1", "clsact");
        } // else the clsact qdisc is xbridge's: the operator adds to it
        lab.switchNs().exec("tc", "filter", "add", "dev", "p1", "ingress", "protocol", "ip", "u32",
                "match", "u32", "0", "0", "action", "mirred", "egress", "mirror", "dev", "p3");
        awaitTimed("p1 left to the kernel after the mirror filter", () -> port("p1").hook().equals("none"));
        Status.PortStatus p1 = port("p1");
        assertThat(p1.accelerated()).isFalse();
        // tc picks the priority: 49152 for the first filter, one less than the lowest there (ours under clsact)
        assertThat(p1.reason()).matches(
                "left to the kernel while tc acts on its ingress: tc ingress filter u32 pref 4915[12] protocol 0x800");
        assertThat(p1.egress()).as("p1's egress has no tc: still a target").isTrue();
        assertThat(lab.switchNs().exec("tc", "filter", "show", "dev", "p1", "ingress").stdout())
                .as("taking our hook off kept the operator's filter").contains("mirred");

        rx3 = h3.rxPackets();
        long rx2 = h2.rxPackets();
        assertThat(h1.ping(h2, 50, Duration.ofMillis(5)).allReceived()).isTrue();
        assertThat(h3.rxPackets() - rx3).as("h3 received the mirrored echo requests").isGreaterThanOrEqualTo(50);
        assertThat(h2.rxPackets() - rx2).isGreaterThanOrEqualTo(50);

        // The mirror goes: p1 is accelerated again and h3 hears nothing.
        lab.switchNs().exec("tc", "filter", "del", "dev", "p1", "ingress");
        if (tcAttach.equals("tcx")) {
            lab.switchNs().exec("tc", "qdisc", "del", "dev", "p1", "clsact");
        }
        awaitTimed("p1 accelerated again after the filter went", () -> port("p1").accelerated());
        assertThat(port("p1").hook()).isEqualTo("tc");
        fast = port("p1").fastPackets();
        rx3 = h3.rxPackets();
        assertThat(h1.ping(h2, 50, Duration.ofMillis(5)).allReceived()).isTrue();
        assertThat(port("p1").fastPackets() - fast).as("fast path again").isGreaterThanOrEqualTo(50);
        assertThat(h3.rxPackets() - rx3).as("no more copies").isLessThanOrEqualTo(2);
    }

    @Test
    void aMirrorOnAnIngressPortSendsItsFramesThroughTheKernelUntilRemoved() {
        mirrorOnAnIngressPort("tcx");
    }

    @Test
    void aMirrorAddedToXbridgesOwnClsactQdiscIsHonouredAndKept() {
        mirrorOnAnIngressPort("clsact");
    }

    @Test
    void aQdiscOnATargetPortSendsFramesToItThroughTheKernelUntilRemoved() {
        lab = BridgeLab.builder().prefix("xbt").hosts(2).hostOffloads(false).ageingTime(Duration.ofHours(1))
                .build();
        Host h1 = lab.host(1);
        Host h2 = lab.host(2);
        daemon = DaemonProcess.start(lab.switchNs());
        assertThat(port("p1").hook()).isEqualTo("xdp");
        assertThat(port("p2").hook()).isEqualTo("xdp");
        warmUp(h1, h2);
        long redirects = EthtoolStats.xdpRedirects(lab.switchNs(), "p1");
        assertThat(h1.ping(h2, 20, Duration.ofMillis(5)).allReceived()).isTrue();
        assertThat(EthtoolStats.xdpRedirects(lab.switchNs(), "p1") - redirects).as("XDP before the qdisc")
                .isGreaterThanOrEqualTo(20);

        lab.switchNs().exec("tc", "qdisc", "add", "dev", "p2", "root", "tbf", "rate", "1gbit", "burst", "100kb",
                "latency", "50ms");
        awaitTimed("p2 no longer a target after the tbf qdisc", () -> !port("p2").egress());
        Status.PortStatus p2 = port("p2");
        assertThat(p2.reason()).matches(
                ".*; frames to it go through the kernel while tc acts on its egress: qdisc tbf [0-9a-f]+: root");
        assertThat(p2.hook()).as("p2's own frames still take the fast path").isEqualTo("xdp");
        assertThat(p2.accelerated()).isTrue();

        long shaped = qdiscPackets("p2", "tbf");
        redirects = EthtoolStats.xdpRedirects(lab.switchNs(), "p1");
        long unavailable = port("p1").passed().getOrDefault("pass_egress_unavailable", 0L);
        assertThat(h1.ping(h2, 50, Duration.ofMillis(5)).allReceived()).isTrue();
        assertThat(qdiscPackets("p2", "tbf") - shaped).as("the echo requests went through p2's tbf").isGreaterThanOrEqualTo(50);
        assertThat(EthtoolStats.xdpRedirects(lab.switchNs(), "p1") - redirects).as("no XDP redirect to p2").isZero();
        assertThat(port("p1").passed().getOrDefault("pass_egress_unavailable", 0L) - unavailable)
                .isGreaterThanOrEqualTo(50);

        lab.switchNs().exec("tc", "qdisc", "del", "dev", "p2", "root");
        awaitTimed("p2 a target again after the qdisc went", () -> port("p2").egress());
        redirects = EthtoolStats.xdpRedirects(lab.switchNs(), "p1");
        long tx2 = h2.portStats().txPackets();
        assertThat(h1.ping(h2, 50, Duration.ofMillis(5)).allReceived()).isTrue();
        assertThat(EthtoolStats.xdpRedirects(lab.switchNs(), "p1") - redirects).as("XDP again")
                .isGreaterThanOrEqualTo(50);
        assertThat(port("p2").reason()).doesNotContain("tc acts");
        System.out.println("p2 tx during the last pings (XDP frames count as veth tx too): " + (h2.portStats().txPackets() - tx2));
    }

    /**
     * A tcx program someone attaches to a port while xbridge runs (after xbridge's own, so
     * xbridge's would run first and redirect past it) announces nothing: the periodic tcx
     * check must find it and leave the port to the kernel, so the program sees every frame.
     * The witness is the program: it drops everything, so h2 must answer nothing, as without
     * xbridge (neighbours are static: ARP would be dropped too).
     */
    @Test
    void aTcxProgramAttachedLaterIsFoundAndSeesEveryFrameUntilItGoes() throws Exception {
        lab = BridgeLab.builder().prefix("xbt").hosts(2).ageingTime(Duration.ofHours(1)).build();
        Host h1 = lab.host(1);
        Host h2 = lab.host(2);
        h1.knowNeighbour(h2);
        h2.knowNeighbour(h1);
        daemon = DaemonProcess.start(lab.switchNs(), "--reprobe-ms", "200");
        assertThat(port("p1").hook()).isEqualTo("tc");
        warmUp(h1, h2);

        int p1 = port("p1").index();
        try (BpfObject sink = BpfObject.openResource("/bpf/bench.bpf.o")) {
            sink.load();
            try (BpfLink link = lab.switchNs().enter().call(() -> sink.program("bench_tc_sink")
                    .attachTcx(p1, TcDirection.INGRESS))) {
                awaitTimed("p1 left to the kernel after a foreign tcx program", () -> port("p1").hook().equals("none"));
                assertThat(port("p1").reason()).contains("tcx ingress program id").contains("bench_tc_sink");
                assertThat(h1.ping(h2, 5, Duration.ofMillis(10)).received())
                        .as("the foreign program dropped every request, as without xbridge").isZero();
            }
        }
        awaitTimed("p1 accelerated again after the program went", () -> port("p1").accelerated());
        long fast = port("p1").fastPackets();
        assertThat(h1.ping(h2, 20, Duration.ofMillis(5)).allReceived()).isTrue();
        assertThat(port("p1").fastPackets() - fast).as("fast path again").isGreaterThanOrEqualTo(20);
    }
}
