package dev.xbridge.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.xbridge.bpf.LibBpf;
import dev.xbridge.bridge.CacheSize;
import dev.xbridge.bridge.Datapath;
import dev.xbridge.testbed.BridgeLab;
import dev.xbridge.testbed.Command;
import dev.xbridge.testbed.DaemonProcess;
import dev.xbridge.testbed.EthtoolStats;
import dev.xbridge.testbed.Host;
import dev.xbridge.testing.Requires;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The daemon follows the kernel as ports and bridges come and go, and as the FDB is flushed. */
class LifecycleTest {
    static final ObjectMapper JSON = new ObjectMapper();

    BridgeLab lab;
    DaemonProcess daemon;

    @BeforeEach
    void start() {
        Requires.root();
        // A long ageing_time: aging samples (one per source per tenth of it) stay out of counted windows.
        lab = BridgeLab.builder().prefix("xbt").hosts(2).hostOffloads(false).ageingTime(Duration.ofHours(1)).build();
        daemon = DaemonProcess.start(lab.switchNs());
    }

    @AfterEach
    void stop() {
        if (daemon != null) {
            daemon.close();
        }
        if (lab != null) {
            lab.close();
        }
    }

    static void await(String what, BooleanSupplier condition) {
        await(what, Duration.ofSeconds(10), condition);
    }

    static void await(String what, Duration timeout, BooleanSupplier condition) {
        long end = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > end) {
                throw new AssertionError("timed out waiting for " + what);
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
    }

    List<Status.PortStatus> ports() {
        return daemon.status().bridges().stream().flatMap(b -> b.ports().stream()).toList();
    }

