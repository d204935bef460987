package dev.xbridge.bridge;

import static org.assertj.core.api.Assertions.assertThat;

import dev.xbridge.bridge.Netfilter.Chain;
import dev.xbridge.bridge.Netfilter.Snapshot;
import dev.xbridge.netlink.BridgeInfo;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The rule that decides whether netfilter would see a bridge's forwarded frames. */
class NetfilterTest {
    static final BridgeInfo PLAIN = new BridgeInfo(30000, 0, false, 0, 0, 0, false, false, false);
    static final BridgeInfo NF_CALL_IPTABLES = new BridgeInfo(30000, 0, false, 0, 0, 0, true, false, false);

    static Snapshot snapshot(boolean ip, boolean ip6, boolean arp, List<Chain> chains, List<String> legacy) {
        return new Snapshot(ip, ip6, arp, chains, legacy, null);
    }

    @Test
    void aForwardChainCountsOnlyWhenBrNetfilterPassesThatFamily() {
        List<Chain> ipForward = List.of(new Chain("ip", "filter", "FORWARD", "forward"));
        assertThat(Netfilter.reason(snapshot(true, false, false, ipForward, List.of()), PLAIN)).isPresent();
        assertThat(Netfilter.reason(snapshot(false, false, false, ipForward, List.of()), PLAIN)).isEmpty();
        assertThat(Netfilter.reason(snapshot(false, false, false, ipForward, List.of()), NF_CALL_IPTABLES))
                .as("the bridge's own nf_call_iptables").isPresent();
        assertThat(Netfilter.reason(snapshot(false, true, false, ipForward, List.of()), PLAIN))
                .as("ip6tables on does not send IPv4 to an ip chain").isEmpty();
    }

    @Test
    void onlyHooksForwardedFramesPassCount() {
        for (String hook : List.of("prerouting", "forward", "postrouting")) {
            assertThat(Netfilter.reason(snapshot(true, false, false, List.of(new Chain("inet", "t", "c", hook)), List.of()), PLAIN))
                    .as(hook).isPresent();
        }
        for (String hook : List.of("input", "output")) {
            assertThat(Netfilter.reason(snapshot(true, true, false, List.of(new Chain("inet", "t", "c", hook)), List.of()), PLAIN))
                    .as(hook).isEmpty();
        }
        assertThat(Netfilter.reason(snapshot(false, false, true, List.of(new Chain("arp", "t", "c", "forward")), List.of()), PLAIN))
                .isPresent();
    }

    @Test
    void bridgeAndNetdevFamiliesCountWhateverTheSysctls() {
        assertThat(Netfilter.reason(snapshot(false, false, false, List.of(new Chain("bridge", "filter", "FORWARD", "forward")), List.of()), PLAIN))
                .hasValueSatisfying(r -> assertThat(r).contains("bridge"));
        assertThat(Netfilter.reason(snapshot(false, false, false, List.of(new Chain("netdev", "t", "in", "ingress")), List.of()), PLAIN))
                .isPresent();
    }

    @Test
    void legacyTablesCountForTheirFamily() {
        assertThat(Netfilter.reason(snapshot(true, false, false, List.of(), List.of("ip:filter")), PLAIN)).isPresent();
        assertThat(Netfilter.reason(snapshot(false, false, false, List.of(), List.of("ip:filter")), PLAIN)).isEmpty();
    }

    @Test
    void anUnreadableRulesetWithASysctlOnMeansStepAside() {
        Snapshot unreadable = new Snapshot(true, false, false, List.of(), List.of(), "nft: not found");
        assertThat(Netfilter.reason(unreadable, PLAIN)).hasValueSatisfying(r -> assertThat(r).contains("cannot be read"));
        Snapshot quiet = new Snapshot(false, false, false, List.of(), List.of(), "nft: not found");
        assertThat(Netfilter.reason(quiet, PLAIN)).isEmpty();
    }

    /** A round without an nf_tables event keeps the chains it had and reads only /proc. */
    @Test
    void aQuietRoundKeepsTheChainsAndRereadsTheRest() {
        dev.xbridge.testing.Requires.root();
        Netfilter.Chain marker = new Netfilter.Chain("inet", "not-in-the-kernel", "fwd", "forward");
        Snapshot kept = Netfilter.readKeepingChains(new Snapshot(true, true, true, List.of(marker), List.of("ip:x"), null));
        assertThat(kept.chains()).as("not listed again").containsExactly(marker);
        Snapshot fresh = Netfilter.read();
        assertThat(kept.callIptables()).as("the sysctls are read again").isEqualTo(fresh.callIptables());
        assertThat(kept.legacyTables()).isEqualTo(fresh.legacyTables());

        Snapshot retried = Netfilter.readKeepingChains(new Snapshot(true, true, true, List.of(marker), List.of(), "nft failed"));
        assertThat(retried.unreadable()).as("an unreadable ruleset is read again").isNull();
        assertThat(retried.chains()).doesNotContain(marker);
    }

    @Test
    void thisNamespaceIsReadForReal() {
        dev.xbridge.testing.Requires.root();
        Snapshot s = Netfilter.read();
        assertThat(s.unreadable()).as("nft answers here").isNull();
    }
}
