package dev.xbridge.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.xbridge.testbed.BridgeLab;
import dev.xbridge.testbed.DaemonProcess;
import dev.xbridge.testbed.EthtoolStats;
import dev.xbridge.testbed.Host;
import dev.xbridge.testbed.Iperf;
import dev.xbridge.testbed.Netns;
import dev.xbridge.testbed.PingResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The daemon end to end, in fresh namespaces: a switch namespace with the
 * bridge and the daemon, and one namespace per host. The fast path is
 * witnessed independently of xbridge's own counters: by the veth's XDP
 * counters ({@code ethtool -S}) and by what the hosts receive.
 *
 * <p>Hosts send with tx checksum, TSO and GSO off, so every port gets native
 * XDP (exact only then, PLATFORM.md); {@link TcAccelerationTest} covers the
 * TC hook that default offloads get.
 */
class AccelerationTest extends DaemonLabTest {
    BridgeLab lab(int hosts, Duration ageing) {
        // Tests that count redirects exactly use a long ageing_time: one frame per source and
        // tenth of it goes to the kernel as an aging sample, so with the default 300 s a sample
        // could fall inside a counted window on a slow machine (the 6.1 guest).
        BridgeLab.Builder b = BridgeLab.builder().prefix("xbt").hosts(hosts).hostOffloads(false)
                .ageingTime(ageing != null ? ageing : Duration.ofHours(1));
        lab = b.build();
        return lab;
    }

    /**
     * Pings until both ports have fast-pathed a frame. The first fast-pathable
     * frame of a newly mirrored source is the aging sample the kernel sees
     * (one per source and tenth of ageing_time); after it, counts are exact.
     */
    void warmUp(Host a, Host b) {
        await("both sources sampled and fast-pathed", Duration.ofSeconds(10), () -> {
            a.ping(b, 1, Duration.ofMillis(10));
            return port(a.portName()).fastPackets() > 0 && port(b.portName()).fastPackets() > 0;
        });
    }

    long xdpRedirects(Host h) {
        return EthtoolStats.xdpRedirects(lab.switchNs(), h.portName());
    }

    boolean xdpAttached(Netns ns, String ifname) throws Exception {
        JsonNode link = JSON.readTree(ns.ip("-j", "-d", "link", "show", "dev", ifname).stdout()).path(0);
        return link.has("xdp");
    }

    boolean gro(Host h) {
        return h.ns().exec("ethtool", "-k", h.ifname()).stdout().contains("generic-receive-offload: on");
    }

    @Test
    void pingAndTcpTakeTheFastPathWitnessedByEthtoolAndTheReceivers() throws Exception {
        lab(3, null);
        daemon = DaemonProcess.start(lab.switchNs());
        Host h1 = lab.host(1);
        Host h2 = lab.host(2);
        Host h3 = lab.host(3);
        for (String p : List.of("p1", "p2", "p3")) {
            assertThat(port(p).hook()).isEqualTo("xdp");
            assertThat(port(p).accelerated()).as(p + ": " + port(p).reason()).isTrue();
            assertThat(xdpAttached(lab.switchNs(), p)).as(p + " has XDP per ip -d link").isTrue();
        }
        assertThat(h1.ping(h2).allReceived()).isTrue();
        awaitMirrored(h1.mac(), "p1");
        awaitMirrored(h2.mac(), "p2");
        warmUp(h1, h2);

        long redirectsP1 = xdpRedirects(h1);
        long redirectsP2 = xdpRedirects(h2);
        long rx2 = h2.rxPackets();
        long rx3 = h3.icmpReceived();
        long fast1 = port("p1").fastPackets();
        PingResult ping = h1.ping(h2, 50, Duration.ofMillis(5));

        assertThat(ping.allReceived()).as("50 pings through the fast path").isTrue();
        assertThat(xdpRedirects(h1) - redirectsP1).as("echo requests redirected by XDP on p1 (ethtool -S); status p1 "
                + port("p1") + "; p2 " + port("p2") + "; ethtool -S p1 "
                + EthtoolStats.of(lab.switchNs(), h1.portName()))
                .isGreaterThanOrEqualTo(50);
        assertThat(xdpRedirects(h2) - redirectsP2).as("echo replies redirected by XDP on p2 (ethtool -S)")
                .isGreaterThanOrEqualTo(50);
        assertThat(h2.rxPackets() - rx2).as("frames h2 received").isGreaterThanOrEqualTo(50);
        assertThat(h3.icmpReceived() - rx3).as("no ICMP flooded to h3").isZero();
        assertThat(port("p1").fastPackets() - fast1).as("xbridge's own count agrees").isGreaterThanOrEqualTo(50);

        long before = xdpRedirects(h1);
        Iperf.Result tcp = Iperf.tcp(h2, h1, Duration.ofSeconds(2));
        assertThat(tcp.ok()).as("iperf3: " + tcp.error()).isTrue();
        assertThat(tcp.bitsPerSecond()).isPositive();
        assertThat(xdpRedirects(h1) - before).as("TCP segments redirected by XDP").isGreaterThan(1000);
        System.out.printf("TCP through the XDP fast path (offloads off in hosts): %.2f Gbit/s%n", tcp.gigabitsPerSecond());
    }

