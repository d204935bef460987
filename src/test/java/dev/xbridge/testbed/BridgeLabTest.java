package dev.xbridge.testbed;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.xbridge.testing.Requires;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class BridgeLabTest {
    /** A prefix of this test's own, so a parallel run elsewhere on the machine cannot confuse the leak checks. */
    private String prefix;

    @BeforeEach
    void needsRoot() {
        Requires.root();
        prefix = "xbt" + Integer.toString(ThreadLocalRandom.current().nextInt(36 * 36 * 36), 36);
    }

    private List<String> leftovers() {
        return Netns.list().stream().filter(n -> n.startsWith(prefix + "-")).toList();
    }

    @Test
    void hostsReachEachOtherJoinLeaveAndNothingLeaks() {
        List<String> seen = new ArrayList<>();
        try (BridgeLab lab = BridgeLab.builder().prefix(prefix).hosts(3).build()) {
            seen.addAll(lab.namespaceNames());
            assertThat(seen).hasSize(4).allMatch(n -> n.startsWith(prefix + "-")).doesNotHaveDuplicates();
            assertThat(Netns.list()).containsAll(seen);

            Host h1 = lab.host(1);
            Host h2 = lab.host(2);
            Host h3 = lab.host(3);
            assertThat(h2.mac()).isEqualTo("02:00:00:00:00:02");
            assertThat(h2.ip()).isEqualTo("198.18.0.2");
            assertThat(h2.portName()).isEqualTo("p2");
            assertThat(h2.portState()).isEqualTo("forwarding");

            assertThat(h1.ping(h2, 3, Duration.ofMillis(10))).isEqualTo(new PingResult(3, 3));
            assertThat(h3.ping(h1).allReceived()).isTrue();
            // The bridge learned each sender on its port.
            assertThat(lab.learned()).containsEntry(h1.mac(), "p1").containsEntry(h2.mac(), "p2");

            Host h4 = lab.addHost();
            seen.add(h4.ns().name());
            assertThat(h4.number()).isEqualTo(4);
            assertThat(h4.ping(h2).allReceived()).isTrue();

            lab.removeHost(h2);
            assertThat(lab.hosts()).extracting(Host::number).containsExactly(1, 3, 4);
            assertThat(Netns.list()).doesNotContain(h2.ns().name());
            assertThat(lab.switchNs().tryExec("ip", "link", "show", "dev", "p2").ok()).isFalse();
            assertThat(lab.learned()).doesNotContainKey("02:00:00:00:00:02");
            assertThat(h1.ping(h2, 1, Duration.ofMillis(10)).received()).isZero();
            assertThatThrownBy(() -> lab.host(2)).hasMessageContaining("no host 2");

            // A new host gets a fresh number, never a departed one's MAC.
            assertThat(lab.addHost().number()).isEqualTo(5);
            seen.add(lab.host(5).ns().name());
        }
        assertThat(Netns.list()).doesNotContainAnyElementsOf(seen);
        assertThat(leftovers()).isEmpty();
    }

    @Test
    void failedBuildRemovesWhatItMade() {
        // "a/b" is not a valid interface name: the bridge cannot be created after the switch netns was.
        assertThatThrownBy(() -> BridgeLab.builder().prefix(prefix).hosts(1).bridgeName("a/b").build())
                .isInstanceOf(CommandException.class)
                .hasMessageContaining("a/b");
        assertThat(leftovers()).isEmpty();
    }

    @Test
    void countersSeeOnlyTheTestsTraffic() {
        try (BridgeLab lab = BridgeLab.builder().prefix(prefix).hosts(2).build()) {
            Host h1 = lab.host(1);
            Host h2 = lab.host(2);
            h1.ping(h2, 1, Duration.ofMillis(10)); // resolves ARP
            long tx = h1.txPackets();
            long rx = h2.rxPackets();
            long portRx = h1.portStats().rxPackets();
            assertThat(h1.ping(h2, 5, Duration.ofMillis(10)).allReceived()).isTrue();
            // IPv6 is off, so nothing but the echo requests (and at most an ARP refresh) was sent.
            assertThat(h1.txPackets() - tx).isBetween(5L, 7L);
            assertThat(h2.rxPackets() - rx).isBetween(5L, 7L);
            assertThat(h1.portStats().rxPackets() - portRx).isBetween(5L, 7L);
        }
    }

    @Test
    void settingsReachTheKernel() {
        try (BridgeLab lab = BridgeLab.builder().prefix(prefix).hosts(2).bridgeName("xbr0")
                .ageingTime(Duration.ofMillis(12_340)).hostOffloads(false).build()) {
            assertThat(lab.bridge()).isEqualTo("xbr0");
            assertThat(lab.switchNs().exec("cat", "/sys/class/net/xbr0/bridge/ageing_time").stdout().strip())
                    .isEqualTo("1234");
            String features = lab.host(1).ns().exec("ethtool", "-k", "eth0").stdout();
            assertThat(features).contains("tx-checksumming: off", "tcp-segmentation-offload: off",
                    "generic-segmentation-offload: off", "tx-vlan-offload: off", "tx-vlan-stag-hw-insert: off");

            Host h2 = lab.host(2);
            h2.setOffloads(true);
            assertThat(h2.ns().exec("ethtool", "-k", "eth0").stdout()).contains("tx-checksumming: on",
                    "tcp-segmentation-offload: on", "generic-segmentation-offload: on", "tx-vlan-offload: on",
                    "tx-vlan-stag-hw-insert: on");
            h2.setVlanInsert(false);
            assertThat(h2.ns().exec("ethtool", "-k", "eth0").stdout()).contains("tx-checksumming: on",
                    "tx-vlan-offload: off", "tx-vlan-stag-hw-insert: off");
            h2.setVlanInsert(true);

            h2.setMac("02:00:00:00:01:02");
            assertThat(h2.mac()).isEqualTo("02:00:00:00:01:02");
            assertThat(lab.host(1).ping(h2, 2, Duration.ofMillis(10)).allReceived()).isTrue();
            assertThat(lab.learned()).containsEntry("02:00:00:00:01:02", "p2");

            h2.setLinkUp(false);
            assertThat(h2.portState()).isEqualTo("disabled");
            h2.setLinkUp(true);
            assertThat(h2.portState()).isEqualTo("forwarding");
        }
    }

    @Test
    void vethsHaveXdpCountersAndNoXdpRanYet() {
        try (BridgeLab lab = BridgeLab.builder().prefix(prefix).hosts(2).build()) {
            lab.host(1).ping(lab.host(2));
            assertThat(EthtoolStats.of(lab.switchNs(), "p1")).containsKey("rx_queue_0_xdp_redirect");
            assertThat(EthtoolStats.xdpRedirects(lab.switchNs(), "p1")).isZero();
            assertThat(EthtoolStats.xdpPackets(lab.switchNs(), "p1")).isZero();
        }
    }

    @Test
    void iperfMeasuresTcpThroughTheBridge() {
        try (BridgeLab lab = BridgeLab.builder().prefix(prefix).hosts(2).build()) {
            Iperf.Result r = Iperf.tcp(lab.host(1), lab.host(2), Duration.ofSeconds(1));
            assertThat(r.error()).isNull();
            // Kernel bridge between veths does several Gbit/s here; 100 Mbit/s only says it flowed.
            assertThat(r.bitsPerSecond()).isGreaterThan(1e8);

            Iperf.Result udp = Iperf.udp(lab.host(1), lab.host(2), Duration.ofSeconds(1), 50_000_000, 1000);
            assertThat(udp.error()).isNull();
            assertThat(udp.bitsPerSecond()).isGreaterThan(1e7);
        }
        assertThat(leftovers()).isEmpty();
    }
}
