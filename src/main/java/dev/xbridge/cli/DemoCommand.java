package dev.xbridge.cli;

import dev.xbridge.daemon.Status;
import dev.xbridge.testbed.BridgeLab;
import dev.xbridge.testbed.DaemonProcess;
import dev.xbridge.testbed.EthtoolStats;
import dev.xbridge.testbed.Host;
import dev.xbridge.testbed.PingResult;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code xbridge demo}: a bridge and four hosts in namespaces of their own,
 * the daemon on the bridge, traffic, counters, an {@code fdb del}, cleanup.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Show xbridge at work in throwaway namespaces (a bridge and four hosts), then clean up.")
final class DemoCommand implements Callable<Integer> {
    @Option(names = "--pings", defaultValue = "200", description = "Pings per host pair (default: ${DEFAULT-VALUE}).")
    int pings;

    @Override
    public Integer call() throws Exception {
        dev.xbridge.daemon.Privileges.requireForRun();
        say("Building a bridge br0 and four hosts, each in its own network namespace.");
        say("Hosts send with tx checksum, TSO, GSO and VLAN tag insertion off: native XDP on veth is exact only then"
                + " (docs/design.md).");
        try (BridgeLab lab = BridgeLab.builder().prefix("xbd").hosts(4).hostOffloads(false).build()) {
            for (Host h : lab.hosts()) {
                say("  " + h);
            }
            say("");
            say("Starting `xbridge run` inside " + lab.switchNs().name() + " ...");
            try (DaemonProcess daemon = DaemonProcess.start(lab.switchNs())) {
                say(daemon.output().strip());
                printStatus(daemon.status());

                Host h1 = lab.host(1);
                Host h2 = lab.host(2);
                Host h3 = lab.host(3);
                Host h4 = lab.host(4);
                say("First contact: the kernel learns the MACs (these frames take the slow path).");
                h1.ping(h2, 2, Duration.ofMillis(20));
                h3.ping(h4, 2, Duration.ofMillis(20));
                waitMirrored(daemon, h2.mac());
                waitMirrored(daemon, h4.mac());

                long redirects = EthtoolStats.xdpRedirects(lab.switchNs(), h1.portName());
                long rx2 = h2.rxPackets();
                say("");
                say("Now " + pings + " pings h1 -> h2 and h3 -> h4, known unicast: the fast path forwards them.");
                PingResult a = h1.ping(h2, pings, Duration.ofMillis(2));
                PingResult b = h3.ping(h4, pings, Duration.ofMillis(2));
                say("  h1 -> h2: " + a.received() + "/" + a.transmitted() + " replies; h3 -> h4: "
                        + b.received() + "/" + b.transmitted());
                say("  witness: ethtool -S p1 xdp_redirect +" + (EthtoolStats.xdpRedirects(lab.switchNs(), h1.portName()) - redirects)
                        + ", frames received by h2 +" + (h2.rxPackets() - rx2));
                printStatus(daemon.status());

                say("`bridge fdb del " + h2.mac() + " dev p2 master`: the fast path must stop forwarding to h2 at once.");
                lab.switchNs().exec("bridge", "fdb", "del", h2.mac(), "dev", "p2", "master");
                long gone = System.nanoTime();
                while (daemon.fdb().stream().anyMatch(r -> r.mac().equals(h2.mac()))) {
                    Thread.sleep(5);
                }
                say(String.format("  the datapath dropped it %.1f ms later", (System.nanoTime() - gone) / 1e6));
                long rx3 = h3.rxPackets();
                h1.ping(h2, 1, Duration.ofMillis(10));
                say("  one more ping h1 -> h2: unknown unicast, so the kernel floods it; h3 saw "
                        + (h3.rxPackets() - rx3) + " frame(s) of it");
                waitMirrored(daemon, h2.mac());
                say("  h2's reply taught the kernel its MAC again, and the fast path follows:");
                say(table(daemon));
                printStatus(daemon.status());
                say("Stopping the daemon (SIGTERM): programs detach, GRO on the hosts is restored.");
                daemon.stop();
                say(daemon.output().lines().filter(l -> l.startsWith("xbridge: stopped")).findFirst().orElse(""));
            }
            say("Removing the namespaces.");
        }
        say("Done.");
        return 0;
    }

    private static void waitMirrored(DaemonProcess daemon, String mac) throws InterruptedException {
        long end = System.nanoTime() + 10_000_000_000L;
        while (daemon.fdb().stream().noneMatch(r -> r.mac().equals(mac))) {
            if (System.nanoTime() > end) {
                throw new IllegalStateException("the daemon did not mirror " + mac + " within 10 s:\n" + daemon.output());
            }
            Thread.sleep(10);
        }
    }

    private static String table(DaemonProcess daemon) {
        Table t = new Table("MAC", "PORT", "KIND");
        daemon.fdb().stream().filter(r -> !r.kind().equals("local")).forEach(r -> t.row(r.mac(), r.port(), r.kind()));
        return t.toString().indent(4).stripTrailing();
    }

    private static void printStatus(Status s) {
        for (Status.BridgeStatus b : s.bridges()) {
            Table t = new Table("PORT", "HOOK", "FAST", "SLOW", "NOTE");
            for (Status.PortStatus p : b.ports()) {
                t.row(p.name(), p.hook(), p.fastPackets(), p.slowPackets(), p.reason());
            }
            say("");
            say("  xbridge status (bridge " + b.name() + "):");
            say(t.toString().indent(4).stripTrailing());
            say("");
        }
    }

    private static void say(String s) {
        System.out.println(s);
        System.out.flush();
    }
}
