package dev.xbridge.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import dev.xbridge.testbed.BridgeLab;
import dev.xbridge.testbed.DaemonProcess;
import dev.xbridge.testbed.EthtoolStats;
import dev.xbridge.testbed.Host;
import dev.xbridge.testbed.Netns;
import dev.xbridge.testing.Requires;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * A VLAN-filtering bridge end to end, on a kernel that has bridge VLAN
 * filtering and 802.1Q devices (the Debian stock kernel VM; tagged
 * {@code vm}). The same scenario runs on the kernel bridge alone and with
 * xbridge, and must deliver the same; with xbridge the fast path must have
 * carried the traffic, tags pushed and popped, witnessed outside xbridge.
 *
 * <pre>
 *   h1 eth0 (untagged)           -- p1: vid 10 pvid untagged   (XDP: offloads off)
 *   h2 eth0.10, eth0.20 (tagged) -- p2: vid 10, vid 20 tagged  (TC: offloads on, tags in the sk_buff)
 *   h3 eth0 (untagged)           -- p3: vid 20 pvid untagged   (TC)
 *   h4 eth0 (untagged)           -- p4: vid 10 pvid untagged   (XDP)
 * </pre>
 */
@Tag("vm")
class VlanFilteringTest extends DaemonLabTest {
    static final String H2_VLAN10 = "198.18.0.2";
    static final String H2_VLAN20 = "198.18.20.2";
    static final String H3_VLAN20 = "198.18.20.3";
    static final String H4 = "198.18.0.4";

    void buildLab() {
        lab = BridgeLab.builder().prefix("xbv").hosts(4).hostOffloads(false).ageingTime(Duration.ofHours(1)).build();
        Netns sw = lab.switchNs();
        var on = sw.tryExec("ip", "link", "set", lab.bridge(), "type", "bridge", "vlan_filtering", "1");
        Requires.that(on.exitCode() == 0, "kernel feature bridge VLAN filtering (CONFIG_BRIDGE_VLAN_FILTERING): "
                + on.stderr().strip() + " (runs in the stock-kernel VM: docs/testing.md)");
        for (Host h : lab.hosts()) {
            sw.exec("bridge", "vlan", "del", "dev", h.portName(), "vid", "1");
        }
        sw.exec("bridge", "vlan", "add", "dev", "p1", "vid", "10", "pvid", "untagged");
        sw.exec("bridge", "vlan", "add", "dev", "p2", "vid", "10");
        sw.exec("bridge", "vlan", "add", "dev", "p2", "vid", "20");
        sw.exec("bridge", "vlan", "add", "dev", "p3", "vid", "20", "pvid", "untagged");
        sw.exec("bridge", "vlan", "add", "dev", "p4", "vid", "10", "pvid", "untagged");
        Host h2 = lab.host(2);
        var vlanDev = h2.ns().tryExec("ip", "link", "add", "link", "eth0", "name", "eth0.10", "type", "vlan", "id",
                "10");
        Requires.that(vlanDev.exitCode() == 0, "kernel feature 802.1Q devices (CONFIG_VLAN_8021Q): "
                + vlanDev.stderr().strip());
        h2.ns().exec("ip", "link", "add", "link", "eth0", "name", "eth0.20", "type", "vlan", "id", "20");
        h2.ns().exec("ip", "addr", "flush", "dev", "eth0");
        h2.ns().exec("ip", "addr", "add", H2_VLAN10 + "/24", "dev", "eth0.10");
        h2.ns().exec("ip", "addr", "add", H2_VLAN20 + "/24", "dev", "eth0.20");
        h2.ns().exec("ip", "link", "set", "eth0.10", "up");
        h2.ns().exec("ip", "link", "set", "eth0.20", "up");
        Host h3 = lab.host(3);
        h3.ns().exec("ip", "addr", "flush", "dev", "eth0");
        h3.ns().exec("ip", "addr", "add", H3_VLAN20 + "/24", "dev", "eth0");
        // Tagged traffic in h2 leaves with the tag in the sk_buff (tx-vlan-hw-insert); p2 and p3 get TC.
        h2.setOffloads(true);
        h3.setOffloads(true);
    }

