package dev.xbridge.netlink;

import static org.assertj.core.api.Assertions.assertThat;

import dev.xbridge.sys.Socket;
import dev.xbridge.testing.Requires;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** RtMonitor against the real kernel: what a bridge mirror has to hear about. */
class RtMonitorLiveTest {
    Netns ns;

    @BeforeEach
    void scenario() {
        Requires.root();
        ns = Netns.create("mon");
        ns.ip("link", "add", "name", "br0", "type", "bridge");
        ns.ip("link", "add", "name", "p1", "type", "veth", "peer", "name", "h1");
        for (String dev : List.of("br0", "p1", "h1")) {
            ns.ip("link", "set", "dev", dev, "up");
        }
    }

    @AfterEach
    void cleanup() {
        if (ns != null) {
            ns.close();
        }
    }

    /** Polls until an event matches, or 3 s pass; returns everything seen. */
    private static <T extends RtEvent> T await(RtMonitor mon, List<RtEvent> seen, Class<T> type, Predicate<T> p) {
        long deadline = System.nanoTime() + Duration.ofSeconds(3).toNanos();
        while (System.nanoTime() < deadline) {
            for (int i = 0; i < seen.size(); i++) {
                RtEvent e = seen.get(i);
                if (type.isInstance(e) && p.test(type.cast(e))) {
                    seen.remove(i);
                    return type.cast(e);
                }
            }
            mon.poll(Duration.ofMillis(200), seen::add);
        }
        throw new AssertionError("no matching " + type.getSimpleName() + " within 3 s; saw " + seen);
    }

    private static boolean bridgeLink(Link l, String name) {
        return l.family() == Socket.AF_BRIDGE && l.name().equals(name);
    }

    @Test
    void seesPortJoinStateAndFlagChangesFdbAndLeave() {
        ns.thread().run(() -> {
            try (RtMonitor mon = RtMonitor.open()) {
                assertThat(mon.fd()).isPositive();
                assertThat(mon.receiveBufferSize()).isGreaterThanOrEqualTo(RtMonitor.DEFAULT_RECEIVE_BUFFER);
                List<RtEvent> seen = new ArrayList<>();

                ns.ip("link", "set", "dev", "p1", "master", "br0");
                Link joined = await(mon, seen, RtEvent.LinkChanged.class, e -> bridgeLink(e.link(), "p1")).link();
                assertThat(joined.port()).isNotNull();
                assertThat(joined.master()).isPositive();
                // the generic AF_UNSPEC message also announces the new master
                await(mon, seen, RtEvent.LinkChanged.class, e -> e.link().family() == Socket.AF_UNSPEC
                        && e.link().name().equals("p1") && e.link().master() == joined.master());

                ns.exec("bridge", "link", "set", "dev", "p1", "state", "1");
                await(mon, seen, RtEvent.LinkChanged.class, e -> bridgeLink(e.link(), "p1")
                        && e.link().port().state() == PortState.LISTENING);

                ns.exec("bridge", "link", "set", "dev", "p1", "learning", "off", "hairpin", "on");
                await(mon, seen, RtEvent.LinkChanged.class, e -> bridgeLink(e.link(), "p1")
                        && !e.link().port().learning() && e.link().port().hairpin());

                ns.exec("bridge", "fdb", "add", "02:00:00:00:00:0a", "dev", "p1", "master", "static");
                FdbEntry added = await(mon, seen, RtEvent.FdbChanged.class,
                        e -> e.e().mac().equals(MacAddress.parse("02:00:00:00:00:0a"))).e();
                assertThat(added.isStatic()).isTrue();
                assertThat(added.ifindex()).isEqualTo(joined.index());
                assertThat(added.master()).isEqualTo(joined.master());

                ns.exec("bridge", "fdb", "del", "02:00:00:00:00:0a", "dev", "p1", "master");
                await(mon, seen, RtEvent.FdbDeleted.class, e -> e.e().mac().equals(MacAddress.parse("02:00:00:00:00:0a")));

                // an ARP neighbour (AF_INET) is not an FDB event
                ns.ip("addr", "add", "198.18.0.1/24", "dev", "br0");
                ns.ip("neigh", "add", "198.18.0.2", "lladdr", "02:00:00:00:00:99", "dev", "br0");
                mon.poll(Duration.ofMillis(300), seen::add);
                assertThat(seen).noneMatch(e -> e instanceof RtEvent.FdbChanged c
                        && c.e().mac().equals(MacAddress.parse("02:00:00:00:00:99")));

                ns.ip("link", "set", "dev", "p1", "nomaster");
                Link left = await(mon, seen, RtEvent.LinkDeleted.class, e -> bridgeLink(e.link(), "p1")).link();
                assertThat(left.index()).isEqualTo(joined.index());
                RtNetlink nl = RtNetlink.open();
                try {
                    assertThat(nl.link(left.index())).as("the device outlives its AF_BRIDGE RTM_DELLINK").isPresent();
                } finally {
                    nl.close();
                }

                ns.ip("link", "del", "dev", "p1");
                await(mon, seen, RtEvent.LinkDeleted.class, e -> e.link().family() == Socket.AF_UNSPEC
                        && e.link().name().equals("p1"));
            }
        });
    }

