package dev.xbridge.testbed;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A Linux bridge with hosts: one "switch" namespace holding the bridge, and
 * one namespace per {@link Host}, wired to a bridge port by a veth pair.
 *
 * <pre>
 *   [host 1: eth0] ---veth--- p1 \
 *   [host 2: eth0] ---veth--- p2 -- br0   (switch netns)
 *   [host N: eth0] ---veth--- pN /
 * </pre>
 *
 * Hosts are numbered from 1, like their port {@code pN}, MAC and address
 * {@code 198.18.0.N/24}; they can join and leave while the lab runs. The bridge
 * has STP off and no addresses. Unless {@link Builder#ipv6(boolean)} asks for
 * it, IPv6 is off in every namespace, so that no router solicitations, DAD or
 * MLD reports reach the FDB or the counters: the only traffic is the test's.
 *
 * <p>{@link #close()} deletes every namespace the lab made, whatever state it
 * is in; namespaces still open at JVM exit are deleted by a shutdown hook.
 */
public final class BridgeLab implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(BridgeLab.class.getName());
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration READY = Duration.ofSeconds(5);
    static final String HOST_IFNAME = "eth0";

    private final Builder config;
    private final Netns switchNs;
    private final List<Host> hosts = new ArrayList<>();
    private int nextNumber = 1;
    private boolean closed;

    private BridgeLab(Builder config, Netns switchNs) {
        this.config = config;
        this.switchNs = switchNs;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** How to build a lab; every setting has a default. */
    public static final class Builder {
        private String prefix = "xbt";
        private int hosts = 2;
        private String bridgeName = "br0";
        private Duration ageingTime;
        private boolean hostOffloads = true;
        private boolean ipv6;

        private Builder() {}

        /** The start of every namespace name, default {@code xbt} (switch {@code xbt-sw-XXXXXX}, hosts {@code xbt-hN-XXXXXX}). */
        public Builder prefix(String prefix) {
            this.prefix = Objects.requireNonNull(prefix);
            return this;
        }

        /** How many hosts to start with, default 2. */
        public Builder hosts(int hosts) {
            if (hosts < 0 || hosts > 254) {
                throw new IllegalArgumentException("hosts must be 0..254: " + hosts);
            }
            this.hosts = hosts;
            return this;
        }

        /** The bridge's name in the switch namespace, default {@code br0}. */
        public Builder bridgeName(String bridgeName) {
            if (bridgeName.isEmpty() || bridgeName.length() > 15) {
                throw new IllegalArgumentException("interface names have 1 to 15 characters (IFNAMSIZ): " + bridgeName);
            }
            this.bridgeName = bridgeName;
            return this;
        }

        /** How long the bridge keeps an FDB entry it has not seen traffic for; default the kernel's, 300 s. */
        public Builder ageingTime(Duration ageingTime) {
            if (ageingTime.isNegative()) {
                throw new IllegalArgumentException("negative ageing time: " + ageingTime);
            }
            this.ageingTime = ageingTime;
            return this;
        }

        /**
         * Whether hosts keep tx checksum offload, TSO, GSO and VLAN tag
         * insertion on {@code eth0}: on by default, as in a container; off is
         * what native XDP on veth needs to be exact (see
         * {@link Host#setOffloads(boolean)}).
         */
        public Builder hostOffloads(boolean on) {
            this.hostOffloads = on;
            return this;
        }

        /** Whether IPv6 stays on in the lab's namespaces; off by default to keep them quiet. */
        public Builder ipv6(boolean on) {
            this.ipv6 = on;
            return this;
        }

        /** Creates the namespaces, the bridge and the hosts; on failure removes what it made and throws. */
        public BridgeLab build() {
            Netns sw = Netns.create(prefix + "-sw");
            BridgeLab lab = new BridgeLab(this, sw);
            try {
                lab.quiet(sw);
                List<String> add = new ArrayList<>(List.of("link", "add", "name", bridgeName, "type", "bridge"));
                if (ageingTime != null) {
                    // IFLA_BR_AGEING_TIME is in clock_t, USER_HZ = 100 per second.
                    add.addAll(List.of("ageing_time", Long.toString(ageingTime.toMillis() / 10)));
                }
                sw.ip(add.toArray(String[]::new));
                sw.ip("link", "set", "dev", bridgeName, "up");
                for (int i = 0; i < hosts; i++) {
                    lab.addHost();
                }
                return lab;
            } catch (RuntimeException e) {
                lab.close();
                throw e;
            }
        }
    }

    public Netns switchNs() {
        return switchNs;
    }

    /** The bridge's name in {@link #switchNs()}. */
    public String bridge() {
        return config.bridgeName;
    }

    /** The hosts now in the lab, in the order they joined. */
    public synchronized List<Host> hosts() {
        return List.copyOf(hosts);
    }

    /** The host numbered {@code number} (1 for the first: port p1, 198.18.0.1). */
    public synchronized Host host(int number) {
        for (Host h : hosts) {
            if (h.number() == number) {
                return h;
            }
        }
        throw new IllegalArgumentException("no host " + number + " in this lab (hosts are numbered from 1, like their "
                + "address 198.18.0.N; present: " + hosts.stream().map(Host::number).toList() + ")");
    }

    /**
     * Adds a host with the next unused number (numbers are not reused, so a
     * new host never inherits a departed one's MAC), plugs it into the bridge
     * and waits until its port forwards.
     */
    public synchronized Host addHost() {
        if (closed) {
            throw new IllegalStateException("lab is closed");
        }
        int number = nextNumber++;
        Host.checkNumber(number);
        String port = "p" + number;
        Netns ns = Netns.create(config.prefix + "-h" + number);
        Host host = new Host(ns, switchNs, number, port, HOST_IFNAME, Host.macOf(number), Host.ipOf(number));
        try {
            quiet(ns);
            switchNs.ip("link", "add", "name", port, "type", "veth", "peer", "name", HOST_IFNAME, "netns", ns.name());
            ns.ip("link", "set", "dev", HOST_IFNAME, "address", host.mac());
            ns.ip("addr", "add", host.ip() + "/24", "dev", HOST_IFNAME);
            if (!config.hostOffloads) {
                host.setOffloads(false);
            }
            ns.ip("link", "set", "dev", HOST_IFNAME, "up");
            switchNs.ip("link", "set", "dev", port, "master", config.bridgeName, "up");
            host.awaitForwarding(READY);
        } catch (RuntimeException e) {
            // Deleting the port deletes both ends now; the namespace's own teardown would be asynchronous.
            switchNs.tryExec("ip", "link", "del", "dev", port);
            ns.close();
            throw e;
        }
        hosts.add(host);
        return host;
    }

    /**
     * Unplugs {@code host} and deletes its namespace. Its port is gone from
     * the bridge (with its FDB entries) when this returns.
     */
    public synchronized void removeHost(Host host) {
        if (!hosts.remove(host)) {
            throw new IllegalArgumentException(host + " is not in this lab");
        }
        try {
            switchNs.ip("link", "del", "dev", host.portName());
        } finally {
            host.ns().close();
        }
    }

    /**
     * The FDB entries the bridge learned (not the permanent ones of its own
     * ports): MAC, lower case, to port name. From {@code bridge fdb show}.
     */
    public Map<String, String> learned() {
        String out = switchNs.exec("bridge", "-j", "fdb", "show", "br", config.bridgeName).stdout();
        Map<String, String> macs = new LinkedHashMap<>();
        try {
            for (JsonNode entry : JSON.readTree(out)) {
                boolean permanent = false;
                for (JsonNode flag : entry.path("flags")) {
                    permanent |= flag.asText().equals("self");
                }
                String state = entry.path("state").asText("");
                if (!permanent && !state.equals("permanent") && !state.equals("static") && entry.has("master")) {
                    macs.put(entry.path("mac").asText().toLowerCase(java.util.Locale.ROOT), entry.path("ifname").asText());
                }
            }
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("cannot parse `bridge -j fdb show`: " + out, e);
        }
        return macs;
    }

    /** Names of every namespace of this lab now: the switch first, then the hosts. */
    public synchronized List<String> namespaceNames() {
        List<String> names = new ArrayList<>();
        names.add(switchNs.name());
        hosts.forEach(h -> names.add(h.ns().name()));
        return names;
    }

    private void quiet(Netns ns) {
        if (!config.ipv6) {
            // "default" before any interface exists covers the ones made later; "all" the ones already there.
            ns.exec("sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1");
        }
    }

    /** Deletes every namespace of the lab; idempotent, never throws. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (Host h : hosts) {
            h.ns().close();
        }
        hosts.clear();
        switchNs.close();
        LOG.log(Level.DEBUG, "lab {0} closed", switchNs.name());
    }
}
