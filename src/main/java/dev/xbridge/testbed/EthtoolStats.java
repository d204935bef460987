package dev.xbridge.testbed;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * A driver's own counters ({@code ethtool -S}). For veth these include
 * per-queue XDP counters ({@code rx_queue_N_xdp_redirect},
 * {@code rx_queue_N_xdp_packets}, {@code rx_queue_N_xdp_drops},
 * {@code rx_queue_N_xdp_tx}, {@code tx_queue_N_xdp_xmit}): a witness of what an
 * XDP program did that is independent of the program's own maps.
 */
public final class EthtoolStats {
    private static final Pattern XDP_REDIRECT = Pattern.compile("rx_queue_\\d+_xdp_redirect");
    private static final Pattern XDP_PACKETS = Pattern.compile("rx_queue_\\d+_xdp_packets");
    private static final Pattern XDP_DROPS = Pattern.compile("rx_queue_\\d+_xdp_drops");
    private static final Pattern XDP_TX = Pattern.compile("rx_queue_\\d+_xdp_tx");
    private static final Pattern XDP_XMIT = Pattern.compile("tx_queue_\\d+_xdp_xmit");

    private EthtoolStats() {}

    /** All counters of {@code ifname} in {@code ns}, in the driver's order. */
    public static Map<String, Long> of(Netns ns, String ifname) {
        return parse(ns.exec("ethtool", "-S", ifname).stdout());
    }

    /** Parses {@code ethtool -S} output: a "NIC statistics:" header, then "name: value" lines. */
    public static Map<String, Long> parse(String output) {
        Map<String, Long> stats = new LinkedHashMap<>();
        for (String line : output.split("\n")) {
            int colon = line.lastIndexOf(':');
            if (colon < 0) {
                continue;
            }
            String value = line.substring(colon + 1).strip();
            if (value.isEmpty()) {
                continue; // the header
            }
            try {
                stats.put(line.substring(0, colon).strip(), Long.parseLong(value));
            } catch (NumberFormatException e) {
                // Not a counter.
            }
        }
        return Collections.unmodifiableMap(stats);
    }

    /** The sum of every counter whose whole name matches {@code name}. */
    public static long sum(Map<String, Long> stats, Pattern name) {
        return stats.entrySet().stream()
                .filter(e -> name.matcher(e.getKey()).matches())
                .mapToLong(Map.Entry::getValue)
                .sum();
    }

    /** Frames an XDP program on {@code ifname} redirected (XDP_REDIRECT), all rx queues. */
    public static long xdpRedirects(Netns ns, String ifname) {
        return sum(of(ns, ifname), XDP_REDIRECT);
    }

    /** Frames that an XDP program on {@code ifname} saw, all rx queues. */
    public static long xdpPackets(Netns ns, String ifname) {
        return sum(of(ns, ifname), XDP_PACKETS);
    }

    /** Frames dropped in the XDP path of {@code ifname} (XDP_DROP or a failed action). */
    public static long xdpDrops(Netns ns, String ifname) {
        return sum(of(ns, ifname), XDP_DROPS);
    }

    /** Frames an XDP program on {@code ifname} sent back out of it (XDP_TX). */
    public static long xdpTx(Netns ns, String ifname) {
        return sum(of(ns, ifname), XDP_TX);
    }

    /** Frames other devices redirected into {@code ifname} for transmission ({@code ndo_xdp_xmit}). */
    public static long xdpXmit(Netns ns, String ifname) {
        return sum(of(ns, ifname), XDP_XMIT);
    }
}
