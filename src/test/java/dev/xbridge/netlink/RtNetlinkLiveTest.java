package dev.xbridge.netlink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.xbridge.sys.Errno;
import dev.xbridge.sys.Libc;
import dev.xbridge.sys.Socket;
import dev.xbridge.testing.Requires;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * RtNetlink against the real kernel, in a fresh namespace per test:
 * br0 (ageing_time 1234) with ports p1 (peer h1) and p2 (peer h2), plus a lone veth h9/h8.
 */
class RtNetlinkLiveTest {
    static final MacAddress A = MacAddress.parse("02:00:00:00:00:0a");
    static final MacAddress B = MacAddress.parse("02:00:00:00:00:0b");

    Netns ns;

    @BeforeEach
    void scenario() {
        Requires.root();
        ns = Netns.create("nl");
        ns.ip("link", "add", "name", "br0", "address", "02:00:00:00:00:b0", "type", "bridge", "ageing_time", "1234");
        ns.ip("link", "add", "name", "p1", "address", "02:00:00:00:00:01", "type", "veth", "peer", "name", "h1");
        ns.ip("link", "add", "name", "p2", "address", "02:00:00:00:00:02", "type", "veth", "peer", "name", "h2");
        ns.ip("link", "add", "name", "h9", "type", "veth", "peer", "name", "h8");
        for (String dev : List.of("br0", "p1", "h1", "p2", "h2")) {
            ns.ip("link", "set", "dev", dev, "up");
        }
        ns.ip("link", "set", "dev", "p1", "master", "br0");
        ns.ip("link", "set", "dev", "p2", "master", "br0");
        ns.exec("bridge", "link", "set", "dev", "p2", "learning", "off", "isolated", "on");
    }

    @AfterEach
    void cleanup() {
        if (ns != null) {
            ns.close();
        }
    }

    private <T> T inNs(java.util.function.Function<RtNetlink, T> work) {
        return ns.thread().call(() -> {
            try (RtNetlink nl = RtNetlink.open()) {
                return work.apply(nl);
            }
        });
    }

    private int ifindex(String dev) {
        return Integer.parseInt(ns.exec("cat", "/sys/class/net/" + dev + "/ifindex").trim());
    }

    @Test
    void dumpsMatchTheScenario() {
        List<Link> links = inNs(RtNetlink::links);
        assertThat(links).extracting(Link::name).containsExactlyInAnyOrder("lo", "br0", "p1", "h1", "p2", "h2", "h9", "h8");
        Link br = links.stream().filter(l -> l.name().equals("br0")).findFirst().orElseThrow();
        assertThat(br.isBridge()).isTrue();
        assertThat(br.bridge().ageingTimeCentis()).isEqualTo(1234);
        assertThat(br.address()).isEqualTo(MacAddress.parse("02:00:00:00:00:b0"));
        Link p2 = links.stream().filter(l -> l.name().equals("p2")).findFirst().orElseThrow();
        assertThat(p2.kind()).isEqualTo("veth");
        assertThat(p2.master()).isEqualTo(br.index());
        assertThat(p2.port().learning()).isFalse();
        assertThat(p2.port().isolated()).isTrue();
        assertThat(p2.link()).isEqualTo(ifindex("h2"));
        assertThat(links.stream().filter(l -> l.name().equals("h9")).findFirst().orElseThrow().isBridgePort()).isFalse();

        List<Link> ports = inNs(RtNetlink::bridgePorts);
        assertThat(ports).extracting(Link::name).containsExactlyInAnyOrder("p1", "p2");
        assertThat(ports).allSatisfy(l -> {
            assertThat(l.family()).isEqualTo(Socket.AF_BRIDGE);
            assertThat(l.master()).isEqualTo(br.index());
            assertThat(l.port().state()).isEqualTo(PortState.FORWARDING);
        });

        int p1 = ifindex("p1");
        Optional<Link> byName = inNs(nl -> nl.link("p1"));
        Optional<Link> byIndex = inNs(nl -> nl.link(p1));
        Optional<Link> missing = inNs(nl -> nl.link("nosuchdev"));
        Optional<Link> missingIndex = inNs(nl -> nl.link(99999));
        assertThat(byName.orElseThrow().index()).isEqualTo(p1);
        assertThat(byIndex.orElseThrow().name()).isEqualTo("p1");
        assertThat(missing).isEmpty();
        assertThat(missingIndex).isEmpty();
    }