    @Test
    void tinyReceiveBufferReportsOverrun() throws Exception {
        ns.ip("link", "set", "dev", "p1", "master", "br0");
        Path batch = Files.createTempFile("xbt-fdb", ".batch");
        try {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < 500; i++) {
                sb.append(String.format("fdb add 02:00:00:00:%02x:%02x dev p1 master static%n", i >> 8, i & 0xff));
            }
            Files.writeString(batch, sb.toString());
            ns.thread().run(() -> {
                try (RtMonitor mon = RtMonitor.open(1024)) {
                    ns.exec("bridge", "-batch", batch.toString());
                    List<RtEvent> seen = new ArrayList<>();
                    mon.poll(Duration.ofSeconds(1), seen::add);
                    assertThat(seen).hasAtLeastOneElementOfType(RtEvent.Overrun.class);
                    assertThat(seen.stream().filter(e -> e instanceof RtEvent.FdbChanged).count()).isLessThan(500);
                    /*
                     * After the overrun the socket works again. In a buffer this small one
                     * event can still be lost to another overrun when another lands at the
                     * same moment (in one CI run br0's delayed operstate change did), so each
                     * try adds a new entry, an overrun means another try, and one of them
                     * must be heard; silence still fails (await).
                     */
                    boolean heard = false;
                    for (int attempt = 0; attempt < 5 && !heard; attempt++) {
                        MacAddress mac = MacAddress.parse(String.format("02:00:00:01:00:%02x", attempt));
                        seen.clear();
                        ns.exec("bridge", "fdb", "add", mac.toString(), "dev", "p1", "master", "static");
                        heard = await(mon, seen, RtEvent.class, e -> e instanceof RtEvent.Overrun
                                || e instanceof RtEvent.FdbChanged f && f.e().mac().equals(mac)) instanceof RtEvent.FdbChanged;
                    }
                    assertThat(heard).as("an FDB event heard after the overrun, in 5 tries").isTrue();
                }
            });
        } finally {
            Files.deleteIfExists(batch);
        }
    }

    @Test
    void pollTimesOutQuietly() {
        ns.thread().run(() -> {
            try (RtMonitor mon = RtMonitor.open()) {
                long t0 = System.nanoTime();
                int n = mon.poll(Duration.ofMillis(200), e -> {
                    throw new AssertionError("unexpected " + e);
                });
                assertThat(n).isZero();
                assertThat(Duration.ofNanos(System.nanoTime() - t0)).isGreaterThanOrEqualTo(Duration.ofMillis(150));
            }
        });
    }
}
