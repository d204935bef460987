package dev.xbridge.cli;

import dev.xbridge.bpf.BpfProgram;
import dev.xbridge.bpf.LibBpf;
import dev.xbridge.bridge.Acceleration;
import dev.xbridge.bridge.Bridge;
import dev.xbridge.bridge.CacheSize;
import dev.xbridge.bridge.Datapath;
import dev.xbridge.bridge.KernelState;
import dev.xbridge.bridge.Peer;
import dev.xbridge.bridge.Port;
import dev.xbridge.bridge.PortPlan;
import dev.xbridge.bridge.TcRules;
import dev.xbridge.bridge.VethPeers;
import dev.xbridge.netlink.RtNetlink;
import dev.xbridge.sys.Ethtool;
import dev.xbridge.daemon.Privileges;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code xbridge doctor}: can xbridge run here, and if not, what to do. */
@Command(name = "doctor", mixinStandardHelpOptions = true,
        description = "Check kernel, BTF, bpffs, capabilities, libbpf, the JDK and TC; explain each bridge port's hook"
                + " (driver, MTU, the veth peer's offloads); say what to do about each problem.")
final class DoctorCommand implements Callable<Integer> {
    @Option(names = "--json", description = "Print JSON.")
    boolean json;

    /** One check. {@code fix} says what to do when the result is not OK. */
    record Check(String name, Result result, String detail, String fix) {}

    enum Result { OK, WARN, FAIL }

    @Override
    public Integer call() throws Exception {
        List<Check> checks = run();
        if (json) {
            System.out.println(StatusCommand.json().writeValueAsString(checks));
        } else {
            Table t = new Table("CHECK", "RESULT", "DETAIL");
            for (Check c : checks) {
                t.row(c.name(), c.result(), c.detail() + (c.result() == Result.OK ? "" : "; " + c.fix()));
            }
            System.out.print(t);
        }
        return checks.stream().anyMatch(c -> c.result() == Result.FAIL) ? 1 : 0;
    }

    static List<Check> run() {
        List<Check> out = new ArrayList<>();
        out.add(kernel());
        out.add(exists("BTF", Path.of("/sys/kernel/btf/vmlinux"), "kernel BTF at /sys/kernel/btf/vmlinux",
                "a kernel built with CONFIG_DEBUG_INFO_BTF=y is needed (Debian's stock kernels have it)", Result.WARN));
        out.add(bpffs());
        out.add(exists("bridge", Path.of("/sys/module/bridge"), "bridge support",
                "could not confirm bridge support: modprobe bridge", Result.WARN, Path.of("/proc/sys/net/bridge")));
        List<String> missing = Privileges.missingForRun(Privileges.effective());
        out.add(missing.isEmpty()
                ? new Check("capabilities", Result.OK, "CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN present", "")
                : new Check("capabilities", Result.FAIL, "missing " + String.join(", ", missing),
                        "run as root: sudo ./xbridge run"));
        out.add(libbpf());
        int jdk = Runtime.version().feature();
        out.add(jdk >= 25
                ? new Check("jdk", Result.OK, "Java " + Runtime.version(), "")
                : new Check("jdk", Result.FAIL, "Java " + Runtime.version(),
                        "install Temurin 25 and set JAVA_HOME (the FFM API xbridge uses is final in 22+)"));
        out.add(tc());
        if (missing.isEmpty()) {
            out.add(datapath());
        }
        out.add(netfilter());
        if (missing.isEmpty()) {
            out.addAll(ports());
        }
        return out;
    }

    private static Check kernel() {
        String release = read(Path.of("/proc/sys/kernel/osrelease")).trim();
        String[] parts = release.split("[.-]");
        int major = parseInt(parts, 0);
        int minor = parseInt(parts, 1);
        // BPF_LINK_TYPE_XDP (XDP through a bpf_link) arrived in 5.9.
        if (major > 5 || (major == 5 && minor >= 9)) {
            return new Check("kernel", Result.OK, "Linux " + release, "");
        }
        return new Check("kernel", Result.FAIL, "Linux " + release, "xbridge needs Linux 5.9 or later (XDP bpf_link)");
    }

