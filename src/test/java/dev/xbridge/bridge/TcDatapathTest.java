package dev.xbridge.bridge;

import static org.assertj.core.api.Assertions.assertThat;

import dev.xbridge.netlink.MacAddress;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Every rule of {@link DatapathTest} again, through the TC entry point
 * (xbridge_tc on an sk_buff), plus one corpus of frames run through both
 * entry points from the same state, expecting the same decisions.
 */
class TcDatapathTest extends DatapathTest {
    @Override
    Entry entry() {
        return Entry.TC;
    }

    record Case(String what, int ingress, byte[] frame) {}

    @Test
    void bothEntryPointsDecideAlikeOnTheSameFrames() {
        MacAddress mcast = MacAddress.parse("01:00:5e:00:00:01");
        List<Case> cases = List.of(
                new Case("known unicast p1 -> p2", p1, Frames.ipv4(B, A)),
                new Case("known unicast p2 -> p1", p2, Frames.ipv4(A, B)),
                new Case("broadcast", p1, Frames.ipv4(BROADCAST, A)),
                new Case("multicast", p1, Frames.ipv4(mcast, A)),
                new Case("link-local", p1, Frames.ethernet(MacAddress.parse("01:80:c2:00:00:00"), A, 0x0026, 46)),
                new Case("unknown destination", p1, Frames.ipv4(UNKNOWN, A)),
                new Case("for the host", p1, Frames.ipv4(HOST, A)),
                new Case("unknown source", p1, Frames.ipv4(B, UNKNOWN)),
                new Case("moved source", p2, Frames.ipv4(B, A)),
                new Case("invalid source", p1, Frames.ipv4(B, MacAddress.parse("01:00:00:00:00:01"))),
                new Case("802.1Q", p1, Frames.tagged(B, A, Frames.ETH_P_8021Q, 10)),
                new Case("802.1ad", p1, Frames.tagged(B, A, Frames.ETH_P_8021AD, 10)),
                new Case("hairpin", p1, Frames.ipv4(A, A)),
                new Case("other bridge", p1, Frames.ipv4(C, A)),
                new Case("not a port", stranger, Frames.ipv4(B, A)));
        List<String> differences = new ArrayList<>();
        int redirects = 0;
        for (Case c : cases) {
            standardState();
            Outcome xdp = run(Entry.XDP, c.ingress(), c.frame(), 0);
            standardState();
            Outcome tc = run(Entry.TC, c.ingress(), c.frame(), 0);
            if (!xdp.decision().equals(tc.decision()) || xdp.verdict() != tc.verdict()) {
                differences.add(c.what() + ": XDP " + xdp + " vs TC " + tc);
            }
            if (tc.verdict() == Verdict.REDIRECT) {
                redirects++;
            }
        }
        assertThat(differences).isEmpty();
        // Every reason reachable from the standard state (aging samples, MTU, states, flags and VLAN
        // filtering need their own).
        assertThat(cases).hasSizeGreaterThanOrEqualTo(Reason.values().length - 10);
        assertThat(redirects).as("the corpus exercises the fast path, not only passes").isEqualTo(2);
    }

    /**
     * bpf_redirect and bpf_redirect_peer skip is_skb_forwardable(), which
     * drops a non-GSO frame longer than the egress MTU plus Ethernet and VLAN
     * header; the TC entry hands such a frame to the kernel instead.
     */
    @Test
    void aFrameLargerThanTheEgressMtuGoesToTheKernel() {
        in(() -> {
            dp.putPort(p2, new PortRecord(BRIDGE, 2, PortRecord.LEARNING | TARGET, 3, 100, 0));
            return null;
        });
        byte[] fits = Frames.ethernet(B, A, Frames.ETH_P_IP, 100 + 4); // 118 = 100 + ETH_HLEN + VLAN_HLEN
        byte[] tooBig = Frames.ethernet(B, A, Frames.ETH_P_IP, 100 + 5);
        assertThat(run(p1, fits).decision().reason()).isEqualTo(Reason.REDIRECT);
        assertPass(run(p1, tooBig), Reason.PASS_TOO_BIG);
    }
}
