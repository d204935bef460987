package dev.xbridge.testbed;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * A link's counters as the kernel keeps them ({@code rtnl_link_stats64},
 * the same numbers as {@code /sys/class/net/IF/statistics}). Frames that an
 * XDP program redirects are not counted in rx of the device they arrived on;
 * {@link EthtoolStats} counts those.
 */
public record LinkStats(long rxPackets, long txPackets, long rxBytes, long txBytes, long rxDropped, long txDropped) {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Reads {@code ifname}'s counters in {@code ns} with {@code ip -s -j link show}. */
    public static LinkStats of(Netns ns, String ifname) {
        String out = ns.ip("-s", "-j", "link", "show", "dev", ifname).stdout();
        try {
            JsonNode stats = JSON.readTree(out).path(0).path("stats64");
            JsonNode rx = stats.path("rx");
            JsonNode tx = stats.path("tx");
            if (rx.isMissingNode() || tx.isMissingNode()) {
                throw new IllegalStateException("no stats64 for " + ifname + " in " + ns + ": " + out);
            }
            return new LinkStats(rx.path("packets").asLong(), tx.path("packets").asLong(),
                    rx.path("bytes").asLong(), tx.path("bytes").asLong(),
                    rx.path("dropped").asLong(), tx.path("dropped").asLong());
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("cannot parse `ip -s -j link show dev " + ifname + "` in " + ns + ": " + out, e);
        }
    }
}
