package dev.xbridge.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import dev.xbridge.testbed.BridgeLab;
import dev.xbridge.testbed.DaemonProcess;
import dev.xbridge.testbed.Host;
import dev.xbridge.testbed.Netns;
import dev.xbridge.testbed.PingResult;
import dev.xbridge.testing.Requires;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Bridge ports that are not plain devices: a bond and an 802.1Q
 * sub-interface, which the host kernel cannot create (tagged {@code vm}).
 * Frames reach them after the bond's or VLAN device's own receive handler
 * and leave through their transmit, so TC ingress with {@code bpf_redirect}
 * is exact there; native XDP is not offered (it would see the lower device's
 * frames). Both must be accelerated, say so in status, and deliver what the
 * kernel bridge delivers, witnessed by the destination FDB entry's
 * {@code used} time (set by the kernel bridge on every frame it forwards)
 * and the host port's transmit counter.
 */
@Tag("vm")
class StackedPortsTest extends DaemonLabTest {
    static final String H5 = "198.18.0.5";
    static final String H6 = "198.18.0.6";
    static final String H5_MAC = "02:00:00:00:00:05";
    static final String H6_MAC = "02:00:00:00:00:06";
    final List<Netns> extra = new ArrayList<>();

    @AfterEach
    void closeExtra() {
        extra.forEach(Netns::close);
    }

    /** h1 on a veth; h5 behind bond0 (one veth slave); h6 behind y6.10, an 802.1Q device on a veth. */
    void buildLab() {
        lab = BridgeLab.builder().prefix("xbs").hosts(1).ageingTime(Duration.ofHours(1)).build();
        Netns sw = lab.switchNs();
        Netns h5 = Netns.create("xbs-h5");
        extra.add(h5);
        Netns h6 = Netns.create("xbs-h6");
        extra.add(h6);
        var bond = sw.tryExec("ip", "link", "add", "bond0", "type", "bond", "mode", "active-backup");
        Requires.that(bond.exitCode() == 0, "kernel feature bonding (CONFIG_BONDING): " + bond.stderr().strip()
                + " (runs in the stock-kernel VM: docs/testing.md)");
        sw.ip("link", "add", "b5", "type", "veth", "peer", "name", "eth0", "netns", h5.name());
        sw.ip("link", "set", "b5", "master", "bond0");
        sw.ip("link", "set", "bond0", "master", lab.bridge());
        sw.ip("link", "add", "y6", "type", "veth", "peer", "name", "eth0", "netns", h6.name());
        var vlan = sw.tryExec("ip", "link", "add", "link", "y6", "name", "y6.10", "type", "vlan", "id", "10");
        Requires.that(vlan.exitCode() == 0, "kernel feature 802.1Q devices (CONFIG_VLAN_8021Q): " + vlan.stderr().strip());
        sw.ip("link", "set", "y6.10", "master", lab.bridge());
        for (String dev : List.of("b5", "bond0", "y6", "y6.10")) {
            sw.ip("link", "set", dev, "up");
        }
        h5.ip("link", "set", "eth0", "address", H5_MAC);
        h5.ip("addr", "add", H5 + "/24", "dev", "eth0");
        h5.ip("link", "set", "eth0", "up");
        h6.ip("link", "set", "eth0", "address", H6_MAC);
        h6.ip("link", "set", "eth0", "up");
        h6.ip("link", "add", "link", "eth0", "name", "eth0.10", "type", "vlan", "id", "10");
        h6.ip("addr", "add", H6 + "/24", "dev", "eth0.10");
        h6.ip("link", "set", "eth0.10", "up");
        // Wait for the bridge to forward on the new ports (no STP: at once, but the bond needs its slave up).
        DaemonLabTest.await("bond0 and y6.10 forwarding", Duration.ofSeconds(20), () -> {
            String links = sw.exec("bridge", "link", "show").stdout();
            return links.contains("bond0") && links.contains("y6.10")
                    && links.lines().filter(l -> l.contains("bond0") || l.contains("y6.10"))
                            .allMatch(l -> l.contains("state forwarding"));
        });
    }

    @Test
    void aBondAndAVlanDeviceAsPortsAreAcceleratedWithTc() throws InterruptedException {
        buildLab();
        Host h1 = lab.host(1);
        assertThat(ping(h1, H5, 5).received()).as("kernel bridge alone: h1 -> h5 through bond0").isEqualTo(5);
        assertThat(ping(h1, H6, 5).received()).as("kernel bridge alone: h1 -> h6 through y6.10").isEqualTo(5);

        daemon = DaemonProcess.start(lab.switchNs());
        assertThat(port("bond0").hook()).isEqualTo("tc");
        assertThat(port("bond0").accelerated()).as(port("bond0").reason()).isTrue();
        assertThat(port("bond0").reason()).contains("kind bond");
        assertThat(port("y6.10").hook()).isEqualTo("tc");
        assertThat(port("y6.10").accelerated()).as(port("y6.10").reason()).isTrue();
        assertThat(port("y6.10").reason()).contains("kind vlan");
        // Learn, mirror, and take each source's first frame (an aging sample) out of the counted window.
        ping(h1, H5, 3);
        ping(h1, H6, 3);
        awaitMirrored(H5_MAC, "bond0");
        awaitMirrored(H6_MAC, "y6.10");
        Thread.sleep(2100);

        for (String[] target : List.of(new String[] {H5, H5_MAC, "bond0"}, new String[] {H6, H6_MAC, "y6.10"})) {
            long p1Tx = h1.portStats().txPackets();
            long fastIn = port(target[2]).fastPackets();
            long fastOut = port("p1").fastPackets();
            PingResult r = ping(h1, target[0], 20);
            assertThat(r.received()).as("h1 -> " + target[0] + " with xbridge").isEqualTo(20);
            assertThat(usedSecondsAgo(target[1])).as("the kernel bridge forwarded nothing to " + target[2]
                    + " (its FDB entry's used time stands still)").isGreaterThanOrEqualTo(2);
            assertThat(h1.portStats().txPackets() - p1Tx).as("replies from " + target[2]
                    + " reached h1 without p1's transmit (TC redirect to the peer)").isLessThan(5);
            assertThat(port("p1").fastPackets() - fastOut).as("requests fast-pathed from p1").isGreaterThanOrEqualTo(20);
            assertThat(port(target[2]).fastPackets() - fastIn).as("replies fast-pathed from " + target[2])
                    .isGreaterThanOrEqualTo(20);
        }
    }
}
