package dev.xbridge.testbed;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;

/**
 * A host of a {@link BridgeLab}: its own network namespace with one
 * interface, {@code eth0}, the far end of a veth pair whose near end is a
 * bridge port ({@code p<number>}) in the lab's switch namespace.
 *
 * <p>Host number N has MAC {@code 02:00:00:00:00:NN} (N in hex, locally
 * administered) and IPv4 {@code 198.18.0.N/24} (the benchmarking range,
 * RFC 2544).
 */
public final class Host {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Netns ns;
    private final Netns switchNs;
    private final int number;
    private final String portName;
    private final String ifname;
    private final String ip;
    private volatile String mac;

    Host(Netns ns, Netns switchNs, int number, String portName, String ifname, String mac, String ip) {
        this.ns = ns;
        this.switchNs = switchNs;
        this.number = number;
        this.portName = portName;
        this.ifname = ifname;
        this.mac = mac;
        this.ip = ip;
    }

    /** The MAC host {@code number} gets: {@code 02:00:00:00:00:NN}, NN in hex. */
    public static String macOf(int number) {
        checkNumber(number);
        return String.format(Locale.ROOT, "02:00:00:00:00:%02x", number);
    }

    /** The IPv4 address host {@code number} gets: {@code 198.18.0.N}. */
    public static String ipOf(int number) {
        checkNumber(number);
        return "198.18.0." + number;
    }

    static void checkNumber(int number) {
        if (number < 1 || number > 254) {
            throw new IllegalArgumentException("host numbers run from 1 to 254 (198.18.0.N/24): " + number);
        }
    }

    public Netns ns() {
        return ns;
    }

    public int number() {
        return number;
    }

    /** The bridge port this host hangs off, e.g. {@code p1}, in the lab's switch namespace. */
    public String portName() {
        return portName;
    }

    /** The host's interface, {@code eth0}. */
    public String ifname() {
        return ifname;
    }

    /** The MAC of {@link #ifname()}, lower case; changes with {@link #setMac(String)}. */
    public String mac() {
        return mac;
    }

    /** The IPv4 address without prefix length, e.g. {@code 198.18.0.1}. */
    public String ip() {
        return ip;
    }

    /**
     * Sends {@code count} echo requests to {@code other} at {@code interval}
     * and counts replies. A reply has 1 s to arrive. Loss is a result, not an
     * error; a ping that cannot run at all throws.
     */
    public PingResult ping(Host other, int count, Duration interval) {
        if (count < 1) {
            throw new IllegalArgumentException("count must be positive: " + count);
        }
        String seconds = String.format(Locale.ROOT, "%.3f", interval.toNanos() / 1e9);
        Duration deadline = interval.multipliedBy(count).plusSeconds(10);
        Command.Result r = ns.tryExec(deadline, "ping", "-q", "-n", "-c", Integer.toString(count), "-i", seconds,
                "-W", "1", other.ip());
        // iputils: 0 = some reply, 1 = no reply, 2 = anything else (bad address, no route...).
        if (r.exitCode() != 0 && r.exitCode() != 1) {
            throw new CommandException(java.util.List.of("ping", "-c", Integer.toString(count), other.ip()),
                    "in " + ns + ": exited " + r.exitCode(), r, false, null);
        }
        return PingResult.parse(r.stdout());
    }

    /**
     * Gives this host a permanent neighbour entry for {@code other} on eth0, so that it sends no
     * ARP of its own toward it: no broadcast, and no frame that would let the bridge relearn it.
     */
    public void knowNeighbour(Host other) {
        ns.ip("neigh", "replace", other.ip(), "lladdr", other.mac(), "dev", ifname(), "nud", "permanent");
    }

    /** Three pings 10 ms apart. */
    public PingResult ping(Host other) {
        return ping(other, 3, Duration.ofMillis(10));
    }

    /** Counters of {@code eth0}. */
    public LinkStats stats() {
        return LinkStats.of(ns, ifname);
    }

    /**
     * ICMP frames that reached {@code eth0}, counted by an nftables netdev
     * ingress counter installed on first use: it sees frames not addressed to
     * the host too (floods, hairpin), and leaves out what the bridge device
     * sends on its own schedule (IGMP reports), which {@link #rxPackets()}
     * counts.
     */
    public long icmpReceived() {
        if (!icmpCounter) {
            ns.exec("nft", "add", "table", "netdev", "xbt");
            ns.exec("nft", "add", "chain", "netdev", "xbt", "in",
                    "{ type filter hook ingress device \"" + ifname + "\" priority 0; }");
            ns.exec("nft", "add", "rule", "netdev", "xbt", "in", "ip", "protocol", "icmp", "counter");
            icmpCounter = true;
        }
        String out = ns.exec("nft", "list", "chain", "netdev", "xbt", "in").stdout();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("counter packets (\\d+)").matcher(out);
        if (!m.find()) {
            throw new IllegalStateException("no ICMP counter in " + ns + ": " + out);
        }
        return Long.parseLong(m.group(1));
    }

