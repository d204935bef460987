package dev.xbridge.netlink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.xbridge.sys.Errno;
import dev.xbridge.sys.Ethtool;
import dev.xbridge.sys.Ethtool.Feature;
import dev.xbridge.sys.Ethtool.NamedFeature;
import dev.xbridge.sys.Libc;
import dev.xbridge.sys.SysException;
import dev.xbridge.testing.Requires;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@link Ethtool} (in dev.xbridge.sys) on a veth pair in a fresh namespace, checked against {@code ethtool -k}. */
class EthtoolLiveTest {
    Netns ns;

    @BeforeEach
    void scenario() {
        Requires.root();
        ns = Netns.create("eth");
        ns.ip("link", "add", "name", "v1", "type", "veth", "peer", "name", "v2");
    }

    @AfterEach
    void cleanup() {
        if (ns != null) {
            ns.close();
        }
    }

    /**
     * What {@code ethtool -k DEV} says about one feature. For TSO the line that counts is
     * tx-tcp-segmentation: on 6.18 the "tcp-segmentation-offload" group also holds
     * tx-tcp-accecn-segmentation, which the legacy ETHTOOL_STSO mask (NETIF_F_ALL_TSO) does not cover.
     */
    private boolean ethtoolSays(String dev, Feature f) {
        return ethtoolLine(dev, f == Feature.TSO ? "\ttx-tcp-segmentation" : f.ethtoolName());
    }

    private boolean ethtoolLine(String dev, String line) {
        String out = ns.exec("ethtool", "-k", dev);
        Matcher m = Pattern.compile("(?m)^" + line + ": (on|off)").matcher(out);
        assertThat(m.find()).as(line + " in ethtool -k output").isTrue();
        return m.group(1).equals("on");
    }

    @Test
    void legacyTsoSwitchLeavesAccEcnSegmentationAlone() {
        Requires.that(ns.exec("ethtool", "-k", "v1").contains("tx-tcp-accecn-segmentation"),
                "kernel with tx-tcp-accecn-segmentation (6.18+)");
        ns.thread().run(() -> Ethtool.set("v1", Feature.TSO, false));
        assertThat(ethtoolLine("v1", "\\ttx-tcp6-segmentation")).isFalse();
        assertThat(ethtoolLine("v1", "\\ttx-tcp-accecn-segmentation")).isTrue();
    }

    @Test
    void readsWhatEthtoolShows() {
        ns.thread().run(() -> {
            assertThat(Ethtool.driver("v1")).isEqualTo("veth");
            for (Feature f : Feature.values()) {
                assertThat(Ethtool.get("v1", f)).as(f.name()).isEqualTo(ethtoolSays("v1", f));
            }
        });
    }

    @Test
    void switchesEachOffloadBothWays() {
        ns.thread().run(() -> {
            // from the most dependent to the least, so the kernel's feature fix-ups do not undo a step
            for (Feature f : new Feature[] {Feature.GRO, Feature.GSO, Feature.TSO, Feature.SG, Feature.TX_CHECKSUM}) {
                Ethtool.set("v1", f, false);
                assertThat(Ethtool.get("v1", f)).as(f + " off").isFalse();
                assertThat(ethtoolSays("v1", f)).as(f + " off in ethtool -k").isFalse();
            }
            for (Feature f : new Feature[] {Feature.TX_CHECKSUM, Feature.SG, Feature.TSO, Feature.GSO, Feature.GRO}) {
                Ethtool.set("v1", f, true);
                assertThat(Ethtool.get("v1", f)).as(f + " on").isTrue();
                assertThat(ethtoolSays("v1", f)).as(f + " on in ethtool -k").isTrue();
            }
            // and the other direction: ethtool -K, read back through the ioctl
            ns.exec("ethtool", "-K", "v2", "tso", "off", "gro", "on");
            assertThat(Ethtool.get("v2", Feature.TSO)).isFalse();
            assertThat(Ethtool.get("v2", Feature.GRO)).isTrue();
        });
    }

    /**
     * ethtool prints a few kernel features under its legacy names (ethtool's off_flag_def
     * table); every other feature line carries the kernel's own name (ETH_SS_FEATURES).
     */
    private static final Map<String, String> ETHTOOL_ALIASES = Map.of(
            "rx-checksum", "rx-checksumming",
            "rx-vlan-hw-parse", "rx-vlan-offload",
            "tx-vlan-hw-insert", "tx-vlan-offload",
            "rx-hashing", "receive-hashing",
            "rx-lro", "large-receive-offload",
            "rx-gro", "generic-receive-offload",
            "rx-ntuple-filter", "ntuple-filters",
            "tx-generic-segmentation", "generic-segmentation-offload");

    /** Every feature line of {@code ethtool -k DEV}: name to "on" / "off" / "off [fixed]" and so on. */
    private Map<String, String> ethtoolFeatures(String dev) {
        Map<String, String> out = new HashMap<>();
        Matcher m = Pattern.compile("(?m)^\\t?([a-z0-9_-]+): (on|off)( \\[fixed\\])?").matcher(ns.exec("ethtool", "-k", dev));
        while (m.find()) {
            out.put(m.group(1), m.group(2) + (m.group(3) == null ? "" : " [fixed]"));
        }
        return out;
    }

