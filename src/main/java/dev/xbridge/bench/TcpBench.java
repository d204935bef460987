package dev.xbridge.bench;

import dev.xbridge.daemon.Status;
import dev.xbridge.testbed.BridgeLab;
import dev.xbridge.testbed.DaemonProcess;
import dev.xbridge.testbed.Host;
import dev.xbridge.testbed.Iperf;
import java.util.ArrayList;
import java.util.List;

/**
 * TCP with iperf3 between two hosts with default offloads (tx checksum, TSO, GSO on: a
 * container's veth). Native XDP is not exact there, so the daemon's XDP hook leaves such
 * ports alone; the row says so rather than repeat the kernel's figure.
 */
final class TcpBench {
    private final BenchOptions o;
    private final Progress progress;

    TcpBench(BenchOptions o, Progress progress) {
        this.o = o;
        this.progress = progress;
    }

    List<Report.TcpResult> run() {
        List<Report.TcpResult> out = new ArrayList<>();
        progress.status("TCP: iperf3 with default offloads");
        try (BridgeLab lab = BridgeLab.builder().prefix("xbt").hosts(2).hostOffloads(true).build()) {
            if (!o.bridgeNf()) {
                lab.switchNs().exec("sysctl", "-q", "-w", "net.bridge.bridge-nf-call-iptables=0",
                        "net.bridge.bridge-nf-call-ip6tables=0", "net.bridge.bridge-nf-call-arptables=0");
            }
            Host a = lab.host(1);
            Host b = lab.host(2);
            a.ping(b);
            for (PathKind path : o.paths()) {
                switch (path) {
                    case KERNEL -> out.add(measure(path, a, b, "ok"));
                    case BARE -> out.add(new Report.TcpResult(path.label(),
                            "not applicable: XDP redirect stalls TCP with offloads on (docs/PLATFORM.md)", Summary.of(List.of()), 0));
                    case BARE_TC -> out.add(new Report.TcpResult(path.label(),
                            "not applicable: it forwards by the generator's MACs, one way", Summary.of(List.of()), 0));
                    case XDP, TC -> {
                        if (path == PathKind.TC && o.tcDaemonArgs() == null) {
                            out.add(new Report.TcpResult(path.label(), "not available yet: the daemon has no TC hook option (issue 4)",
                                    Summary.of(List.of()), 0));
                            continue;
                        }
                        List<String> args = new ArrayList<>(List.of("--bridge", lab.bridge()));
                        if (path == PathKind.TC) {
                            args.addAll(Bench.hookArgs(o, path, lab.bridge())); // XDP stays on auto: forcing it would stall TCP
                        }
                        try (DaemonProcess d = DaemonProcess.start(lab.switchNs(), args.toArray(String[]::new))) {
                            String why = hooked(d.status(), a.portName(), path == PathKind.TC ? "tc" : "xdp");
                            out.add(why == null ? measure(path, a, b, "ok") : new Report.TcpResult(path.label(),
                                    "not accelerated: " + why, Summary.of(List.of()), 0));
                        }
                    }
                }
            }
        }
        progress.step(1);
        return out;
    }

    private Report.TcpResult measure(PathKind path, Host a, Host b, String status) {
        List<Double> gbps = new ArrayList<>();
        long retransmits = 0;
        for (int t = 0; t < o.trials(); t++) {
            progress.status("TCP " + path.label() + " trial " + (t + 1) + "/" + o.trials());
            Iperf.Result r = Iperf.tcp(b, a, o.tcpDuration());
            if (!r.ok()) {
                return new Report.TcpResult(path.label(), "failed: " + r.error(), Summary.of(gbps), retransmits);
            }
            gbps.add(r.gigabitsPerSecond());
            retransmits += r.retransmits();
        }
        return new Report.TcpResult(path.label(), status, Summary.of(gbps), retransmits);
    }

    private static String hooked(Status s, String port, String hook) {
        for (Status.BridgeStatus br : s.bridges()) {
            for (Status.PortStatus p : br.ports()) {
                if (p.name().equals(port)) {
                    return p.accelerated() && p.hook().equals(hook) ? null : "port " + port + ": " + p.reason();
                }
            }
        }
        return "port " + port + " not listed";
    }
}