    @Test
    void fdbDelStopsFastForwardingAndTheKernelFloods() {
        lab(3, null);
        daemon = DaemonProcess.start(lab.switchNs());
        Host h1 = lab.host(1);
        Host h2 = lab.host(2);
        Host h3 = lab.host(3);
        // Static neighbours: h2 must send nothing of its own between the del and the ping. On the
        // slower 6.1 guest (over 600 ms between them) its ARP probe for h1 let the kernel relearn
        // h2, and the ping was rightly fast-pathed or forwarded to p2 alone.
        h1.knowNeighbour(h2);
        h2.knowNeighbour(h1);
        assertThat(h1.ping(h2).allReceived()).isTrue();
        awaitMirrored(h2.mac(), "p2");

        long t0 = System.nanoTime();
        lab.switchNs().exec("bridge", "fdb", "del", h2.mac(), "dev", "p2", "master");
        await("the daemon to drop " + h2.mac(), Duration.ofSeconds(5),
                () -> daemon.fdb().stream().noneMatch(r -> r.mac().equals(h2.mac())));
        System.out.printf("fdb del reached the datapath within %.1f ms (including the status round trips)%n",
                (System.nanoTime() - t0) / 1e6);

        long rx3 = h3.rxPackets();
        long unknown = port("p1").passed().getOrDefault("pass_dst_unknown", 0L);
        assertThat(lab.switchNs().exec("bridge", "fdb", "show", "br", lab.bridge()).stdout())
                .as("the kernel has not relearned h2 before the ping").doesNotContain(h2.mac() + " dev p2");
        assertThat(h1.ping(h2, 1, Duration.ofMillis(10)).allReceived()).isTrue();
        assertThat(port("p1").passed().getOrDefault("pass_dst_unknown", 0L) - unknown)
                .as("the request went to the kernel as unknown unicast").isGreaterThanOrEqualTo(1);
        assertThat(h3.rxPackets() - rx3).as("the kernel flooded it to h3 too").isGreaterThanOrEqualTo(1);
        awaitMirrored(h2.mac(), "p2"); // the kernel relearned from the reply, and the fast path follows
    }

    @Test
    void aMacMovingToAnotherPortIsFollowed() {
        lab(3, null);
        daemon = DaemonProcess.start(lab.switchNs());
        Host h1 = lab.host(1);
        Host h2 = lab.host(2);
        Host h3 = lab.host(3);
        String moving = h2.mac();
        assertThat(h1.ping(h2).allReceived()).isTrue();
        awaitMirrored(moving, "p2");

        // h2 stays up, so the kernel really moves the entry (taking h2 down would flush it,
        // br_stp_disable_port, and make this a delete and a fresh learn), but silent: with ARP
        // on, its neighbour probes (seen on the slower 6.1 guest) would move the MAC back, as they
        // would on the kernel bridge alone.
        h2.ns().ip("link", "set", "dev", h2.ifname(), "arp", "off");
        h3.setMac(moving);
        // A known neighbour makes h3's first frame unicast; an ARP broadcast would move the entry
        // too, but through the broadcast rule, which comes first.
        h3.knowNeighbour(h1);
        long moved = port("p3").passed().getOrDefault("pass_src_moved", 0L);
        assertThat(h3.ping(h1).allReceived()).isTrue();
        awaitMirrored(moving, "p3");
        assertThat(port("p3").passed().getOrDefault("pass_src_moved", 0L) - moved)
                .as("the first frame from the new port went to the kernel to move the entry").isGreaterThanOrEqualTo(1);
        warmUp(h1, h3); // the moved MAC is a new source: its first fast-pathable frame is its aging sample

        long redirects = xdpRedirects(h1);
        long rx3 = h3.rxPackets();
        assertThat(h1.ping(h3, 20, Duration.ofMillis(5)).allReceived()).isTrue();
        assertThat(xdpRedirects(h1) - redirects).as("fast path to the new port").isGreaterThanOrEqualTo(20);
        assertThat(h3.rxPackets() - rx3).isGreaterThanOrEqualTo(20);
    }

