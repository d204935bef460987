package dev.xbridge.netlink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.xbridge.sys.Errno;
import dev.xbridge.sys.Ethtool;
import dev.xbridge.sys.Ethtool.Feature;
import dev.xbridge.sys.Libc;
import dev.xbridge.sys.SysException;
import dev.xbridge.testing.Requires;
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

    @Test
    void socketFromAnotherNamespaceIsReused() {
        int fd = ns.thread().call(Ethtool::openSocket);
        try {
            // this thread is in the root namespace, which has no v1: the socket decides
            assertThat(Ethtool.driver(fd, "v1")).isEqualTo("veth");
            Ethtool.set(fd, "v1", Feature.TSO, false);
            assertThat(ethtoolSays("v1", Feature.TSO)).isFalse();
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
