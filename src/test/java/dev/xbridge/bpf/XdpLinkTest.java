package dev.xbridge.bpf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.xbridge.sys.Errno;
import dev.xbridge.sys.NetNamespace;
import dev.xbridge.testing.Requires;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** XDP attachment through BPF links, checked with iproute2 from outside the JVM. */
class XdpLinkTest {
    private BpfObject obj;
    private BpfProgram probe;
    private ScratchNet net;
    private NetNamespace ns;
    private Path pinDir;

    @BeforeEach
    void setUp() throws IOException {
        Requires.root();
        obj = Probe.load();
        probe = obj.program("xdp_probe");
        net = ScratchNet.create();
        net.veth("v0", "v1");
        ns = NetNamespace.named(net.ns);
        pinDir = Files.createDirectory(Path.of("/sys/fs/bpf", "xbt-" + Long.toHexString(ThreadLocalRandom.current().nextLong())));
    }

    @AfterEach
    void tearDown() throws IOException {
        try {
            if (pinDir != null) {
                try (var files = Files.list(pinDir)) {
                    for (Path p : files.toList()) {
                        Files.deleteIfExists(p);
                    }
                }
                Files.deleteIfExists(pinDir);
            }
        } finally {
            if (ns != null) {
                ns.close();
            }
            if (net != null) {
                net.close();
            }
            if (obj != null) {
                obj.close();
            }
        }
    }

    @Test
    void nativeAttachShowsInIpLinkUntilTheLinkCloses() {
        int v0 = net.ifindex("v0");
        BpfLink link = ns.call(() -> probe.attachXdp(v0, XdpMode.NATIVE));
        try {
            assertThat(link.id()).isPositive();
            assertThat(link.programId()).isEqualTo(probe.id());
            String shown = net.ip("-d", "link", "show", "dev", "v0");
            assertThat(shown).contains("prog/xdp id " + probe.id());
            assertThat(shown).doesNotContain("xdpgeneric");
            // One XDP program per device and mode: a second link is refused while the first holds it.
            assertThatThrownBy(() -> ns.call(() -> obj.program("xdp_redirect").attachXdp(v0, XdpMode.NATIVE)))
                    .isInstanceOfSatisfying(BpfException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EBUSY))
                    .hasMessageStartingWith("bpf_link_create xdp_redirect xdp ifindex " + v0 + " NATIVE: ");
        } finally {
            link.close();
            link.close();
        }
        assertThat(net.ip("-d", "link", "show", "dev", "v0")).doesNotContain("prog/xdp");
        assertThatThrownBy(link::id).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void genericAttachIsXdpgeneric() {
        int v1 = net.ifindex("v1");
        try (BpfLink _ = ns.call(() -> probe.attachXdp(v1, XdpMode.GENERIC))) {
            assertThat(net.ip("-d", "link", "show", "dev", "v1")).contains("xdpgeneric").contains("id " + probe.id());
        }
        assertThat(net.ip("-d", "link", "show", "dev", "v1")).doesNotContain("xdpgeneric");
    }

    @Test
    void ifindexIsResolvedInTheCallersNamespace() {
        int index = 48611;
        Requires.that(!Files.exists(Path.of("/sys/class/net")) || noRootDeviceHasIndex(index),
                "root namespace already has ifindex " + index);
        net.ip("link", "add", "name", "w0", "index", Integer.toString(index), "type", "veth", "peer", "name", "w1");
        net.ip("link", "set", "w0", "up");
        // From a root-namespace thread the index names no device: bpf_xdp_link_attach
        // answers EINVAL (not ENODEV) when dev_get_by_index finds nothing.
        assertThatThrownBy(() -> probe.attachXdp(index, XdpMode.AUTO))
                .isInstanceOfSatisfying(BpfException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EINVAL))
                .hasMessage("bpf_link_create xdp_probe xdp ifindex " + index + " AUTO: invalid argument (EINVAL)");
        try (BpfLink _ = ns.call(() -> probe.attachXdp(index, XdpMode.AUTO))) {
            assertThat(net.ip("-d", "link", "show", "dev", "w0")).contains("prog/xdp id " + probe.id());
        }
    }

    private static boolean noRootDeviceHasIndex(int index) {
        try (var devices = Files.list(Path.of("/sys/class/net"))) {
            return devices.noneMatch(d -> {
                try {
                    return Files.readString(d.resolve("ifindex")).strip().equals(Integer.toString(index));
                } catch (IOException e) {
                    return false;
                }
            });
        } catch (IOException e) {
            return true;
        }
    }

    @Test
    void aPinnedLinkOutlivesItsFdUntilUnpinned() {
        int v0 = net.ifindex("v0");
        Path pin = pinDir.resolve("v0-xdp");
        int linkId;
        try (BpfLink link = ns.call(() -> probe.attachXdp(v0, XdpMode.AUTO))) {
            linkId = link.id();
            link.pin(pin);
        }
        assertThat(net.ip("-d", "link", "show", "dev", "v0")).contains("prog/xdp id " + probe.id());
        try (BpfLink again = BpfLink.openPinned(pin)) {
            assertThat(again.id()).isEqualTo(linkId);
            assertThat(again.programId()).isEqualTo(probe.id());
            assertThatThrownBy(() -> BpfMap.openPinned(pin)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("link, not a map");
            again.unpin();
            assertThat(pin).doesNotExist();
            // Still attached: this fd is the last reference.
            assertThat(net.ip("-d", "link", "show", "dev", "v0")).contains("prog/xdp");
        }
        assertThat(net.ip("-d", "link", "show", "dev", "v0")).doesNotContain("prog/xdp");
    }
}