    private boolean icmpCounter;

    /** Frames {@code eth0} received. */
    public long rxPackets() {
        return stats().rxPackets();
    }

    /** Frames {@code eth0} sent. */
    public long txPackets() {
        return stats().txPackets();
    }

    /** Counters of this host's bridge port, seen from the switch. */
    public LinkStats portStats() {
        return LinkStats.of(switchNs, portName);
    }

    /**
     * Turns tx checksum offload ({@code tx}), TSO ({@code tso}), GSO
     * ({@code gso}) and the VLAN insert offloads ({@code txvlan}, i.e.
     * tx-vlan-hw-insert, and tx-vlan-stag-hw-insert) of {@code eth0} on or
     * off together. GRO is left alone (see {@link #setGro(boolean)}). With
     * them on (the default for a container's veth) the host hands the bridge
     * {@code CHECKSUM_PARTIAL} super-frames of up to 64 KiB and VLAN tags
     * outside the frame data (skb->vlan_tci); XDP redirect loses both, so a
     * native XDP fast path is exact only with them off (docs/PLATFORM.md,
     * docs/design.md).
     */
    public void setOffloads(boolean on) {
        String v = on ? "on" : "off";
        ns.exec("ethtool", "-K", ifname, "tx", v, "tso", v, "gso", v, "txvlan", v, "tx-vlan-stag-hw-insert", v);
    }

    /**
     * Only the VLAN insert offloads of {@code eth0} (tx-vlan-hw-insert and
     * tx-vlan-stag-hw-insert), leaving checksum and segmentation offloads as
     * they are.
     */
    public void setVlanInsert(boolean on) {
        String v = on ? "on" : "off";
        ns.exec("ethtool", "-K", ifname, "txvlan", v, "tx-vlan-stag-hw-insert", v);
    }

    /**
     * GRO on {@code eth0}. It also gives the veth a NAPI instance, which a
     * veth needs to accept frames that XDP redirects to its peer (the bridge
     * port) with {@code ndo_xdp_xmit}; without one (nor an XDP program on
     * {@code eth0}) they are dropped silently.
     */
    public void setGro(boolean on) {
        ns.exec("ethtool", "-K", ifname, "gro", on ? "on" : "off");
    }

    /** Changes {@code eth0}'s MAC, e.g. to make a host move or collide with another. */
    public void setMac(String newMac) {
        Objects.requireNonNull(newMac);
        ns.ip("link", "set", "dev", ifname, "address", newMac);
        this.mac = newMac.toLowerCase(Locale.ROOT);
    }

    /**
     * Brings {@code eth0} up or down; the bridge port loses carrier with it.
     * Up waits until the port forwards again and {@code eth0} can send.
     */
    public void setLinkUp(boolean up) {
        ns.ip("link", "set", "dev", ifname, up ? "up" : "down");
        if (up) {
            awaitForwarding(Duration.ofSeconds(5));
        }
    }

    /**
     * The bridge port's STP state as the bridge reports it: {@code forwarding},
     * {@code disabled}, {@code blocking}, {@code listening} or {@code learning}.
     */
    public String portState() {
        String out = switchNs.ip("-j", "-d", "link", "show", "dev", portName).stdout();
        try {
            JsonNode info = JSON.readTree(out).path(0).path("linkinfo").path("info_slave_data");
            String state = info.path("state").asText("");
            if (state.isEmpty()) {
                throw new IllegalStateException(portName + " is not a bridge port in " + switchNs + ": " + out);
            }
            return state;
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("cannot parse `ip -j -d link show dev " + portName + "`: " + out, e);
        }
    }

    /**
     * Waits until the bridge port forwards and {@code eth0} is operationally
     * up. A veth's carrier reaches the bridge and the qdisc layer through
     * linkwatch, a little after {@code ip link set up} returns; frames sent
     * before that are dropped.
     */
    void awaitForwarding(Duration timeout) {
        long end = System.nanoTime() + timeout.toNanos();
        String last = "";
        while (true) {
            String state = portState();
            String oper = operstate();
            if (state.equals("forwarding") && oper.equals("UP")) {
                return;
            }
            last = portName + " " + state + ", " + ifname + " " + oper;
            if (System.nanoTime() > end) {
                throw new IllegalStateException("host " + number + " not ready after " + timeout.toMillis() + " ms: " + last);
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted waiting for host " + number, e);
            }
        }
    }

    private String operstate() {
        String out = ns.ip("-j", "link", "show", "dev", ifname).stdout();
        try {
            return JSON.readTree(out).path(0).path("operstate").asText("");
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("cannot parse `ip -j link show dev " + ifname + "`: " + out, e);
        }
    }

    @Override
    public String toString() {
        return "host " + number + " (" + ns.name() + ", " + ip + ", " + mac + ", port " + portName + ")";
    }
}