    /**
     * With ageing_time 3 s, h1 and h2 talk through the fast path for three
     * ageing times while h3 stays idle: the kernel must age h3's entry and
     * keep h1's and h2's. {@code bridge monitor fdb} is the witness of every
     * deletion, p1's XDP counters of the fast path.
     */
    @Test
    void anIdleEntryAgesAndABusyOneDoesNot() throws Exception {
        Aging run = runAging(true);
        assertThat(run.whole()).as("idle h3 aged out").contains(Host.macOf(3));
        assertThat(run.busy()).as("busy h1 and h2 kept").doesNotContain(Host.macOf(1), Host.macOf(2));
    }

    /** The control: without the refresh, fast-pathed entries age although they are busy. */
    @Test
    void withoutTheRefreshBusyEntriesWouldAge() throws Exception {
        Aging run = runAging(false);
        assertThat(run.busy()).as("without refresh the kernel ages busy entries").contains(Host.macOf(1));
    }

    /**
     * The MACs {@code bridge monitor fdb} saw deleted: over the whole run, from
     * before h3 was learned, and over the busy window alone. On the slow 6.1
     * guest every step of the set-up can outlast the 3 s ageing_time, so
     * nothing waits while an entry is idle: h1 pings h2 from the start, the
     * busy window opens once both are mirrored and h2's replies reach h1, and
     * the pings outlast it.
     */
    record Aging(List<String> whole, List<String> busy) {}

    Aging runAging(boolean refresh) throws Exception {
        Duration ageing = Duration.ofSeconds(3);
        lab(3, ageing);
        daemon = refresh ? DaemonProcess.start(lab.switchNs()) : DaemonProcess.start(lab.switchNs(), "--no-aging-refresh");
        Host h1 = lab.host(1);
        Host h2 = lab.host(2);
        Host h3 = lab.host(3);
        // No ARP: its broadcasts and later probes would refresh entries the test means to leave idle.
        h1.knowNeighbour(h2);
        h2.knowNeighbour(h1);
        h1.knowNeighbour(h3);
        h3.knowNeighbour(h1);
        try (FdbDeletions whole = FdbDeletions.watch(lab)) {
            assertThat(h3.ping(h1).allReceived()).isTrue();
            Process pings = h1.ns().start("ping", "-q", "-n", "-i", "0.1", h2.ip());
            try {
                awaitMirrored(h1.mac(), "p1");
                awaitMirrored(h2.mac(), "p2");
                long before = h1.icmpReceived();
                await("h2's replies reaching h1", Duration.ofSeconds(30), () -> h1.icmpReceived() >= before + 2);
                try (FdbDeletions busy = FdbDeletions.watch(lab)) {
                    long replies = h1.icmpReceived();
                    long redirects = xdpRedirects(h1);
                    Thread.sleep(ageing.multipliedBy(3).toMillis());
                    assertThat(pings.isAlive()).as("h1 still pinging at the end of the busy window").isTrue();
                    // 10 a second: 90 in the window; a ping in flight at either end may be lost to it.
                    assertThat(h1.icmpReceived() - replies).as("replies in the busy window").isGreaterThanOrEqualTo(80);
                    // Every third or fourth request goes to the kernel as an aging sample (one per 300 ms).
                    assertThat(xdpRedirects(h1) - redirects).as("requests fast-pathed in the busy window")
                            .isGreaterThanOrEqualTo(30);
                    return new Aging(whole.macs(), busy.macs());
                }
            } finally {
                pings.destroy();
                pings.waitFor();
            }
        }
    }

    /**
     * A {@code bridge monitor fdb} in the lab's switch namespace, proven
     * subscribed before it counts: it must first report the deletion of a
     * static marker entry that {@link #watch} adds and deletes.
     */
    static final class FdbDeletions implements AutoCloseable {
        private static final String MARKER = "02:00:5e:ff:ff:01";
        private final Process monitor;
        private final Path log;

        private FdbDeletions(Process monitor, Path log) {
            this.monitor = monitor;
            this.log = log;
        }

        static FdbDeletions watch(BridgeLab lab) throws Exception {
            Path log = Files.createTempFile("xbt-monitor", ".log");
            FdbDeletions d = new FdbDeletions(lab.switchNs().start(log, "bridge", "monitor", "fdb"), log);
            try {
                await("bridge monitor subscribed", Duration.ofSeconds(30), () -> {
                    lab.switchNs().exec("bridge", "fdb", "replace", MARKER, "dev", "p1", "master", "static");
                    lab.switchNs().exec("bridge", "fdb", "del", MARKER, "dev", "p1", "master");
                    return d.deleted().contains(MARKER);
                });
                return d;
            } catch (RuntimeException | Error e) {
                d.close();
                throw e;
            }
        }