    /** tcx links detach when the daemon dies; clsact filters do not, and the next start removes them. */
    private static Check tc() {
        String release = read(Path.of("/proc/sys/kernel/osrelease")).trim();
        String[] parts = release.split("[.-]");
        int major = parseInt(parts, 0);
        int minor = parseInt(parts, 1);
        if (major > 6 || (major == 6 && minor >= 6)) {
            return new Check("tc", Result.OK, "tcx links (Linux 6.6+): the TC hook detaches when the daemon exits, even on SIGKILL", "");
        }
        return new Check("tc", Result.WARN, "no tcx links before Linux 6.6: the TC hook is a clsact cls_bpf filter",
                "a filter outlives a SIGKILLed daemon, forwarding with a frozen FDB until the next start removes it;"
                        + " stop xbridge with SIGTERM, or restart it at once after a crash");
    }

    /**
     * For each bridge port here: the facts behind the hook xbridge would choose
     * (driver, MTU, the veth peer's offloads and MTU, tc on the port) and the choice itself.
     */
    static List<Check> ports() {
        List<Check> out = new ArrayList<>();
        try (RtNetlink rt = RtNetlink.open(); VethPeers peers = new VethPeers(rt)) {
            KernelState state = KernelState.of(rt.links(), rt.bridgePorts());
            // No datapath is loaded here: a running daemon's programs are recognised by name.
            TcRules.Reader tc = TcRules.reader(rt, DoctorCommand::isXbridgeProgram);
            for (Port port : state.ports()) {
                Bridge bridge = state.bridge(port.bridge()).orElse(null);
                if (bridge == null) {
                    continue;
                }
                Peer peer = port.isVeth() ? peers.probe(port, state) : Peer.missing("not a veth");
                PortPlan plan = tc.read(port).apply(Acceleration.all().plan(bridge, port, peer));
                String hook = plan.hook() == null ? "none" : plan.hook().key();
                String detail = "bridge " + bridge.name() + ", driver " + driver(port) + ", MTU " + port.link().mtu()
                        + "; " + peerFacts(port, peer) + " -> " + hook + " (" + plan.reason() + ")";
                out.add(plan.hook() == null
                        ? new Check("port " + port.name(), Result.WARN, detail, "the kernel bridge keeps this port's frames")
                        : new Check("port " + port.name(), Result.OK, detail, ""));
            }
        } catch (RuntimeException e) {
            out.add(new Check("ports", Result.WARN, "cannot inspect bridge ports: " + Main.message(e),
                    "run doctor as root in the daemon's network namespace"));
        }
        return out;
    }

    private static boolean isXbridgeProgram(int id) {
        try {
            String name = BpfProgram.nameOfId(id);
            return name.equals("xbridge_tc") || name.equals("xbridge_xdp");
        } catch (RuntimeException e) {
            return false;
        }
    }

    private static String driver(Port port) {
        try {
            return Ethtool.driver(port.name());
        } catch (RuntimeException e) {
            return port.link().kind().isEmpty() ? "unknown" : port.link().kind();
        }
    }

    private static String peerFacts(Port port, Peer peer) {
        if (!port.isVeth()) {
            return "no veth peer";
        }
        if (!peer.found()) {
            return "veth peer not reachable (" + peer.problem() + ")";
        }
        return "peer " + peer.where() + ": tx-checksumming " + onOff(peer.txChecksum()) + ", TSO " + onOff(peer.tso())
                + ", GSO " + onOff(peer.gso()) + ", " + Peer.TX_VLAN_INSERT + " " + onOff(peer.txVlanInsert())
                + ", " + Peer.TX_STAG_INSERT + " " + onOff(peer.txStagInsert()) + ", GRO " + onOff(peer.gro())
                + ", MTU " + peer.mtu() + " (native XDP on veth needs all of these but GRO off, and MTU <= "
                + Peer.VETH_XDP_MAX_MTU + ")";
    }

