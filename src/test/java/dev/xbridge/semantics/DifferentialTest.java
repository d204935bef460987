package dev.xbridge.semantics;

import static org.assertj.core.api.Assertions.assertThat;

import dev.xbridge.daemon.Status;
import dev.xbridge.testbed.BridgeLab;
import dev.xbridge.testbed.DaemonProcess;
import dev.xbridge.testbed.Host;
import dev.xbridge.testbed.Netns;
import dev.xbridge.testing.Requires;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The same scripted scenario twice on real namespaces: once on the plain
 * kernel bridge, once with xbridge. After every step, what each host
 * received (frames on its eth0) and whether its pings were answered is
 * recorded; the two delivery tables must be identical.
 *
 * <p>Every host has permanent neighbour entries for all others, so no ARP
 * traffic depends on timing; IPv6 is off in the lab. What a host received
 * is counted by an nftables netdev ingress counter of ICMP frames on its
 * eth0: it sees frames not addressed to the host too (floods, hairpin), and
 * leaves out what the bridge device itself sends on its own schedule (IGMP
 * reports), which differs between runs by timing alone.
 */
class DifferentialTest {
    static final int HOSTS = 4;

    /** One row of the delivery table. */
    record Row(String step, List<Long> received, String pings) {}

    @Test
    void theKernelBridgeAndXbridgeDeliverTheSameFrames() {
        Requires.root();
        List<Row> kernel = scenario(false);
        List<Row> xbridge = scenario(true);
        StringBuilder table = new StringBuilder(String.format("%-34s %-24s %s%n", "step", "kernel bridge", "xbridge"));
        for (int i = 0; i < kernel.size(); i++) {
            table.append(String.format("%-34s %-24s %s%n", kernel.get(i).step(),
                    kernel.get(i).received() + " " + kernel.get(i).pings(),
                    i < xbridge.size() ? xbridge.get(i).received() + " " + xbridge.get(i).pings() : "-"));
        }
        System.out.print(table);
        assertThat(xbridge).as("delivery tables, kernel bridge vs xbridge:\n" + table).isEqualTo(kernel);
    }