    @Test
    void fdbAddDeleteIsVisibleToTheBridgeTool() {
        int p1 = ifindex("p1");
        int br = ifindex("br0");
        inNs(nl -> {
            nl.addFdb(p1, A, 0, true, false);
            nl.addFdb(p1, B, 0, false, false);
            return null;
        });
        String show = ns.exec("bridge", "fdb", "show", "br", "br0");
        assertThat(show).contains("02:00:00:00:00:0a dev p1 master br0 static");
        assertThat(show).containsPattern("02:00:00:00:00:0b dev p1 master br0 ?\n");

        List<FdbEntry> fdb = inNs(RtNetlink::fdb);
        FdbEntry a = fdb.stream().filter(e -> e.mac().equals(A)).findFirst().orElseThrow();
        assertThat(a.isBridgeEntry()).isTrue();
        assertThat(a.isStatic()).isTrue();
        assertThat(a.ifindex()).isEqualTo(p1);
        assertThat(a.master()).isEqualTo(br);
        FdbEntry b = fdb.stream().filter(e -> e.mac().equals(B)).findFirst().orElseThrow();
        assertThat(b.isDynamic()).isTrue();
        assertThat(fdb).filteredOn(FdbEntry::isBridgeEntry).filteredOn(FdbEntry::isLocal)
                .extracting(e -> e.mac().toString()).contains("02:00:00:00:00:01", "02:00:00:00:00:02");
        assertThat(fdb).filteredOn(e -> !e.isBridgeEntry()).allSatisfy(e ->
                assertThat(e.flags() & NdMsg.NTF_SELF).isNotZero());

        // EXCL on an existing entry: EEXIST; REPLACE turns the static entry dynamic
        assertThatThrownBy(() -> inNs(nl -> {
            nl.addFdb(p1, A, 0, true, false);
            return null;
        })).isInstanceOfSatisfying(NetlinkException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EEXIST));
        inNs(nl -> {
            nl.addFdb(p1, A, 0, false, true);
            return null;
        });
        assertThat(ns.exec("bridge", "fdb", "show", "br", "br0")).doesNotContain("02:00:00:00:00:0a dev p1 master br0 static")
                .contains("02:00:00:00:00:0a dev p1 master br0");

