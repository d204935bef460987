package dev.xbridge.bridge;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.xbridge.netlink.BridgeInfo;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Whether netfilter would see a bridge's forwarded frames, in which case the
 * fast path must not skip it: a bridge with such a reason steps aside.
 *
 * <p>The rule, per family: br_netfilter hands bridged IPv4/IPv6/ARP to the
 * iptables, ip6tables and arptables hooks when the namespace's
 * {@code net.bridge.bridge-nf-call-*} sysctl or the bridge's own
 * {@code nf_call_*} option is on (br_netfilter_hooks.c). That matters when a
 * base chain is registered at a hook forwarded frames pass (prerouting,
 * forward, postrouting; for arp, forward): a chain with policy drop and no
 * rules drops too, so the presence of a chain, not of rules, counts. nftables
 * tables of family bridge (ebtables-nft, too) or netdev see bridged frames
 * whatever the sysctls say. Legacy x_tables are seen through
 * /proc/net/{ip,ip6,arp}_tables_names.
 *
 * <p>It is read with {@code nft -j list chains} in the daemon's namespace.
 * When that cannot be read and a sysctl is on, the answer is "step aside":
 * not knowing is not a reason to skip a firewall.
 */
public final class Netfilter {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A base chain: its family and hook, e.g. ("ip", "forward"). */
    public record Chain(String family, String table, String name, String hook) {}

    /** What was read of the namespace: sysctls, nftables base chains, legacy tables, or why it could not be read. */
    public record Snapshot(boolean callIptables, boolean callIp6tables, boolean callArptables, List<Chain> chains,
            List<String> legacyTables, String unreadable) {}

    private Netfilter() {}

    /** Everything: the sysctls and legacy tables from /proc, the nftables chains from {@code nft}. */
    public static Snapshot read() {
        try {
            return read(nftChains(), null);
        } catch (IOException | RuntimeException e) {
            return read(List.of(), e.getMessage());
        }
    }

    /**
     * The sysctls and legacy tables read again, {@code last}'s nftables chains kept: for a
     * round in which nf_tables announced no change, so no {@code nft} process is started (one
     * every reprobe period was most of an idle daemon's CPU). A reading that could not list
     * the chains is not kept: it is read again.
     */
    public static Snapshot readKeepingChains(Snapshot last) {
        return last.unreadable() != null ? read() : read(last.chains(), null);
    }

    private static Snapshot read(List<Chain> chains, String unreadable) {
        boolean ip = sysctl("bridge-nf-call-iptables");
        boolean ip6 = sysctl("bridge-nf-call-ip6tables");
        boolean arp = sysctl("bridge-nf-call-arptables");
        List<String> legacy = new ArrayList<>();
        for (String f : List.of("ip_tables_names", "ip6_tables_names", "arp_tables_names")) {
            legacy(f).forEach(t -> legacy.add(f.replace("_tables_names", "") + ":" + t));
        }
        return new Snapshot(ip, ip6, arp, chains, legacy, unreadable);
    }

    /** Why netfilter would see this bridge's forwarded frames, or empty. */
    public static Optional<String> reason(Snapshot s, BridgeInfo bridge) {
        boolean ip = s.callIptables() || (bridge != null && bridge.nfCallIptables());
        boolean ip6 = s.callIp6tables() || (bridge != null && bridge.nfCallIp6tables());
        boolean arp = s.callArptables() || (bridge != null && bridge.nfCallArptables());
        for (Chain c : s.chains()) {
            if (c.family().equals("bridge") || c.family().equals("netdev")) {
                return Optional.of("nftables " + c.family() + " chain " + c.table() + "/" + c.name() + " sees bridged frames");
            }
            boolean forwardHook = c.hook().equals("prerouting") || c.hook().equals("forward") || c.hook().equals("postrouting");
            boolean applies = switch (c.family()) {
                case "ip" -> ip && forwardHook;
                case "ip6" -> ip6 && forwardHook;
                case "inet" -> (ip || ip6) && forwardHook;
                case "arp" -> arp && c.hook().equals("forward");
                default -> false;
            };
            if (applies) {
                return Optional.of("br_netfilter passes bridged traffic to " + c.family() + " chain " + c.table() + "/"
                        + c.name() + " (" + c.hook() + ")");
            }
        }
        for (String t : s.legacyTables()) {
            boolean applies = (t.startsWith("ip:") && ip) || (t.startsWith("ip6:") && ip6) || (t.startsWith("arp:") && arp);
            if (applies) {
                return Optional.of("br_netfilter passes bridged traffic to legacy table " + t);
            }
        }
        if (s.unreadable() != null && (ip || ip6 || arp)) {
            return Optional.of("bridge-nf-call-* is on and the nftables ruleset cannot be read (" + s.unreadable() + ")");
        }
        return Optional.empty();
    }

    private static List<Chain> nftChains() throws IOException {
        Process p = new ProcessBuilder("nft", "-j", "list", "chains").redirectErrorStream(false).start();
        byte[] out;
        try {
            out = p.getInputStream().readAllBytes();
            if (!p.waitFor(5, TimeUnit.SECONDS) || p.exitValue() != 0) {
                String err = new String(p.getErrorStream().readAllBytes()).trim();
                throw new IOException("nft -j list chains failed: " + err);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted reading nftables chains", e);
        } finally {
            p.destroy();
        }
        List<Chain> chains = new ArrayList<>();
        for (JsonNode n : JSON.readTree(out).path("nftables")) {
            JsonNode c = n.path("chain");
            if (c.has("hook")) {
                chains.add(new Chain(c.path("family").asText(), c.path("table").asText(), c.path("name").asText(),
                        c.path("hook").asText()));
            }
        }
        return chains;
    }

    private static boolean sysctl(String name) {
        try {
            return Files.readString(Path.of("/proc/sys/net/bridge", name)).trim().equals("1");
        } catch (IOException e) {
            return false; // no br_netfilter in this kernel: bridged frames never reach iptables
        }
    }

    private static List<String> legacy(String file) {
        try {
            return Files.readAllLines(Path.of("/proc/net", file)).stream().filter(l -> !l.isBlank()).toList();
        } catch (IOException e) {
            return List.of();
        }
    }
}
