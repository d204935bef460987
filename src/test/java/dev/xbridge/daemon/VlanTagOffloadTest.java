package dev.xbridge.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import dev.xbridge.testbed.BridgeLab;
import dev.xbridge.testbed.DaemonProcess;
import dev.xbridge.testbed.Host;
import dev.xbridge.testbed.LinkStats;
import dev.xbridge.testbed.PingResult;
import dev.xbridge.testing.Requires;
import java.time.Duration;
import java.util.Locale;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Hosts with an 802.1Q device ({@code eth0.10}) on a plain bridge: the kernel
 * bridge forwards their frames tagged, and so must xbridge on every hook. A
 * veth sends such a frame with its tag in {@code skb->vlan_tci} while
 * tx-vlan-hw-insert is on (veth's default), where native XDP neither sees nor
 * keeps it; so a port whose peer has it on must get TC (docs/design.md, "Which
 * hook on which port").
 *
 * <p>The witness is outside xbridge: the receiver's {@code eth0.10} counts the
 * frames that arrived tagged, and every host has strict reverse-path filtering,
 * so a frame that lost its tag (it would reach {@code eth0}, whose weak-host
 * delivery would otherwise answer for {@code eth0.10}'s address) is dropped
 * instead of answered. A control run with {@code --hook PORT=xdp} on such a
 * port shows that the tags are lost there.
 *
 * <p>Tagged {@code vm}: the build machine's kernel has no 802.1Q devices; this
 * runs in the stock-kernel VM (KernelMatrixTest).
 */
@Tag("vm")
class VlanTagOffloadTest extends DaemonLabTest {
    static final int PINGS = 10;

    /** {@code eth0.10} with 10.10.0.N/24 on {@code h}, and strict rp_filter. */
    static void addVlanDevice(Host h) {
        var r = h.ns().tryExec("ip", "link", "add", "link", h.ifname(), "name", vlanDev(h), "type", "vlan", "id", "10");
        Requires.that(r.ok(), "kernel feature 802.1Q VLAN devices (CONFIG_VLAN_8021Q): `ip link add ... type vlan` failed: "
                + r.stderr().strip() + " (run this test in the stock-kernel VM: docs/testing.md)");
        h.ns().ip("addr", "add", vlanIp(h) + "/24", "dev", vlanDev(h));
        h.ns().ip("link", "set", "dev", vlanDev(h), "up");
        h.ns().exec("sysctl", "-q", "-w", "net.ipv4.conf.all.rp_filter=1");
    }

    static String vlanDev(Host h) {
        return h.ifname() + ".10";
    }

    static String vlanIp(Host h) {
        return "10.10.0." + h.number();
    }

    /** Pings {@code to}'s VLAN address from {@code from}'s; returns replies, asserting nothing. */
    static PingResult vlanPing(Host from, Host to) {
        var r = from.ns().tryExec(Duration.ofSeconds(30), "ping", "-q", "-n", "-c", Integer.toString(PINGS),
                "-i", "0.05", "-W", "1", "-I", vlanDev(from), vlanIp(to));
        return PingResult.parse(r.stdout());
    }

    /**
     * {@code PINGS} echo requests from {@code from}'s eth0.10 to {@code to}'s: all answered,
     * and every request and reply reached the other side's eth0.10, i.e. tagged.
     */
    static void assertTaggedBothWays(String when, Host from, Host to) {
        long toRx = LinkStats.of(to.ns(), vlanDev(to)).rxPackets();
        long fromRx = LinkStats.of(from.ns(), vlanDev(from)).rxPackets();
        PingResult p = vlanPing(from, to);
        String what = String.format(Locale.ROOT, "%s: h%d.10 -> h%d.10", when, from.number(), to.number());
        assertThat(p.received()).as(what + " replies").isEqualTo(PINGS);
        assertThat(LinkStats.of(to.ns(), vlanDev(to)).rxPackets() - toRx).as(what + ": tagged frames at h" + to.number())
                .isGreaterThanOrEqualTo(PINGS);
        assertThat(LinkStats.of(from.ns(), vlanDev(from)).rxPackets() - fromRx)
                .as(what + ": tagged replies at h" + from.number()).isGreaterThanOrEqualTo(PINGS);
    }

    /** Untagged pings so that the bridge and then xbridge's FDB know every host: known unicast from here on. */
    void learnAll(Host... hosts) {
        for (Host h : hosts) {
            for (Host o : hosts) {
                if (h != o) {
                    h.ping(o, 1, Duration.ofMillis(10));
                }
            }
        }
        if (daemon != null) {
            for (Host h : hosts) {
                awaitMirrored(h.mac(), h.portName());
            }
        }
    }

    @Test
    void taggedFramesStayTaggedOnXdpAndTcPortsAsWithTheKernelBridge() {
        // h1, h2: every offload off (XDP-ready); h3, h4: a container's defaults; h5: XDP-ready but txvlan on.
        lab = BridgeLab.builder().prefix("xbt").hosts(5).hostOffloads(false).build();
        Host h1 = lab.host(1);
        Host h2 = lab.host(2);
        Host h3 = lab.host(3);
        Host h4 = lab.host(4);
        Host h5 = lab.host(5);
        h3.setOffloads(true);
        h4.setOffloads(true);
        h5.ns().exec("ethtool", "-K", "eth0", "txvlan", "on");
        for (Host h : lab.hosts()) {
            addVlanDevice(h);
        }

        // The reference: the kernel bridge alone.
        learnAll(h1, h2, h3, h4, h5);
        assertTaggedBothWays("kernel bridge", h1, h2);
        assertTaggedBothWays("kernel bridge", h3, h4);
        assertTaggedBothWays("kernel bridge", h5, h1);

        daemon = DaemonProcess.start(lab.switchNs());
        assertThat(port("p1").hook()).as(port("p1").reason()).isEqualTo("xdp");
        assertThat(port("p2").hook()).as(port("p2").reason()).isEqualTo("xdp");
        assertThat(port("p3").hook()).isEqualTo("tc");
        assertThat(port("p4").hook()).isEqualTo("tc");
        assertThat(port("p5").hook()).isEqualTo("tc");
        assertThat(port("p5").reason()).startsWith("TC: peer eth0 in /run/netns/")
                .endsWith(" sends with tx-vlan-hw-insert on, whose VLAN tag native XDP would lose");
        learnAll(h1, h2, h3, h4, h5);

        assertTaggedBothWays("xbridge, XDP ports", h1, h2);
        assertTaggedBothWays("xbridge, TC ports", h3, h4);
        assertTaggedBothWays("xbridge, TC port (txvlan on) to an XDP port", h5, h1);
        assertThat(h1.ping(h2, PINGS, Duration.ofMillis(20)).allReceived()).as("untagged still forwarded").isTrue();
        daemon.stop();
        daemon = null;

        // Control: native XDP forced onto p5, whose peer sends tags out of band: they are lost.
        daemon = DaemonProcess.start(lab.switchNs(), "--hook", "p5=xdp");
        assertThat(port("p5").hook()).isEqualTo("xdp");
        assertThat(port("p5").reason()).startsWith("WARNING: override --hook p5=xdp although peer eth0")
                .contains("tx-vlan-hw-insert");
        learnAll(h1, h5);
        long h1Rx = LinkStats.of(h1.ns(), vlanDev(h1)).rxPackets();
        PingResult forced = vlanPing(h5, h1);
        long tagged = LinkStats.of(h1.ns(), vlanDev(h1)).rxPackets() - h1Rx;
        System.out.println("control, --hook p5=xdp with txvlan on at h5: " + forced.received() + "/" + forced.transmitted()
                + " replies, " + tagged + " frames reached h1's eth0.10");
        assertThat(tagged).as("frames from h5 that kept their tag through forced XDP (aging samples take the kernel path)")
                .isLessThan(PINGS);
        assertThat(forced.received()).as("replies through forced XDP").isLessThan(PINGS);
    }
}