        inNs(nl -> {
            nl.deleteFdb(p1, A, 0);
            return null;
        });
        assertThat(ns.exec("bridge", "fdb", "show", "br", "br0")).doesNotContain("02:00:00:00:00:0a");
        assertThatThrownBy(() -> inNs(nl -> {
            nl.deleteFdb(p1, A, 0);
            return null;
        })).isInstanceOfSatisfying(NetlinkException.class, e -> assertThat(e.errno()).isEqualTo(Errno.ENOENT));
    }

    /**
     * The streamed dump of a few thousand entries (many datagrams) against iproute2's own
     * decode of the same FDB, and against the List form: every entry once, with its kind.
     */
    @Test
    void streamedFdbDumpHasEveryEntryTheBridgeToolShows() throws Exception {
        // A dump is no snapshot: br_fdb_dump() resumes each datagram at an index into the
        // bridge's fdb_list, so an entry learned meanwhile (added at the head) repeats one
        // and an entry removed before the resume point skips one (this test once saw h1's
        // MAC learned between two datagrams). So nothing may change while it dumps: h1 and
        // h2 send nothing (no IPv6: no DAD, router or listener messages, and their
        // multicast lists stay put), p1 learns nothing, and nothing ages.
        for (String dev : List.of("h1", "h2")) {
            ns.exec("sysctl", "-q", "-w", "net.ipv6.conf." + dev + ".disable_ipv6=1");
        }
        ns.exec("bridge", "link", "set", "dev", "p1", "learning", "off");
        ns.ip("link", "set", "dev", "br0", "type", "bridge", "ageing_time", "1000000");
        int n = 3000;
        StringBuilder batch = new StringBuilder();
        for (int i = 0; i < n; i++) {
            String kind = switch (i % 3) {
                case 0 -> "dev p1 master static";
                case 1 -> "dev p2 master dynamic";
                default -> "dev p1 master sticky static";
            };
            batch.append("fdb add ").append(filler(i)).append(' ').append(kind).append('\n');
        }
        batch("bridge", batch);

        List<FdbEntry> streamed = new java.util.ArrayList<>();
        List<FdbEntry> listed = inNs(nl -> {
            nl.fdb(streamed::add);
            return nl.fdb();
        });

        // Times move between the two dumps; everything else is the same, in the same order.
        java.util.function.Function<FdbEntry, List<Object>> fields =
                e -> List.of(e.ifindex(), e.master(), e.mac(), e.vlan(), e.state(), e.flags(), e.extFlags());
        assertThat(streamed).extracting(fields).containsExactlyElementsOf(listed.stream().map(fields).toList());

        java.util.Map<Integer, String> names = new java.util.HashMap<>();
        inNs(RtNetlink::links).forEach(l -> names.put(l.index(), l.name()));
        // Only the fillers and the addresses this scenario set: the hosts' random MACs are learned
        // (and age) whenever they send, which may fall between two dumps.
        java.util.function.Predicate<String> fixed = mac -> mac.startsWith("02:fb:") || mac.startsWith("02:00:00:00:00:");
        java.util.Set<String> ours = new java.util.HashSet<>();
        for (FdbEntry e : streamed) {
            if (e.isBridgeEntry() && fixed.test(e.mac().toString())) {
                assertThat(ours.add(e.mac() + " " + names.get(e.ifindex()))).as("%s twice", e).isTrue();
            }
        }
        java.util.Set<String> theirs = new java.util.HashSet<>();
        for (var e : new com.fasterxml.jackson.databind.ObjectMapper().readTree(ns.exec("bridge", "-j", "fdb", "show", "br", "br0"))) {
            boolean self = false;
            for (var f : e.path("flags")) {
                self |= f.asText().equals("self");
            }
            if (!self && fixed.test(e.get("mac").asText())) {
                theirs.add(e.get("mac").asText() + " " + e.get("ifname").asText());
            }
        }
        assertThat(ours).hasSizeGreaterThanOrEqualTo(n + 2).isEqualTo(theirs); // + p1 and p2 (and br0) own
        for (FdbEntry e : streamed) {
            if (e.mac().toString().startsWith("02:fb:")) {
                int i = (int) (e.mac().bits() & 0xffff);
                assertThat(List.of(e.isStatic(), e.isDynamic(), e.isSticky())).as("kind of %s", e)
                        .isEqualTo(List.of(i % 3 != 1, i % 3 == 1, i % 3 == 2));
            }
        }
    }

    static MacAddress filler(int i) {
        return MacAddress.of(new byte[] {0x02, (byte) 0xfb, 0, 0, (byte) (i >>> 8), (byte) i});
    }

    /** Runs {@code tool -batch} ({@code ip} or {@code bridge}) on these commands in the namespace. */
    private void batch(String tool, CharSequence commands) throws java.io.IOException {
        java.nio.file.Path file = java.nio.file.Files.createTempFile("xbt-" + tool + "-", ".batch");
        try {
            java.nio.file.Files.writeString(file, commands);
            ns.exec(tool, "-batch", file.toString());
        } finally {
            java.nio.file.Files.delete(file);
        }
    }

    /** Fillers 0 to n - 1, static on p1. */
    private void addStaticFillers(int n) throws java.io.IOException {
        StringBuilder batch = new StringBuilder();
        for (int i = 0; i < n; i++) {
            batch.append("fdb add ").append(filler(i)).append(" dev p1 master static\n");
        }
        batch("bridge", batch);
    }

    /** How many of the bridge's entries in {@code dump} are fillers. */
    private static long fillersIn(List<FdbEntry> dump) {
        return dump.stream().filter(e -> e.isBridgeEntry() && e.mac().toString().startsWith("02:fb:")).count();
    }

    /**
     * A dump whose caller gives up at its first entry (the consumer throws) is read to its end
     * before the exception reaches the caller: the kernel refuses another dump on a socket
     * whose dump still runs (EBUSY), so the daemon's next resync would fail. Nor is the thread
     * that received it left behind. An exception is read past by the reply; an {@code Error}
     * ends the caller's reading at once, and the receiver reads the rest when it is closed.
     */
    @Test
    void aDumpGivenUpAtItsFirstEntryLeavesTheSocketReadyForTheNext() throws Exception {
        // About 480 entries a datagram: some 60 datagrams, far more than the receiver reads
        // ahead and the socket holds, so the kernel still has most of the dump to send.
        int n = 30_000;
        addStaticFillers(n);

        List<Long> fillers = inNs(nl -> {
            assertThatThrownBy(() -> nl.fdb(e -> {
                throw new IllegalStateException("given up at " + e.mac());
            })).isInstanceOf(IllegalStateException.class).hasMessageStartingWith("given up at ");
            long afterException = fillersIn(nl.fdb());
            assertThatThrownBy(() -> nl.fdb(e -> {
                throw new AssertionError("given up at " + e.mac());
            })).isInstanceOf(AssertionError.class).hasMessageStartingWith("given up at ");
            return List.of(afterException, fillersIn(nl.fdb()));
        });

        assertThat(fillers).containsExactly((long) n, (long) n);
        assertThat(Thread.getAllStackTraces().keySet()).extracting(Thread::getName)
                .noneMatch(name -> name.startsWith("xbridge-dump"));
    }

    /**
     * The same for a dump read on the caller's own thread: a link dump given up at its first
     * link (as when a link does not decode) is read to its end, so the socket's next dump is
     * not refused with EBUSY.
     */
    @Test
    void aLinkDumpGivenUpAtItsFirstLinkLeavesTheSocketReadyForTheNext() throws Exception {
        // A lone veth's RTM_NEWLINK is about 1.1 KiB: 200 more links make some 220 KiB, several
        // times what the kernel builds ahead (a datagram of up to 32 KiB a recv, and the peek
        // counts), so the dump is still running when the first link is handed over.
        int pairs = 100;
        StringBuilder links = new StringBuilder();
        for (int i = 0; i < pairs; i++) {
            links.append("link add name fa").append(i).append(" type veth peer name fb").append(i).append('\n');
        }
        batch("ip", links);

        List<String> names = inNs(nl -> {
            assertThatThrownBy(() -> nl.links(l -> {
                throw new IllegalStateException("given up at " + l.name());
            })).isInstanceOf(IllegalStateException.class).hasMessageStartingWith("given up at ");
            return nl.links().stream().map(Link::name).toList();
        });

        assertThat(names).contains("br0", "p1", "h9", "fa0", "fb" + (pairs - 1)).hasSize(2 * pairs + 8);
    }

    /**
     * An interrupt does not cut a dump short, as it never could while recv blocked in the
     * caller's own thread: the caller gets every entry, and its interrupt is kept for it.
     */
    @Test
    void aCallerWithItsInterruptSetGetsTheWholeDumpAndKeepsTheInterrupt() throws Exception {
        int n = 3000;
        addStaticFillers(n);

        List<Object> got = inNs(nl -> {
            Thread.currentThread().interrupt();
            long fillers = fillersIn(nl.fdb());
            return List.of(fillers, Thread.interrupted());
        });

        assertThat(got).containsExactly((long) n, true);
    }

    @Test
    void kernelRefusalsCarryErrnoAndExtendedAck() {
        int p1 = ifindex("p1");
        int h9 = ifindex("h9");
        // fdb_vid_parse() rejects VID 4095 with an extack message
        assertThatThrownBy(() -> inNs(nl -> {
            nl.addFdb(p1, A, 4095, true, false);
            return null;
        })).isInstanceOfSatisfying(NetlinkException.class, e -> {
            assertThat(e.errno()).isEqualTo(Errno.EINVAL);
            assertThat(e.extAck()).isEqualTo("invalid vlan id");
            assertThat(e).hasMessageContaining("RTM_NEWNEIGH fdb add 02:00:00:00:00:0a vlan 4095")
                    .hasMessageEndingWith("invalid argument (EINVAL): invalid vlan id");
        });
        // NTF_MASTER on a device without a master: EOPNOTSUPP, and this kernel sends no text for it
        assertThatThrownBy(() -> inNs(nl -> {
            nl.deleteFdb(h9, A, 0);
            return null;
        })).isInstanceOfSatisfying(NetlinkException.class, e -> {
            assertThat(e.errno()).isEqualTo(Errno.EOPNOTSUPP);
            assertThat(e.extAck()).isEmpty();
        });
        // the socket stays usable after errors
        Optional<Link> still = inNs(nl -> nl.link("p1"));
        assertThat(still).isPresent();
    }

    /**
     * What NTF_USE does on this kernel (br_fdb_update via __br_fdb_add): it resets an entry's
     * "updated" time, leaves "used" alone, sends no notification for an existing entry, and
     * creates a dynamic entry (with an RTM_NEWNEIGH) when there is none, even on a port with
     * learning off; on a port in state disabled it does nothing (and still acks).
     */
    @Test
    void refreshMovesTheUpdatedTime() throws Exception {
        int p1 = ifindex("p1");
        int p2 = ifindex("p2");
        inNs(nl -> {
            nl.addFdb(p1, B, 0, false, false);
            return null;
        });
        Thread.sleep(1200);
        FdbEntry before = find(B).orElseThrow();
        assertThat(before.updatedCentis()).isGreaterThanOrEqualTo(100);
        ns.thread().run(() -> {
            try (RtNetlink nl = RtNetlink.open(); RtMonitor mon = RtMonitor.open()) {
                nl.refreshFdb(p1, B, 0);
                List<RtEvent> events = new java.util.ArrayList<>();
                mon.poll(java.time.Duration.ofMillis(300), events::add);
                assertThat(events).as("no notification for a refresh of an existing entry").isEmpty();
                FdbEntry after = nl.fdb().stream().filter(e -> e.mac().equals(B)).findFirst().orElseThrow();
                assertThat(after.updatedCentis()).isLessThan(before.updatedCentis() - 50);
                assertThat(after.usedCentis()).as("used is not touched").isGreaterThanOrEqualTo(before.usedCentis());
                assertThat(after.isDynamic()).isTrue();
                assertThat(after.flags()).isZero();

                // absent entry on a port with learning off: created, and announced
                nl.refreshFdb(p2, A, 0);
                mon.poll(java.time.Duration.ofMillis(300), events::add);
                assertThat(events).singleElement().isInstanceOfSatisfying(RtEvent.FdbChanged.class, c -> {
                    assertThat(c.e().mac()).isEqualTo(A);
                    assertThat(c.e().ifindex()).isEqualTo(p2);
                    assertThat(c.e().isDynamic()).isTrue();
                });
            }
        });
        assertThat(ns.exec("bridge", "fdb", "show", "br", "br0")).containsPattern("02:00:00:00:00:0a dev p2 master br0 ?\n");

        // A port that is not learning/forwarding does not learn, so NTF_USE is acked and ignored.
        // (`ip link set dev p1 type bridge_slave state 0` exits 0 but leaves the state alone here)
        ns.exec("bridge", "link", "set", "dev", "p1", "state", "0");
        Optional<Link> disabled = inNs(nl -> nl.link("p1"));
        assertThat(disabled.orElseThrow().port().state()).isEqualTo(PortState.DISABLED);
        MacAddress c = MacAddress.parse("02:00:00:00:00:0c");
        inNs(nl -> {
            nl.refreshFdb(p1, c, 0);
            return null;
        });
        assertThat(find(c)).isEmpty();
    }

    private Optional<FdbEntry> find(MacAddress mac) {
        return inNs(nl -> nl.fdb().stream().filter(e -> e.mac().equals(mac) && e.isBridgeEntry()).findFirst());
    }

    @Test
    void nsidOfAPeerNamespace() {
        try (Netns other = Netns.create("peer"); Netns unrelated = Netns.create("lone")) {
            ns.ip("link", "add", "name", "x1", "type", "veth", "peer", "name", "x2", "netns", other.name);
            int id = ns.thread().call(() -> {
                int fd = Libc.open("/run/netns/" + other.name, Libc.O_RDONLY | Libc.O_CLOEXEC);
                try (RtNetlink nl = RtNetlink.open()) {
                    return nl.nsidOf(fd);
                } finally {
                    Libc.close(fd);
                }
            });
            assertThat(ns.ip("netns", "list-id")).contains("nsid " + id + " ");
            assertThat(id).isNotNegative();
            Link x1 = inNs(nl -> nl.link("x1")).orElseThrow();
            assertThat(x1.linkNetnsId()).hasValue(id);
            int none = ns.thread().call(() -> {
                int fd = Libc.open("/run/netns/" + unrelated.name, Libc.O_RDONLY | Libc.O_CLOEXEC);
                try (RtNetlink nl = RtNetlink.open()) {
                    return nl.nsidOf(fd);
                } finally {
                    Libc.close(fd);
                }
            });
            assertThat(none).isEqualTo(-1);
        }
    }
}