    List<Row> scenario(boolean withXbridge) {
        List<Row> rows = new ArrayList<>();
        try (BridgeLab lab = BridgeLab.builder().prefix("xbt").hosts(HOSTS).hostOffloads(false).build()) {
            Netns sw = lab.switchNs();
            for (Host h : lab.hosts()) {
                h.icmpReceived(); // installs the counter before any traffic
                for (Host other : lab.hosts()) {
                    if (h != other) {
                        h.knowNeighbour(other);
                    }
                }
            }
            DaemonProcess daemon = withXbridge ? DaemonProcess.start(sw) : null;
            try {
                Host h1 = lab.host(1);
                Host h2 = lab.host(2);
                Host h3 = lab.host(3);
                Host h4 = lab.host(4);
                Step step = new Step(lab, rows, daemon);

                step.run("all pairs once (learning)", () -> {
                    StringBuilder s = new StringBuilder();
                    for (Host a : lab.hosts()) {
                        for (Host b : lab.hosts()) {
                            if (a != b) {
                                s.append(a.ping(b, 1, Duration.ofMillis(10)).received());
                            }
                        }
                    }
                    return s.toString();
                });
                step.run("known unicast h1->h2 x20", () -> ping(h1, h2, 20));
                step.run("fdb replace h2 -> p4 static", () -> {
                    sw.exec("bridge", "fdb", "replace", h2.mac(), "dev", h4.portName(), "master", "static");
                    return ping(h1, h2, 5);
                });
                step.run("fdb del h2 (flood, relearn)", () -> {
                    sw.exec("bridge", "fdb", "del", h2.mac(), "dev", h4.portName(), "master");
                    return ping(h1, h2, 5);
                });
                step.run("fdb add h3 static", () -> {
                    sw.exec("bridge", "fdb", "replace", h3.mac(), "dev", h3.portName(), "master", "static");
                    return ping(h1, h3, 5);
                });
                step.run("p2 blocking", () -> {
                    sw.exec("bridge", "link", "set", "dev", h2.portName(), "state", "4");
                    return ping(h1, h2, 3);
                });
                step.run("p2 forwarding again", () -> {
                    sw.exec("bridge", "link", "set", "dev", h2.portName(), "state", "3");
                    return ping(h1, h2, 5);
                });
                step.run("p1, p2 isolated", () -> {
                    sw.exec("bridge", "link", "set", "dev", h1.portName(), "isolated", "on");
                    sw.exec("bridge", "link", "set", "dev", h2.portName(), "isolated", "on");
                    return ping(h1, h2, 3) + "/" + ping(h1, h3, 3);
                });
                step.run("isolation off", () -> {
                    sw.exec("bridge", "link", "set", "dev", h1.portName(), "isolated", "off");
                    sw.exec("bridge", "link", "set", "dev", h2.portName(), "isolated", "off");
                    return ping(h1, h2, 5);
                });
                step.run("h2 behind p1, hairpin off", () -> {
                    sw.exec("bridge", "fdb", "replace", h2.mac(), "dev", h1.portName(), "master", "static");
                    return ping(h1, h2, 3);
                });
                step.run("hairpin on", () -> {
                    sw.exec("bridge", "link", "set", "dev", h1.portName(), "hairpin", "on");
                    String r = ping(h1, h2, 3);
                    sw.exec("bridge", "link", "set", "dev", h1.portName(), "hairpin", "off");
                    sw.exec("bridge", "fdb", "del", h2.mac(), "dev", h1.portName(), "master");
                    return r;
                });
                step.run("relearn h2", () -> ping(h2, h1, 5));
                step.run("MAC move: h4 takes h3's MAC", () -> {
                    sw.exec("bridge", "fdb", "del", h3.mac(), "dev", h3.portName(), "master");
                    ping(h3, h1, 2);
                    h4.setMac(h3.mac());
                    h4.ns().exec("ip", "addr", "add", h3.ip() + "/24", "dev", h4.ifname());
                    h3.setLinkUp(false);
                    return ping(h4, h1, 3) + "/" + ping(h1, h3, 5);
                });
                step.run("learning off on p1", () -> {
                    sw.exec("bridge", "link", "set", "dev", h1.portName(), "learning", "off");
                    sw.exec("bridge", "fdb", "del", h1.mac(), "dev", h1.portName(), "master");
                    return ping(h2, h1, 5) + "/" + ping(h1, h2, 5);
                });
                step.run("h2 down", () -> {
                    h2.setLinkUp(false);
                    return ping(h1, h2, 3);
                });
                if (daemon != null) {
                    long fast = daemon.status().bridges().get(0).ports().stream()
                            .mapToLong(Status.PortStatus::fastPackets).sum();
                    assertThat(fast).as("the xbridge run used the fast path").isGreaterThan(20);
                }
            } finally {
                if (daemon != null) {
                    daemon.close();
                }
            }
        }
        return rows;
    }

    static String ping(Host from, Host to, int count) {
        return Integer.toString(from.ping(to, count, Duration.ofMillis(20)).received());
    }

    /** Runs one step and records what every host received meanwhile. */
    static final class Step {
        final BridgeLab lab;
        final List<Row> rows;
        final DaemonProcess daemon;

        Step(BridgeLab lab, List<Row> rows, DaemonProcess daemon) {
            this.lab = lab;
            this.rows = rows;
            this.daemon = daemon;
        }

        void run(String name, java.util.function.Supplier<String> action) {
            Map<Host, Long> before = new LinkedHashMap<>();
            for (Host h : lab.hosts()) {
                before.put(h, h.icmpReceived());
            }
            settle();
            String pings = action.get();
            settle();
            List<Long> received = new ArrayList<>();
            for (Host h : lab.hosts()) {
                received.add(h.icmpReceived() - before.get(h));
            }
            rows.add(new Row(name, received, pings));
        }

        /**
         * Gives the daemon time to mirror the step's configuration change
         * before traffic; the kernel-only run waits the same, so both runs
         * see the same timing.
         */
        void settle() {
            try {
                Thread.sleep(150);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
