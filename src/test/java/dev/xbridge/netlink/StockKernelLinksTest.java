package dev.xbridge.netlink;

import static org.assertj.core.api.Assertions.assertThat;

import dev.xbridge.sys.Socket;
import dev.xbridge.testing.Requires;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * What our dumps make of devices that the build machine's kernel cannot
 * create but every distribution kernel can: a VLAN-filtering bridge, an
 * 802.1Q sub-interface and a bond as bridge ports. Tagged {@code vm}: it runs
 * in the Debian stock kernel VM (KernelMatrixTest), not on the host.
 */
@Tag("vm")
class StockKernelLinksTest {
    Netns ns;

    @BeforeEach
    void namespace() {
        Requires.root();
        ns = Netns.create("vm");
    }

    @AfterEach
    void cleanup() {
        if (ns != null) {
            ns.close();
        }
    }

    /** {@code ip link add ...} of a device kind the kernel may lack; names the feature if it does. */
    void add(String feature, String... args) {
        List<String> cmd = new java.util.ArrayList<>(List.of("ip", "-n", ns.name, "link", "add"));
        cmd.addAll(List.of(args));
        Netns.Result r = Netns.tryRun(cmd.toArray(String[]::new));
        Requires.that(r.code() == 0, "kernel feature " + feature + ": `" + String.join(" ", cmd) + "` failed: "
                + r.output().strip() + " (run this test in the stock-kernel VM: docs/testing.md)");
    }

    <T> T inNs(Function<RtNetlink, T> work) {
        return ns.thread().call(() -> {
            try (RtNetlink nl = RtNetlink.open()) {
                return work.apply(nl);
            }
        });
    }

