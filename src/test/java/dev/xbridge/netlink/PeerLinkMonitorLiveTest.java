package dev.xbridge.netlink;

import static org.assertj.core.api.Assertions.assertThat;

import dev.xbridge.sys.Socket;
import dev.xbridge.testing.Requires;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * PeerLinkMonitor against the real kernel: a change of a veth's far end, in the namespace
 * the far end lives in, reaches a socket in the near end's namespace with that namespace's
 * nsid; a namespace without an nsid there stays silent.
 */
class PeerLinkMonitorLiveTest {
    Netns near;
    Netns far;
    Netns unrelated;

    @BeforeEach
    void scenario() {
        Requires.root();
        near = Netns.create("pln");
        far = Netns.create("plf");
        unrelated = Netns.create("plu");
        near.ip("link", "add", "name", "p1", "type", "veth", "peer", "name", "eth0", "netns", far.name);
        near.ip("link", "set", "dev", "p1", "up");
        far.ip("link", "set", "dev", "eth0", "up");
    }

    @AfterEach
    void cleanup() {
        for (Netns ns : new Netns[] {near, far, unrelated}) {
            if (ns != null) {
                ns.close();
            }
        }
    }

    record Change(int nsid, int ifindex) {}

    /** Drains until {@code wanted} is seen or 3 s pass; returns everything seen up to it. */
    static List<Change> await(PeerLinkMonitor mon, Change wanted) {
        List<Change> seen = new ArrayList<>();
        long deadline = System.nanoTime() + Duration.ofSeconds(3).toNanos();
        while (System.nanoTime() < deadline) {
            Socket.poll(mon.fd(), Socket.POLLIN, 200);
            mon.drain(into(seen));
            if (seen.contains(wanted)) {
                return seen;
            }
        }
        throw new AssertionError("no " + wanted + " within 3 s; saw " + seen);
    }

    /**
     * Drains until nothing has come for 300 ms, so that a change's own notification is not
     * taken for an earlier one's (the link's carrier events after "up" come late).
     */
    static void quiet(PeerLinkMonitor mon) {
        List<Change> seen = new ArrayList<>();
        while (Socket.poll(mon.fd(), Socket.POLLIN, 300) > 0) {
            mon.drain(into(seen));
        }
    }

    static PeerLinkMonitor.Sink into(List<Change> seen) {
        return new PeerLinkMonitor.Sink() {
            @Override
            public void linkChanged(int nsid, int ifindex) {
                seen.add(new Change(nsid, ifindex));
            }

            @Override
            public void overrun() {
                throw new AssertionError("overrun");
            }
        };
    }

    @Test
    void thePeersOffloadGroAndMtuChangesArriveWithItsNsid() {
        near.thread().run(() -> {
            try (RtNetlink rt = RtNetlink.open(); PeerLinkMonitor mon = PeerLinkMonitor.open()) {
                Link p1 = rt.links().stream().filter(l -> l.name().equals("p1")).findFirst().orElseThrow();
                assertThat(p1.linkNetnsId()).as("the far end's namespace has an nsid here").isPresent();
                Change peer = new Change(p1.linkNetnsId().getAsInt(), p1.link());

                quiet(mon);
                far.exec("ethtool", "-K", "eth0", "tx", "off");
                await(mon, peer);
                quiet(mon);
                far.exec("ethtool", "-K", "eth0", "gro", "on");
                await(mon, peer);
                quiet(mon);
                far.ip("link", "set", "dev", "eth0", "mtu", "1400");
                await(mon, peer);
                quiet(mon);

                // A namespace with no nsid here is not heard; this namespace's own links are,
                // as THIS_NAMESPACE, and arrive after it.
                unrelated.ip("link", "set", "dev", "lo", "mtu", "1300");
                near.ip("link", "set", "dev", "p1", "mtu", "1400");
                List<Change> seen = await(mon, new Change(PeerLinkMonitor.THIS_NAMESPACE, p1.index()));
                assertThat(seen).as("only the peer's and this namespace's links")
                        .allMatch(c -> c.nsid() == PeerLinkMonitor.THIS_NAMESPACE || c.equals(peer));
            }
        });
    }
}