    boolean xdpAttached(String port) {
        try {
            JsonNode link = JSON.readTree(lab.switchNs().ip("-j", "-d", "link", "show", "dev", port).stdout()).path(0);
            return link.has("xdp");
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    boolean mirrored(String mac) {
        return daemon.fdb().stream().anyMatch(r -> r.mac().equals(mac));
    }

    @Test
    void aHostJoiningAtRuntimeIsAcceleratedAndForwardsFast() {
        Host h3 = lab.addHost();
        h3.setOffloads(false);
        await("p3 accelerated", () -> ports().stream().anyMatch(p -> p.name().equals(h3.portName()) && p.accelerated()));
        Host h1 = lab.host(1);
        assertThat(h3.ping(h1).allReceived()).isTrue();
        await("h3 mirrored", () -> mirrored(h3.mac()));
        // The first fast-pathable frame of a new source is its aging sample for the kernel.
        await("h3's first frame fast-pathed", () -> {
            h3.ping(h1, 1, Duration.ofMillis(10));
            return ports().stream().anyMatch(p -> p.name().equals(h3.portName()) && p.fastPackets() > 0);
        });
        long redirects = EthtoolStats.xdpRedirects(lab.switchNs(), h3.portName());
        assertThat(h3.ping(h1, 20, Duration.ofMillis(5)).allReceived()).isTrue();
        assertThat(EthtoolStats.xdpRedirects(lab.switchNs(), h3.portName()) - redirects).isGreaterThanOrEqualTo(20);
    }

    @Test
    void aPortGoingDownStopsForwardingToItAndComesBack() {
        Host h1 = lab.host(1);
        Host h2 = lab.host(2);
        assertThat(h1.ping(h2).allReceived()).isTrue();
        h2.setLinkUp(false);
        await("p2 disabled in status", () -> ports().stream().anyMatch(p -> p.name().equals("p2") && p.state().equals("disabled")));
        await("h2's entries flushed by the kernel and the mirror", () -> !mirrored(h2.mac()));
        h2.setLinkUp(true);
        await("p2 forwarding in status", () -> ports().stream().anyMatch(p -> p.name().equals("p2") && p.state().equals("forwarding")));
        assertThat(h1.ping(h2).allReceived()).isTrue();
        await("h2 mirrored again", () -> mirrored(h2.mac()));
    }

    @Test
    void anFdbFlushEmptiesTheMirror() {
        Host h1 = lab.host(1);
        Host h2 = lab.host(2);
        assertThat(h1.ping(h2).allReceived()).isTrue();
        await("both mirrored", () -> mirrored(h1.mac()) && mirrored(h2.mac()));
        lab.switchNs().exec("bridge", "fdb", "flush", "dev", "br0", "dynamic");
        await("flushed from the mirror", () -> !mirrored(h1.mac()) && !mirrored(h2.mac()));
        assertThat(daemon.fdb()).as("local entries stay").isNotEmpty().allMatch(r -> r.kind().equals("local"));
    }

    @Test
    void deletingTheBridgeDetachesEverythingAndRestoresPeers() {
        Host h1 = lab.host(1);
        assertThat(h1.ns().exec("ethtool", "-k", "eth0").stdout()).contains("generic-receive-offload: on");
        lab.switchNs().ip("link", "del", "dev", lab.bridge());
        await("no bridge in status", () -> daemon.status().bridges().isEmpty());
        assertThat(xdpAttached("p1")).isFalse();
        assertThat(xdpAttached("p2")).isFalse();
        await("GRO restored on h1", () -> h1.ns().exec("ethtool", "-k", "eth0").stdout().contains("generic-receive-offload: off"));
        assertThat(daemon.fdb()).as("the bridge's FDB mirror is gone").isEmpty();
        assertThat(daemon.isAlive()).as("the daemon keeps running for bridges to come").isTrue();
    }

    @Test
    void aPeerMtuTooLargeForXdpGetsTcWithTheReason() {
        Host h2 = lab.host(2);
        // While XDP is attached to p2 the kernel caps eth0's MTU (veth_xdp_set sets peer->max_mtu),
        // so the jumbo MTU is set first and the daemon started after.
        daemon.close();
        h2.ns().ip("link", "set", "dev", "eth0", "mtu", "9000");
        lab.switchNs().ip("link", "set", "dev", "p2", "mtu", "9000");
        daemon = DaemonProcess.start(lab.switchNs());
        Status.PortStatus p2 = ports().stream().filter(p -> p.name().equals("p2")).findFirst().orElseThrow();
        assertThat(p2.hook()).isEqualTo("tc");
        assertThat(p2.reason()).contains("MTU 9000 is above 3506");
        assertThat(xdpAttached("p2")).isFalse();
        assertThat(lab.host(1).ping(h2).allReceived()).as("p1 (XDP) and p2 (TC) forward").isTrue();
    }

    @Test
    void statusAndFdbFindTheDaemonOfTheirNamespaceAndSpeakJson() throws Exception {
        daemon.close();
        daemon = null;
        List<String> run = new ArrayList<>(List.of("ip", "netns", "exec", lab.switchNs().name()));
        run.addAll(DaemonProcess.javaCommand());
        run.addAll(List.of("run", "--cache-memory", "100K"));
        Process p = new ProcessBuilder(run).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        try {
            List<String> status = new ArrayList<>(List.of("ip", "netns", "exec", lab.switchNs().name()));
            status.addAll(DaemonProcess.javaCommand());
            status.addAll(List.of("status", "--json"));
            Command.Result r = null;
            long end = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (System.nanoTime() < end) {
                r = Command.run(Duration.ofSeconds(30), status.toArray(String[]::new));
                if (r.exitCode() == 0) {
                    break;
                }
                Thread.sleep(200);
            }
            assertThat(r.exitCode()).as(r.stderr()).isZero();
            JsonNode json = JSON.readTree(r.stdout());
            assertThat(json.path("bridges").path(0).path("name").asText()).isEqualTo("br0");
            assertThat(json.path("bridges").path(0).path("ports")).hasSize(2);
            assertThat(json.path("bridges").path(0).path("ports").path(0).path("hook").asText()).isEqualTo("xdp");
            CacheSize small = Datapath.cachesFor(100 << 10);
            JsonNode datapath = json.path("datapath");
            assertThat(datapath.path("flowCacheSets").asInt()).as("--cache-memory 100K").isEqualTo(small.flowSets());
            assertThat(datapath.path("fdbCacheSets").asInt()).isEqualTo(small.fdbSets());
            assertThat(datapath.path("possibleCpus").asInt()).isEqualTo(LibBpf.possibleCpus());
            assertThat(datapath.path("cacheBytes").asLong()).isEqualTo(small.bytesPerCpu() * LibBpf.possibleCpus())
                    .isLessThanOrEqualTo(100 << 10);
            assertThat(datapath.path("kernelBytes").asLong()).as("the maps' memlock, the caches' among them")
                    .isGreaterThan(datapath.path("cacheBytes").asLong()).isGreaterThan(1 << 20);

            List<String> human = new ArrayList<>(status.subList(0, status.size() - 1));
            Command.Result table = Command.run(Duration.ofSeconds(30), human.toArray(String[]::new));
            assertThat(table.stdout()).contains("bridge br0").contains("PORT").contains("REASON").contains("p1")
                    .contains("native XDP: peer eth0")
                    .contains(small.on() ? "per-CPU caches " + small.flowSets() + " flow sets and " : "per-CPU caches off");
        } finally {
            p.destroy();
            p.waitFor();
        }
        assertThat(xdpAttached("p1")).as("detached after SIGTERM").isFalse();
    }

    /**
     * When a container's namespace goes, its veth pair goes with it, and the
     * port leaves the bridge. The daemon must not keep the namespace alive by
     * having probed the peer in it (a thread parked there would).
     */
    @Test
    void aHostNamespaceDeletedWhileTheDaemonRunsTakesItsPortWithIt() {
        Host h2 = lab.host(2);
        await("h2's peer probed", () -> ports().stream().anyMatch(p -> p.name().equals("p2") && p.peer() != null));
        dev.xbridge.testbed.Command.runOk("ip", "netns", "del", h2.ns().name());
        await("p2 gone with the namespace", () -> lab.switchNs().tryExec("ip", "link", "show", "dev", "p2").exitCode() != 0);
        await("p2 gone from status", () -> ports().stream().noneMatch(p -> p.name().equals("p2")));
    }

    /**
     * tcpdump on the bridge makes it promiscuous (IFLA_PROMISCUITY, not
     * IFF_PROMISC in the flags), and the kernel then passes every forwarded
     * frame up to the bridge device too: the fast path must step aside so
     * tcpdump sees the bridged traffic, and come back when it stops.
     */
    @Test
    void tcpdumpOnTheBridgeMakesTheFastPathStepAsideAndSeeEverything() throws Exception {
        Host h1 = lab.host(1);
        Host h2 = lab.host(2);
        assertThat(h1.ping(h2).allReceived()).isTrue();
        java.nio.file.Path capture = java.nio.file.Files.createTempFile("xbt-tcpdump", ".txt");
        try {
            Process tcpdump = lab.switchNs().start(capture, "tcpdump", "-l", "-n", "-i", lab.bridge(), "icmp");
            await("the bridge seen as promiscuous", () -> ports().stream().allMatch(
                    p -> p.reason() != null && p.reason().contains("promiscuous")));
            long fast = ports().stream().mapToLong(Status.PortStatus::fastPackets).sum();
            assertThat(h1.ping(h2, 5, Duration.ofMillis(20)).allReceived()).isTrue();
            assertThat(ports().stream().mapToLong(Status.PortStatus::fastPackets).sum())
                    .as("nothing fast-pathed while tcpdump runs").isEqualTo(fast);
            await("tcpdump saw the 10 bridged ICMP frames", () -> {
                try {
                    return java.nio.file.Files.readString(capture).lines().filter(l -> l.contains("ICMP echo")).count() >= 10;
                } catch (java.io.IOException e) {
                    throw new AssertionError(e);
                }
            });
            tcpdump.destroy();
            tcpdump.waitFor();
            await("accelerated again", () -> ports().stream().allMatch(Status.PortStatus::accelerated));
        } finally {
            java.nio.file.Files.deleteIfExists(capture);
        }
    }

    /**
     * A distribution kernel has br_netfilter as a module, loaded when Docker or libvirt start;
     * in the test VM (marked on the kernel command line by scripts/testvm) the test loads it.
     * Never on a host: the module would change every bridge of the machine.
     */
    static void loadBrNetfilterInTestVm() throws java.io.IOException {
        if (java.nio.file.Files.exists(java.nio.file.Path.of("/proc/sys/net/bridge"))) {
            return;
        }
        if (java.nio.file.Files.readString(java.nio.file.Path.of("/proc/cmdline")).contains("xbridge_testvm=1")) {
            dev.xbridge.testbed.Command.runOk("modprobe", "br_netfilter");
        }
    }

    /**
     * br_netfilter passes bridged IPv4 to iptables/nftables here
     * (bridge-nf-call-iptables is 1): a forward chain that drops ICMP must
     * drop the bridged pings with xbridge running too, so the bridge steps
     * aside while the chain exists, and comes back when it goes. The periodic
     * reading runs no nft while nf_tables announces its changes
     * (NFNLGRP_NFTABLES), so only that announcement can make this happen.
     */
    @Test
    void aNetfilterForwardChainMakesTheBridgeStepAsideSoItsRulesApply() throws Exception {
        daemon.close();
        daemon = DaemonProcess.start(lab.switchNs());
        Host h1 = lab.host(1);
        Host h2 = lab.host(2);
        loadBrNetfilterInTestVm();
        assertThat(lab.switchNs().exec("sysctl", "-n", "net.bridge.bridge-nf-call-iptables").stdout().trim()).isEqualTo("1");
        assertThat(h1.ping(h2).allReceived()).isTrue();
        lab.switchNs().exec("nft", "add", "table", "ip", "xbt");
        lab.switchNs().exec("nft", "add", "chain", "ip", "xbt", "bridged", "{ type filter hook forward priority 0; }");
        lab.switchNs().exec("nft", "add", "rule", "ip", "xbt", "bridged", "icmp", "type", "echo-request", "drop");
        await("the bridge steps aside for netfilter", () -> ports().stream().allMatch(
                p -> p.reason() != null && p.reason().contains("br_netfilter")));
        assertThat(h1.ping(h2, 3, Duration.ofMillis(20)).received()).as("the kernel's rule drops them").isZero();
        lab.switchNs().exec("nft", "delete", "table", "ip", "xbt");
        await("accelerated again", () -> ports().stream().allMatch(Status.PortStatus::accelerated));
        assertThat(h1.ping(h2).allReceived()).isTrue();
    }

    /**
     * A veth takes XDP-redirected frames only while its peer runs NAPI (GRO
     * on), which xbridge arranged. When someone turns GRO off in the host
     * later, xbridge must neither drop the host's traffic nor override the
     * setting: the port stops being an XDP redirect target.
     */
    @Test
    void groTurnedOffAtAPeerIsRespectedAndTrafficKeepsFlowing() {
        daemon.close();
        daemon = DaemonProcess.start(lab.switchNs(), "--peer-reprobe-ms", DaemonProcess.NO_REPROBE);
        Host h1 = lab.host(1);
        Host h2 = lab.host(2);
        assertThat(h1.ping(h2).allReceived()).isTrue();
        h2.setGro(false);
        await("the warning in status", () -> ports().stream().anyMatch(
                p -> p.name().equals("p2") && p.reason() != null && p.reason().contains("GRO was turned off")));
        assertThat(h1.ping(h2, 10, Duration.ofMillis(10)).allReceived()).as("through the kernel now").isTrue();
        try {
            Thread.sleep(600); // the notifications of xbridge's own changes have been handled
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        assertThat(h2.ns().exec("ethtool", "-k", "eth0").stdout()).as("left off")
                .contains("generic-receive-offload: off");
    }

    /**
     * A monitor overrun (ENOBUFS) must lead to a full resync, never a silent
     * gap: the daemon is frozen while 2,000 FDB changes happen with a tiny
     * monitor buffer, then must end with exactly the kernel's FDB.
     */
    @Test
    void anOverrunOfTheMonitorLeadsToAFullResync() throws Exception {
        daemon.close();
        daemon = DaemonProcess.start(lab.switchNs(), "--monitor-buffer", "4096");
        long resyncs = daemon.status().resyncs();
        StringBuilder batch = new StringBuilder();
        for (int i = 0; i < 1000; i++) {
            batch.append(String.format("fdb add 02:00:00:00:%02x:%02x dev p1 master static%n", i / 256, i % 256));
        }
        for (int i = 0; i < 1000; i += 2) {
            batch.append(String.format("fdb del 02:00:00:00:%02x:%02x dev p1 master%n", i / 256, i % 256));
        }
        java.nio.file.Path file = java.nio.file.Files.createTempFile("xbt-batch", ".txt");
        try {
            java.nio.file.Files.writeString(file, batch);
            Command.runOk("kill", "-STOP", Long.toString(daemon.pid()));
            try {
                lab.switchNs().exec("bridge", "-batch", file.toString());
            } finally {
                Command.runOk("kill", "-CONT", Long.toString(daemon.pid()));
            }
        } finally {
            java.nio.file.Files.deleteIfExists(file);
        }
        await("a resync after the overrun", () -> daemon.status().resyncs() > resyncs);
        java.util.Set<String> kernel = new java.util.TreeSet<>();
        for (String line : lab.switchNs().exec("bridge", "fdb", "show", "br", "br0").stdout().split("\n")) {
            if (line.contains(" master br0") && !line.contains(" self")) {
                kernel.add(line.split(" ")[0]);
            }
        }
        assertThat(kernel).hasSizeGreaterThan(500);
        // The count goes up when the resync starts; the FDB dump and writes follow.
        await("the mirror to equal the kernel's FDB", () -> {
            java.util.Set<String> m = new java.util.TreeSet<>();
            daemon.fdb().forEach(r -> m.add(r.mac()));
            return m.equals(kernel);
        });
        assertThat(daemon.output()).contains("resyncing everything");
    }

    /**
     * An FDB dump taken while entries go skips as many untouched entries (br_fdb_dump()
     * resumes at an index into the bridge's list). The daemon starts while a thread keeps
     * removing entries from the head of that list, about 1,000 a second from a pool that
     * lasts 20 s; the removals it hears of after its first dump call for a repair, and once
     * they stop the mirror must be exactly the kernel's FDB, with entries written by the
     * repair. (Removing and adding back would not do: an entry added during a dump cancels
     * the shift of one removed.)
     */
    @Test
    void entriesADumpSkippedWhileTheFdbChangedAreRepaired() throws Exception {
        daemon.close();
        daemon = null;
        int keep = 40_000;
        int churn = 20_000; // 60,000 in all: within the FDB map's default 65,536
        addStatic(0xfd, keep + churn); // the churn entries last: at the head of fdb_list
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        long[] changes = {0};
        Thread churner;
        try (var inside = lab.switchNs().enter()) {
            int p1 = Integer.parseInt(lab.switchNs().exec("cat", "/sys/class/net/p1/ifindex").stdout().trim());
            churner = Thread.ofPlatform().start(() -> inside.run(() -> {
                try (var nl = dev.xbridge.netlink.RtNetlink.open()) {
                    for (int i = keep + churn - 1; i >= keep && !stop.get(); i--) {
                        nl.deleteFdb(p1, filler(0xfd, i), 0);
                        if (++changes[0] % 10 == 0) {
                            Thread.sleep(10);
                        }
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }));
            try {
                daemon = DaemonProcess.start(lab.switchNs());
            } finally {
                stop.set(true);
                churner.join();
            }
        }
        assertThat(changes[0]).as("FDB removals while the daemon started").isGreaterThan(100).isLessThan(churn);
        java.util.Set<String> kernel = new java.util.TreeSet<>();
        for (String line : lab.switchNs().exec("bridge", "fdb", "show", "br", "br0").stdout().split("\n")) {
            if (line.contains(" master br0") && !line.contains(" self")) {
                kernel.add(line.split(" ")[0]);
            }
        }
        assertThat(kernel).hasSizeGreaterThan(keep);
        // A repair waits 9 times as long as the dump before it took, at least 1 s.
        try {
            await("an FDB repair that wrote entries", Duration.ofSeconds(60), () -> daemon.status().fdbRepairWrites() > 0);
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + " (" + changes[0] + " FDB removals while the daemon started); the daemon said:\n"
                    + daemon.output().lines().filter(l -> l.contains("FDB") || l.contains("overran")).collect(
                            java.util.stream.Collectors.joining("\n")), e);
        }
        java.util.Set<String> mirror = new java.util.TreeSet<>();
        try {
            await("the mirror to equal the kernel's FDB", () -> {
                mirror.clear();
                daemon.fdb().forEach(r -> mirror.add(r.mac()));
                return mirror.equals(kernel);
            });
        } catch (AssertionError e) {
            java.util.Set<String> missing = new java.util.TreeSet<>(kernel);
            missing.removeAll(mirror);
            java.util.Set<String> extra = new java.util.TreeSet<>(mirror);
            extra.removeAll(kernel);
            throw new AssertionError(e.getMessage() + ": " + missing.size() + " missing " + missing.stream().limit(5).toList()
                    + ", " + extra.size() + " extra " + extra.stream().limit(5).toList() + "; the daemon said:\n"
                    + daemon.output().lines().filter(l -> l.contains("FDB") || l.contains("overran")).collect(
                            java.util.stream.Collectors.joining("\n")), e);
        }
        assertThat(daemon.output()).contains("an FDB repair follows").contains("FDB repair: ");
        daemon.output().lines().filter(l -> l.contains("FDB re") || l.contains("an FDB repair")).forEach(System.out::println);
        Command.Result check = xbridge("check");
        assertThat(check.exitCode()).as("xbridge check: ports and kinds too\n" + check.stdout() + check.stderr()).isZero();
    }

    /**
     * On a bridge that never settles (entries keep going and new ones keep coming), every
     * dump sees removals; the repairs must still stop, after Daemon.MAX_REPAIRS, instead of
     * dumping the FDB forever.
     */
    @Test
    void repairsStopOnABridgeThatNeverSettles() throws Exception {
        daemon.close();
        daemon = null;
        int start = 20_000;
        addStatic(0xfe, start);
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        try (var inside = lab.switchNs().enter()) {
            int p1 = Integer.parseInt(lab.switchNs().exec("cat", "/sys/class/net/p1/ifindex").stdout().trim());
            // A sliding window: the oldest entry goes, a new one comes, about 500 of each a second.
            Thread churner = Thread.ofPlatform().start(() -> inside.run(() -> {
                try (var nl = dev.xbridge.netlink.RtNetlink.open()) {
                    for (int i = 0; !stop.get() && i < 1 << 20; i++) {
                        nl.deleteFdb(p1, filler(0xfe, i), 0);
                        nl.addFdb(p1, filler(0xfe, start + i), 0, true, false);
                        if (i % 5 == 4) {
                            Thread.sleep(10);
                        }
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }));
            try {
                daemon = DaemonProcess.start(lab.switchNs());
                await("three repairs", Duration.ofSeconds(60), () -> daemon.status().fdbRepairs() >= Daemon.MAX_REPAIRS);
                // The last one's dump saw removals too (its events come within ms); no fourth is due.
                Thread.sleep(500);
                var status = daemon.status();
                assertThat(List.of(status.fdbRepairs(), status.fdbRepairInMillis())).as(daemon.output().lines()
                        .filter(l -> l.contains("FDB")).collect(java.util.stream.Collectors.joining("\n")))
                        .isEqualTo(List.of((long) Daemon.MAX_REPAIRS, -1L));
                assertThat(churner.isAlive()).as("the churn went on all along").isTrue();
            } finally {
                stop.set(true);
                churner.join();
            }
        }
        daemon.output().lines().filter(l -> l.contains("FDB re")).forEach(System.out::println);
    }

    /** 02:PREFIX:00:ii:ii:ii, the entries {@link #addStatic} adds. */
    static dev.xbridge.netlink.MacAddress filler(int prefix, int i) {
        return dev.xbridge.netlink.MacAddress.of(new byte[] {2, (byte) prefix, 0, (byte) (i >> 16), (byte) (i >> 8), (byte) i});
    }

    /** Static entries 02:PREFIX:00:ii:ii:ii (i below n) on p1, in one {@code bridge -batch}, in order. */
    void addStatic(int prefix, int n) throws java.io.IOException {
        StringBuilder batch = new StringBuilder();
        for (int i = 0; i < n; i++) {
            batch.append("fdb add ").append(filler(prefix, i)).append(" dev p1 master static\n");
        }
        java.nio.file.Path file = java.nio.file.Files.createTempFile("xbt-batch", ".txt");
        try {
            java.nio.file.Files.writeString(file, batch);
            lab.switchNs().exec("bridge", "-batch", file.toString());
        } finally {
            java.nio.file.Files.deleteIfExists(file);
        }
    }

    /** {@code xbridge ARGS} in the switch namespace, asking this test's daemon. */
    Command.Result xbridge(String... args) {
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", lab.switchNs().name()));
        cmd.addAll(DaemonProcess.javaCommand());
        cmd.addAll(List.of(args));
        cmd.addAll(List.of("--socket", daemon.socket().toString()));
        return Command.run(Duration.ofSeconds(60), cmd.toArray(String[]::new));
    }

    /**
     * {@code xbridge check} finds the mirror in step with the kernel's FDB; then an entry
     * removed from the FDB map behind the daemon's back (bpftool, by the map's id) shows in
     * both of its comparisons, with the kernel's side of it, and it says so in its exit status.
     */
    @Test
    void checkFindsTheMirrorInStepAndAnEntryBpftoolRemoved() throws Exception {
        String mac = "02:00:00:00:ab:01";
        lab.switchNs().exec("bridge", "fdb", "add", mac, "dev", "p1", "master", "static");
        await("the new entry mirrored", () -> mirrored(mac));
        Command.Result ok = xbridge("check", "--json");
        assertThat(ok.exitCode()).as(ok.stdout() + ok.stderr()).isZero();
        JsonNode report = JSON.readTree(ok.stdout());
        assertThat(report.path("inStep").asBoolean()).isTrue();
        JsonNode br0 = report.path("bridges").path(0);
        assertThat(br0.path("bridge").asText()).isEqualTo("br0");
        assertThat(br0.path("kernel").asLong()).isGreaterThan(1).isEqualTo(br0.path("mirror").asLong());

        int prog = JSON.readTree(lab.switchNs().ip("-j", "-d", "link", "show", "dev", "p1").stdout())
                .path(0).path("xdp").path("prog").path("id").asInt();
        assertThat(prog).as("p1's XDP program").isPositive();
        int fdbMap = 0;
        for (JsonNode id : JSON.readTree(Command.runOk("bpftool", "-j", "prog", "show", "id", Integer.toString(prog)).stdout())
                .path("map_ids")) {
            if (JSON.readTree(Command.runOk("bpftool", "-j", "map", "show", "id", id.asText()).stdout()).path("name").asText()
                    .equals("fdb")) {
                fdbMap = id.asInt();
            }
        }
        assertThat(fdbMap).as("the fdb map among the program's maps").isPositive();
        int bridge = Integer.parseInt(lab.switchNs().exec("cat", "/sys/class/net/br0/ifindex").stdout().trim());
        List<String> delete = new ArrayList<>(List.of("bpftool", "map", "delete", "id", Integer.toString(fdbMap), "key", "hex"));
        for (int i = 0; i < 4; i++) { // struct xb_fdb_key: ifindex (host order), vid, mac
            delete.add(String.format("%02x", (bridge >> (8 * i)) & 0xff));
        }
        delete.addAll(List.of("00", "00"));
        delete.addAll(List.of(mac.split(":")));
        Command.runOk(delete.toArray(String[]::new));

        Command.Result json = xbridge("check", "--json", "--settle-ms", "300");
        assertThat(json.exitCode()).as(json.stdout() + json.stderr()).isEqualTo(4);
        report = JSON.readTree(json.stdout());
        assertThat(report.path("inStep").asBoolean()).isFalse();
        assertThat(report.path("differences")).hasSize(1);
        JsonNode d = report.path("differences").path(0);
        assertThat(List.of(d.path("bridge").asText(), d.path("mac").asText(), d.path("kernel").asText(), d.path("mirror").isNull()))
                .isEqualTo(List.of("br0", mac, "p1 static", true));
        Command.Result human = xbridge("check", "--settle-ms", "300");
        assertThat(human.exitCode()).isEqualTo(4);
        assertThat(human.stdout()).contains("1 difference, found twice 300 ms apart").containsPattern(mac + " +- +p1 static +\\(none\\)");
        assertThat(xbridge("check", "--bridge", "nosuch").stderr()).contains("no bridge named 'nosuch'");

        // A map too small for the FDB: check says why entries are missing.
        daemon.close();
        daemon = DaemonProcess.start(lab.switchNs(), "--fdb-max", "2");
        Command.Result full = xbridge("check", "--settle-ms", "100");
        assertThat(full.exitCode()).as(full.stdout() + full.stderr()).isEqualTo(4);
        assertThat(full.stdout()).contains("The daemon's FDB map refused").contains("raise --fdb-max");
    }
}