    static Link named(List<Link> links, String name) {
        return links.stream().filter(l -> l.name().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no link " + name + " in " + links.stream().map(Link::name).toList()));
    }

    @Test
    void vlanFilteringBridgeIsDumpedWithItsVlanSettings() {
        add("bridge VLAN filtering (CONFIG_BRIDGE_VLAN_FILTERING)",
                "name", "brv", "type", "bridge", "vlan_filtering", "1", "vlan_default_pvid", "10");
        add("bridge", "name", "brp", "type", "bridge");
        add("802.1ad bridge VLAN protocol (CONFIG_BRIDGE_VLAN_FILTERING)",
                "name", "brq", "type", "bridge", "vlan_filtering", "1", "vlan_protocol", "802.1ad");

        List<Link> links = inNs(RtNetlink::links);
        BridgeInfo brv = named(links, "brv").bridge();
        assertThat(brv).as("brv has IFLA_INFO_DATA").isNotNull();
        assertThat(brv.vlanFiltering()).isTrue();
        assertThat(brv.defaultPvid()).isEqualTo(10);
        assertThat(brv.vlanProtocol()).as("ETH_P_8021Q").isEqualTo(0x8100);
        BridgeInfo brp = named(links, "brp").bridge();
        assertThat(brp.vlanFiltering()).isFalse();
        assertThat(brp.defaultPvid()).as("a kernel with VLAN filtering sends the PVID even when filtering is off").isEqualTo(1);
        BridgeInfo brq = named(links, "brq").bridge();
        assertThat(brq.vlanFiltering()).isTrue();
        assertThat(brq.vlanProtocol()).as("ETH_P_8021AD").isEqualTo(0x88a8);

        // The same bit, seen by the kernel's own tool.
        assertThat(ns.ip("-d", "link", "show", "dev", "brv")).contains("vlan_filtering 1");
        assertThat(ns.ip("-d", "link", "show", "dev", "brp")).contains("vlan_filtering 0");
    }

    @Test
    void vlanSubInterfaceAndBondAreBridgePorts() {
        add("bridge VLAN filtering (CONFIG_BRIDGE_VLAN_FILTERING)", "name", "br0", "type", "bridge", "vlan_filtering", "1");
        add("veth", "name", "v0", "type", "veth", "peer", "name", "v1");
        add("802.1Q VLAN devices (CONFIG_VLAN_8021Q)", "link", "v0", "name", "v0.10", "type", "vlan", "id", "10");
        add("bonding (CONFIG_BONDING)", "name", "bond0", "type", "bond", "mode", "active-backup");
        add("veth", "name", "s1", "type", "veth", "peer", "name", "t1");
        add("veth", "name", "s2", "type", "veth", "peer", "name", "t2");
        ns.ip("link", "set", "dev", "s1", "master", "bond0");
        ns.ip("link", "set", "dev", "s2", "master", "bond0");
        ns.ip("link", "set", "dev", "v0.10", "master", "br0");
        ns.ip("link", "set", "dev", "bond0", "master", "br0");
        for (String dev : List.of("v0", "v1", "t1", "t2", "bond0", "v0.10", "br0")) {
            ns.ip("link", "set", "dev", dev, "up");
        }

        List<Link> links = inNs(RtNetlink::links);
        Link br = named(links, "br0");
        Link v0 = named(links, "v0");
        Link vlan = named(links, "v0.10");
        Link bond = named(links, "bond0");
        assertThat(vlan.kind()).isEqualTo("vlan");
        assertThat(vlan.link()).as("IFLA_LINK of the 802.1Q device is its lower device").isEqualTo(v0.index());
        assertThat(vlan.master()).isEqualTo(br.index());
        assertThat(vlan.isBridgePort()).isTrue();
        assertThat(vlan.address()).as("a VLAN device shares its lower device's MAC").isEqualTo(v0.address());
        assertThat(bond.kind()).isEqualTo("bond");
        assertThat(bond.master()).isEqualTo(br.index());
        assertThat(bond.slaveKind()).isEqualTo("bridge");
        assertThat(bond.port()).isNotNull();
        for (String slave : List.of("s1", "s2")) {
            Link s = named(links, slave);
            assertThat(s.master()).as(slave + " is enslaved to the bond").isEqualTo(bond.index());
            assertThat(s.slaveKind()).isEqualTo("bond");
            assertThat(s.isBridgePort()).as(slave + " is a bond slave, not a bridge port").isFalse();
        }

        List<Link> ports = inNs(RtNetlink::bridgePorts);
        assertThat(ports).extracting(Link::name).containsExactlyInAnyOrder("v0.10", "bond0");
        assertThat(ports).allSatisfy(p -> {
            assertThat(p.family()).isEqualTo(Socket.AF_BRIDGE);
            assertThat(p.master()).isEqualTo(br.index());
            assertThat(p.port().state()).as(p.name() + " forwards (no STP)").isEqualTo(PortState.FORWARDING);
        });
    }

    /**
     * The bridge VLAN database: membership, PVID, untagged and per-VLAN STP state (which only
     * RTM_GETVLAN reports), ranges expanded; and RTNLGRP_BRVLAN announces a state change.
     */
    @Test
    void vlanDatabaseIsDumpedPerPortAndItsChangesAreAnnounced() {
        add("bridge VLAN filtering (CONFIG_BRIDGE_VLAN_FILTERING)", "name", "br0", "type", "bridge", "vlan_filtering", "1");
        add("veth", "name", "v0", "type", "veth", "peer", "name", "v1");
        add("veth", "name", "w0", "type", "veth", "peer", "name", "w1");
        ns.ip("link", "set", "dev", "v0", "master", "br0");
        ns.ip("link", "set", "dev", "w0", "master", "br0");
        Netns.run("bridge", "-n", ns.name, "vlan", "add", "dev", "v0", "vid", "20", "pvid", "untagged");
        Netns.run("bridge", "-n", ns.name, "vlan", "add", "dev", "v0", "vid", "30-32");
        Link v0 = named(inNs(RtNetlink::links), "v0");
        Link w0 = named(inNs(RtNetlink::links), "w0");

        List<PortVlan> all = inNs(nl -> nl.vlans(0));
        List<PortVlan> ofV0 = all.stream().filter(v -> v.ifindex() == v0.index()).toList();
        assertThat(ofV0).extracting(PortVlan::vid).containsExactlyInAnyOrder(1, 20, 30, 31, 32);
        PortVlan v20 = ofV0.stream().filter(v -> v.vid() == 20).findFirst().orElseThrow();
        assertThat(v20.pvid()).isTrue();
        assertThat(v20.untagged()).isTrue();
        assertThat(v20.state()).isEqualTo(3);
        PortVlan v1 = ofV0.stream().filter(v -> v.vid() == 1).findFirst().orElseThrow();
        assertThat(v1.pvid()).as("PVID moved to 20").isFalse();
        assertThat(v1.untagged()).isTrue();
        assertThat(ofV0.stream().filter(v -> v.vid() == 31).findFirst().orElseThrow().untagged()).isFalse();
        assertThat(all).as("w0 has the default PVID 1").anySatisfy(v -> {
            assertThat(v.ifindex()).isEqualTo(w0.index());
            assertThat(v.vid()).isEqualTo(1);
            assertThat(v.pvid()).isTrue();
        });
        List<PortVlan> ofW0 = inNs(nl -> nl.vlans(w0.index()));
        assertThat(ofW0).as("a dump of one port").extracting(PortVlan::ifindex)
                .containsOnly(w0.index());

        List<RtEvent> events = ns.thread().<List<RtEvent>>call(() -> {
            try (RtMonitor monitor = RtMonitor.open()) {
                Netns.run("bridge", "-n", ns.name, "vlan", "set", "dev", "v0", "vid", "31", "state", "blocking");
                List<RtEvent> seen = new java.util.ArrayList<>();
                long end = System.nanoTime() + 3_000_000_000L;
                while (System.nanoTime() < end && seen.stream().noneMatch(e -> e instanceof RtEvent.VlansChanged)) {
                    monitor.poll(java.time.Duration.ofMillis(200), seen::add);
                }
                return seen;
            }
        });
        assertThat(events).as("RTNLGRP_BRVLAN").contains(new RtEvent.VlansChanged(v0.index()));
        PortVlan v31 = inNs(nl -> nl.vlans(v0.index())).stream().filter(v -> v.vid() == 31).findFirst().orElseThrow();
        assertThat(v31.state()).as("BR_STATE_BLOCKING").isEqualTo(4);
    }
}