    private static String onOff(boolean on) {
        return on ? "on" : "off";
    }

    private static Check bpffs() {
        String mounts = read(Path.of("/proc/mounts"));
        for (String line : mounts.split("\n")) {
            String[] f = line.split(" ");
            if (f.length > 2 && f[1].equals("/sys/fs/bpf") && f[2].equals("bpf")) {
                return new Check("bpffs", Result.OK, "mounted at /sys/fs/bpf", "");
            }
        }
        return new Check("bpffs", Result.WARN, "not mounted at /sys/fs/bpf",
                "mount it for pinning: mount -t bpf bpf /sys/fs/bpf");
    }

    private static Check libbpf() {
        try {
            return new Check("libbpf", Result.OK, "libbpf " + LibBpf.version(), "");
        } catch (Throwable t) {
            return new Check("libbpf", Result.FAIL, "cannot load libbpf.so.1: " + Main.message(t),
                    "install it: apt-get install libbpf1");
        }
    }

    private static Check datapath() {
        try (Datapath d = Datapath.load(Datapath.DEFAULT_FDB_MAX, false)) {
            long kernel = d.kernelMemory();
            int cpus = LibBpf.possibleCpus();
            String caches = d.caches().on()
                    ? "per-CPU caches " + d.caches() + " x " + cpus + " possible CPUs (run --cache-memory, default "
                            + CacheSize.bytes(CacheSize.DEFAULT_BUDGET) + ")"
                    : "per-CPU caches off (loads may be reordered on " + System.getProperty("os.arch") + ")";
            return new Check("datapath", Result.OK, "the verifier accepts the XDP and TC programs ("
                    + Datapath.OBJECT_RESOURCE + "); with the defaults their maps take "
                    + (kernel < 0 ? "an amount of kernel memory this kernel does not report" : CacheSize.bytes(kernel)
                            + " of kernel memory")
                    + "; " + caches, "");
        } catch (Throwable t) {
            return new Check("datapath", Result.FAIL, "load failed: " + Main.message(t),
                    "report it with the kernel version; xbridge cannot run on this kernel");
        }
    }

    /**
     * Netfilter as the daemon judges it (Netfilter.reason): bridges whose
     * forwarded frames netfilter would see are left to the kernel.
     */
    private static Check netfilter() {
        dev.xbridge.bridge.Netfilter.Snapshot s = dev.xbridge.bridge.Netfilter.read();
        java.util.Optional<String> why = dev.xbridge.bridge.Netfilter.reason(s, null);
        String sysctls = (s.callIptables() ? "iptables " : "") + (s.callIp6tables() ? "ip6tables " : "")
                + (s.callArptables() ? "arptables" : "");
        String calls = sysctls.isBlank() ? "bridge-nf-call-* off" : "bridge-nf-call on for " + sysctls.trim();
        if (why.isEmpty()) {
            return new Check("netfilter", Result.OK, calls + "; no chain sees bridged frames, so bridges are accelerated", "");
        }
        return new Check("netfilter", Result.WARN, calls + "; " + why.get(),
                "bridges step aside while such chains exist (their rules apply to every frame); to accelerate,"
                        + " turn bridge-nf-call-* off or move the rules off the forward path");
    }

    /** OK when {@code path} or any of {@code alternatives} exists. */
    private static Check exists(String name, Path path, String what, String fix, Result ifMissing, Path... alternatives) {
        boolean ok = Files.exists(path);
        for (Path p : alternatives) {
            ok |= Files.exists(p);
        }
        return ok ? new Check(name, Result.OK, what + " present", "") : new Check(name, ifMissing, what + " missing", fix);
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            return "";
        }
    }

    private static int parseInt(String[] parts, int i) {
        try {
            return Integer.parseInt(parts[i]);
        } catch (RuntimeException e) {
            return 0;
        }
    }
}