        /** Every MAC deleted since the monitor started, less the marker. */
        List<String> macs() {
            return deleted().stream().filter(m -> !m.equals(MARKER)).toList();
        }

        private List<String> deleted() {
            try {
                return Files.readString(log).lines().filter(l -> l.startsWith("Deleted "))
                        .map(l -> l.split(" ")[1]).toList();
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }

        @Override
        public void close() throws Exception {
            monitor.destroy();
            monitor.waitFor();
            Files.deleteIfExists(log);
        }
    }

    @Test
    void portRemovalAndDaemonExitLeaveNothingBehind() throws Exception {
        lab(3, null);
        Host h1 = lab.host(1);
        Host h2 = lab.host(2);
        Host h3 = lab.host(3);
        assertThat(gro(h3)).as("veth GRO is off by default").isFalse();
        daemon = DaemonProcess.start(lab.switchNs());
        assertThat(gro(h3)).as("the daemon turned GRO on so h3 can receive redirected frames").isTrue();
        assertThat(port("p3").peerGroChanged()).isTrue();

        lab.switchNs().ip("link", "set", "dev", "p3", "nomaster");
        await("p3 detached", Duration.ofSeconds(5), () -> {
            try {
                return !xdpAttached(lab.switchNs(), "p3");
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        });
        await("h3 GRO restored", Duration.ofSeconds(5), () -> !gro(h3));
        assertThat(daemon.status().bridges().get(0).ports()).extracting(Status.PortStatus::name)
                .containsExactly("p1", "p2");
        assertThat(h1.ping(h2).allReceived()).as("p1 and p2 still forward").isTrue();

        int exit = daemon.stop();
        assertThat(exit).as(daemon.output()).isIn(0, 143);
        assertThat(daemon.output()).contains("xbridge: stopped");
        for (String p : List.of("p1", "p2")) {
            assertThat(xdpAttached(lab.switchNs(), p)).as(p + " detached after exit").isFalse();
        }
        assertThat(gro(h1)).as("h1 GRO restored").isFalse();
        assertThat(gro(h2)).as("h2 GRO restored").isFalse();
        assertThat(daemon.socket()).doesNotExist();
        assertThat(lab.switchNs().exec("bpftool", "-j", "link", "show").stdout()).doesNotContain("xbridge_xdp");
        try (var pins = Files.list(Path.of("/sys/fs/bpf"))) {
            assertThat(pins.map(Path::toString).filter(s -> s.contains("xbridge"))).isEmpty();
        }
        assertThat(h1.ping(h2).allReceived()).as("the kernel bridge forwards on its own").isTrue();
    }

    @Test
    void aPortWhosePeerSendsWithOffloadsGetsTcAndSaysWhy() {
        lab(3, null);
        Host h3 = lab.host(3);
        h3.setOffloads(true);
        daemon = DaemonProcess.start(lab.switchNs());
        Status.PortStatus p3 = port("p3");
        assertThat(p3.hook()).isEqualTo("tc");
        assertThat(p3.mode()).as("tcx links exist from Linux 6.6; before, the clsact fallback")
                .isEqualTo(kernelAtLeast(6, 6) ? "tcx" : "clsact");
        assertThat(p3.accelerated()).isTrue();
        assertThat(p3.egress()).isTrue();
        assertThat(p3.reason()).startsWith("TC: ").contains("tx-checksumming").contains("native XDP would lose");
        assertThat(port("p1").reason()).startsWith("native XDP: ");
        Iperf.Result tcp = Iperf.tcp(lab.host(1), h3, Duration.ofSeconds(1));
        assertThat(tcp.ok()).as("TCP from the offloading host works: " + tcp.error()).isTrue();
        assertThat(tcp.bitsPerSecond()).isPositive();

        // VLAN tag insertion alone is enough: native XDP would see such a host's tagged frames untagged.
        lab.host(2).ns().exec("ethtool", "-K", "eth0", "txvlan", "on");
        await("p2 on TC after txvlan on", Duration.ofSeconds(15), () -> port("p2").hook().equals("tc"));
        assertThat(port("p2").reason()).startsWith("TC: peer eth0 in /run/netns/")
                .endsWith(" sends with tx-vlan-hw-insert on, whose VLAN tag native XDP would lose");
    }

    /** Whether the running kernel is at least {@code major.minor}. */
    static boolean kernelAtLeast(int major, int minor) {
        String[] v = System.getProperty("os.version").split("[.-]");
        int ma = Integer.parseInt(v[0]);
        int mi = Integer.parseInt(v[1]);
        return ma > major || (ma == major && mi >= minor);
    }
}
