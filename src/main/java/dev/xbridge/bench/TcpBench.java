package dev.xbridge.bench;

import dev.xbridge.daemon.Status;
import dev.xbridge.testbed.BridgeLab;
import dev.xbridge.testbed.DaemonProcess;
import dev.xbridge.testbed.Host;
import dev.xbridge.testbed.Iperf;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * TCP with iperf3 between two hosts with default offloads (tx checksum, TSO, GSO on: a
 * container's veth). Native XDP is not exact there, so the daemon's XDP hook leaves such
 * ports alone; the row says so rather than repeat the kernel's figure. Retransmits are
 * summed over the trials; on veth they follow reordering, not loss (fast retransmits after
 * SACK reordering: the sender's segments go through the per-CPU backlog of whichever CPU it
 * runs on), with or without xbridge.
 */
final class TcpBench {
    private final BenchOptions o;
    private final Progress progress;

    TcpBench(BenchOptions o, Progress progress) {
        this.o = o;
        this.progress = progress;
    }

    /**
     * One iperf3 run per path and round, the paths in turn (forwards, then backwards in the
     * next round), as the data-path trials run: the host's speed drifts over seconds, and
     * rounds spread every path over the same span.
     */
    List<Report.TcpResult> run() {
        progress.status("TCP: iperf3 with default offloads");
        Map<PathKind, String> status = new LinkedHashMap<>();
        Map<PathKind, List<Double>> gbps = new LinkedHashMap<>();
        Map<PathKind, Long> retransmits = new LinkedHashMap<>();
        for (PathKind path : o.paths()) {
            status.put(path, switch (path) {
                case KERNEL, XDP -> "ok";
                case TC -> o.tcDaemonArgs() == null ? "not available yet: the daemon has no TC hook option (issue 4)" : "ok";
                case BARE -> "not applicable: XDP redirect stalls TCP with offloads on (docs/PLATFORM.md)";
                case BARE_TC -> "not applicable: it forwards by the generator's MACs, one way";
            });
            gbps.put(path, new ArrayList<>());
            retransmits.put(path, 0L);
        }
        try (BridgeLab lab = BridgeLab.builder().prefix("xbt").hosts(2).hostOffloads(true).build()) {
            if (!o.bridgeNf()) {
                lab.switchNs().exec("sysctl", "-q", "-w", "net.bridge.bridge-nf-call-iptables=0",
                        "net.bridge.bridge-nf-call-ip6tables=0", "net.bridge.bridge-nf-call-arptables=0");
            }
            Host a = lab.host(1);
            Host b = lab.host(2);
            a.ping(b);
            for (int round = 0; round < o.trials(); round++) {
                List<PathKind> order = new ArrayList<>(o.paths());
                if (round % 2 == 1) {
                    Collections.reverse(order);
                }
                for (PathKind path : order) {
                    if (!status.get(path).equals("ok")) {
                        continue;
                    }
                    progress.status("TCP " + path.label() + " trial " + (round + 1) + "/" + o.trials());
                    DaemonProcess d = null;
                    try {
                        if (path != PathKind.KERNEL) {
                            List<String> args = new ArrayList<>(List.of("--bridge", lab.bridge()));
                            if (path == PathKind.TC) {
                                args.addAll(Bench.hookArgs(o, path, lab.bridge())); // XDP stays on auto: forcing it would stall TCP
                            }
                            d = DaemonProcess.start(lab.switchNs(), args.toArray(String[]::new));
                            String why = hooked(d.status(), a.portName(), path == PathKind.TC ? "tc" : "xdp");
                            if (why != null) {
                                status.put(path, "not accelerated: " + why);
                                continue;
                            }
                        }
                        Iperf.Result r = Iperf.tcp(b, a, o.tcpDuration());
                        if (!r.ok()) {
                            status.put(path, "failed: " + r.error());
                            continue;
                        }
                        gbps.get(path).add(r.gigabitsPerSecond());
                        retransmits.merge(path, r.retransmits(), Long::sum);
                    } finally {
                        if (d != null) {
                            d.close();
                        }
                    }
                }
            }
        }
        progress.step(1);
        List<Report.TcpResult> out = new ArrayList<>();
        for (PathKind path : o.paths()) {
            out.add(new Report.TcpResult(path.label(), status.get(path), Summary.of(gbps.get(path)), retransmits.get(path)));
        }
        return out;
    }

    private static String hooked(Status s, String port, String hook) {
        Status.PortStatus p = s.port(port).orElse(null);
        if (p == null) {
            return "port " + port + " not listed";
        }
        return p.accelerated() && p.hook().equals(hook) ? null : "port " + port + ": " + p.reason();
    }
}