    /** The scenario; returns what each step delivered (echo replies received, ICMP frames seen by h3). */
    Map<String, Integer> scenario(boolean xbridge) {
        Netns sw = lab.switchNs();
        Host h1 = lab.host(1);
        Host h2 = lab.host(2);
        Host h3 = lab.host(3);
        Map<String, Integer> delivered = new LinkedHashMap<>();
        // Learn everyone, and take each source's first frame (an aging sample) out of the counted windows.
        ping(h1, H2_VLAN10, 3);
        ping(h2, H3_VLAN20, 3);
        ping(h1, H4, 3);
        long h3Icmp = h3.icmpReceived();
        if (xbridge) {
            awaitMirrored(h1.mac(), "p1");
            awaitMirrored(h2.mac(), "p2");
        }

        long p1Redirects = EthtoolStats.xdpRedirects(sw, "p1");
        long p1Tx = h1.portStats().txPackets();
        delivered.put("h1 -> h2.10 (untagged in, tagged out, and back)", ping(h1, H2_VLAN10, 20).received());
        if (xbridge) {
            assertThat(EthtoolStats.xdpRedirects(sw, "p1") - p1Redirects)
                    .as("h1's echo requests redirected by XDP on p1 with a tag pushed (ethtool -S); status "
                            + daemon.status())
                    .isGreaterThanOrEqualTo(20);
            assertThat(h1.portStats().txPackets() - p1Tx)
                    .as("h2's tagged replies reached h1 untagged without p1's transmit (TC redirect to the peer)")
                    .isLessThan(5);
        }
        long p3Tx = h3.portStats().txPackets();
        delivered.put("h2.20 -> h3 (tagged in, untagged out, and back)", ping(h2, H3_VLAN20, 20).received());
        if (xbridge) {
            assertThat(h3.portStats().txPackets() - p3Tx)
                    .as("h2's tagged requests reached h3 popped without p3's transmit (TC)").isLessThan(5);
        }
        delivered.put("h1 -> h4 (untagged, VLAN 10)", ping(h1, H4, 20).received());

        sw.exec("bridge", "vlan", "set", "dev", "p4", "vid", "10", "state", "blocking");
        delivered.put("h1 -> h4, VLAN 10 blocking on p4", ping(h1, H4, 5).received());
        sw.exec("bridge", "vlan", "set", "dev", "p4", "vid", "10", "state", "forwarding");
        ping(h1, H4, 3);
        delivered.put("h1 -> h4, forwarding again", ping(h1, H4, 5).received());

        sw.exec("bridge", "vlan", "del", "dev", "p2", "vid", "10");
        delivered.put("h1 -> h2.10, VLAN 10 deleted from p2", ping(h1, H2_VLAN10, 5).received());
        sw.exec("bridge", "vlan", "add", "dev", "p2", "vid", "10");
        ping(h1, H2_VLAN10, 3);
        delivered.put("h1 -> h2.10, VLAN 10 back on p2", ping(h1, H2_VLAN10, 5).received());

        // Only h2's VLAN 20 pings reach h3: nothing of VLAN 10 leaks into VLAN 20.
        delivered.put("ICMP frames h3 saw", (int) (h3.icmpReceived() - h3Icmp));
        return delivered;
    }

    @Test
    void aVlanFilteringBridgeDeliversTheSameWithXbridgeAndTheFastPathTagsFrames() {
        buildLab();
        Map<String, Integer> kernel = scenario(false);
        lab.close();
        lab = null;

        buildLab();
        daemon = DaemonProcess.start(lab.switchNs());
        assertThat(port("p1").hook()).isEqualTo("xdp");
        assertThat(port("p2").hook()).isEqualTo("tc");
        for (String p : List.of("p1", "p2", "p3", "p4")) {
            assertThat(port(p).accelerated()).as(p + ": " + port(p).reason()).isTrue();
        }
        assertThat(port("p1").vlans()).as("status shows the mirrored VLANs").isEqualTo("10 pvid untagged");
        assertThat(port("p2").vlans()).isEqualTo("10, 20");
        Map<String, Integer> withXbridge = scenario(true);

        assertThat(kernel).as("the kernel bridge alone, which the scenario's expectations describe")
                .containsEntry("h1 -> h2.10 (untagged in, tagged out, and back)", 20)
                .containsEntry("h2.20 -> h3 (tagged in, untagged out, and back)", 20)
                .containsEntry("h1 -> h4 (untagged, VLAN 10)", 20)
                .containsEntry("h1 -> h4, VLAN 10 blocking on p4", 0)
                .containsEntry("h1 -> h4, forwarding again", 5)
                .containsEntry("h1 -> h2.10, VLAN 10 deleted from p2", 0)
                .containsEntry("h1 -> h2.10, VLAN 10 back on p2", 5)
                .containsEntry("ICMP frames h3 saw", 20);
        assertThat(withXbridge).as("with xbridge (daemon log:\n" + daemon.output() + ")").isEqualTo(kernel);
        long fast = List.of("p1", "p2", "p3", "p4").stream().mapToLong(p -> port(p).fastPackets()).sum();
        assertThat(fast).as("xbridge's own count of fast-pathed frames").isGreaterThanOrEqualTo(100);
    }
}