    @Test
    void readsNamedFeaturesAsEthtoolShows() {
        ns.exec("ethtool", "-K", "v1", "txvlan", "off", "tx-vlan-stag-hw-insert", "on", "tso", "off");
        Map<String, NamedFeature> mine = ns.thread().call(() -> Ethtool.features("v1"));
        Map<String, String> theirs = ethtoolFeatures("v1");
        int compared = 0;
        for (NamedFeature f : mine.values()) {
            String line = theirs.get(ETHTOOL_ALIASES.getOrDefault(f.name(), f.name()));
            if (line == null) {
                continue; // one of ethtool's groups (tx-checksumming...) lists it under another name
            }
            assertThat(line).as(f.name()).isEqualTo((f.active() ? "on" : "off") + (f.changeable() ? "" : " [fixed]"));
            compared++;
        }
        assertThat(compared).as("features compared with ethtool -k").isGreaterThan(40);
        assertThat(mine.get("tx-vlan-hw-insert")).isEqualTo(new NamedFeature("tx-vlan-hw-insert", false, true));
        assertThat(mine.get("tx-vlan-stag-hw-insert")).isEqualTo(new NamedFeature("tx-vlan-stag-hw-insert", true, true));
        assertThat(mine.get("tx-tcp-segmentation").active()).isFalse();
        assertThat(mine.get("tx-checksum-ipv4")).isEqualTo(new NamedFeature("tx-checksum-ipv4", false, false));
        // veth's defaults on the other end, which nobody touched (VETH_FEATURES in drivers/net/veth.c)
        Map<String, NamedFeature> v2 = ns.thread().call(() -> Ethtool.features("v2"));
        assertThat(v2.get("tx-vlan-hw-insert").active()).isTrue();
        assertThat(v2.get("tx-vlan-stag-hw-insert").active()).isTrue();
    }

    @Test
    void switchesNamedFeaturesBothWays() {
        ns.thread().run(() -> {
            for (String name : List.of("tx-vlan-hw-insert", "tx-vlan-stag-hw-insert", "rx-gro-list")) {
                boolean was = Ethtool.features("v1").get(name).active();
                Ethtool.set("v1", name, !was);
                assertThat(Ethtool.features("v1").get(name).active()).as(name).isEqualTo(!was);
                assertThat(ethtoolFeatures("v1").get(ETHTOOL_ALIASES.getOrDefault(name, name)))
                        .as(name + " in ethtool -k").isEqualTo(was ? "off" : "on");
                Ethtool.set("v1", name, was);
                assertThat(ethtoolFeatures("v1").get(ETHTOOL_ALIASES.getOrDefault(name, name))).isEqualTo(was ? "on" : "off");
            }
            // and the other direction: ethtool -K by name, read back through the ioctl
            ns.exec("ethtool", "-K", "v2", "tx-vlan-hw-insert", "off");
            assertThat(Ethtool.features("v2").get("tx-vlan-hw-insert").active()).isFalse();
            assertThat(Ethtool.features("v2").get("tx-vlan-stag-hw-insert").active()).isTrue();
        });
    }

    @Test
    void namedFeatureErrorsSayWhat() {
        ns.thread().run(() -> {
            assertThatThrownBy(() -> Ethtool.set("v1", "no-such-feature", false))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no-such-feature");
            assertThatThrownBy(() -> Ethtool.set("v1", "tx-checksum-ipv4", true))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("fixed off");
            assertThatThrownBy(() -> Ethtool.features("nosuchdev0"))
                    .isInstanceOfSatisfying(SysException.class, e -> assertThat(e.errno()).isEqualTo(Errno.ENODEV));
        });
    }

    @Test
    void socketFromAnotherNamespaceIsReused() {
        int fd = ns.thread().call(Ethtool::openSocket);
        try {
            // this thread is in the root namespace, which has no v1: the socket decides
            assertThat(Ethtool.driver(fd, "v1")).isEqualTo("veth");
            Ethtool.set(fd, "v1", Feature.TSO, false);
            assertThat(ethtoolSays("v1", Feature.TSO)).isFalse();
            Ethtool.set(fd, "v1", "tx-vlan-stag-hw-insert", false);
            assertThat(Ethtool.active(fd, "v1", "tx-vlan-stag-hw-insert")).isFalse();
            assertThat(ethtoolLine("v1", "tx-vlan-stag-hw-insert")).isFalse();
            assertThatThrownBy(() -> Ethtool.get(fd, "nosuchdev0", Feature.TSO))
                    .isInstanceOfSatisfying(SysException.class, e -> {
                        assertThat(e.errno()).isEqualTo(Errno.ENODEV);
                        assertThat(e).hasMessageContaining("SIOCETHTOOL get TSO on nosuchdev0");
                    });
        } finally {
            Libc.close(fd);
        }
    }
}
