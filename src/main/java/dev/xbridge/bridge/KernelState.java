package dev.xbridge.bridge;

import dev.xbridge.netlink.BridgePortInfo;
import dev.xbridge.netlink.Link;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * An immutable snapshot of the namespace's links as far as bridges are
 * concerned. Each rtnetlink link message yields a new snapshot.
 *
 * <p>Port attributes arrive two ways: AF_UNSPEC messages carry them in
 * IFLA_LINKINFO/IFLA_INFO_SLAVE_DATA, AF_BRIDGE messages (br_ifinfo_notify,
 * sent for STP state changes and {@code bridge link set}) in IFLA_PROTINFO.
 * Whichever came last wins. An AF_BRIDGE RTM_DELLINK means "no longer a
 * port", not "device gone".
 */
public final class KernelState {
    private static final int AF_BRIDGE = 7;

    private final Map<Integer, Link> links;
    private final Map<Integer, BridgePortInfo> portInfo;

    private KernelState(Map<Integer, Link> links, Map<Integer, BridgePortInfo> portInfo) {
        this.links = Map.copyOf(links);
        this.portInfo = Map.copyOf(portInfo);
    }

    public static KernelState empty() {
        return new KernelState(Map.of(), Map.of());
    }

    /** From an AF_UNSPEC link dump and an AF_BRIDGE link dump. */
    public static KernelState of(List<Link> links, List<Link> bridgePorts) {
        KernelState s = empty();
        Map<Integer, Link> l = new HashMap<>();
        Map<Integer, BridgePortInfo> p = new HashMap<>();
        for (Link link : links) {
            l.put(link.index(), link);
            if (link.port() != null) {
                p.put(link.index(), link.port());
            }
        }
        for (Link link : bridgePorts) {
            if (link.port() != null) {
                p.put(link.index(), link.port());
            }
        }
        return new KernelState(l, p);
    }

    /** After RTM_NEWLINK. */
    public KernelState withLink(Link link) {
        Map<Integer, Link> l = new HashMap<>(links);
        Map<Integer, BridgePortInfo> p = new HashMap<>(portInfo);
        if (link.family() == AF_BRIDGE) {
            if (link.port() != null) {
                p.put(link.index(), link.port());
            }
            // AF_BRIDGE messages describe the port, not the device: keep the AF_UNSPEC view of it.
            return new KernelState(l, p);
        }
        l.put(link.index(), link);
        if (link.port() != null) {
            p.put(link.index(), link.port());
        } else if (link.master() == 0) {
            p.remove(link.index());
        }
        return new KernelState(l, p);
    }

    /** After RTM_DELLINK. */
    public KernelState withoutLink(Link link) {
        Map<Integer, BridgePortInfo> p = new HashMap<>(portInfo);
        p.remove(link.index());
        if (link.family() == AF_BRIDGE) {
            return new KernelState(links, p);
        }
        Map<Integer, Link> l = new HashMap<>(links);
        l.remove(link.index());
        return new KernelState(l, p);
    }

    public Optional<Link> link(int index) {
        return Optional.ofNullable(links.get(index));
    }

    public Optional<Link> link(String name) {
        return links.values().stream().filter(l -> l.name().equals(name)).findFirst();
    }

    public Optional<Bridge> bridge(int index) {
        Link l = links.get(index);
        return l != null && l.isBridge() ? Optional.of(new Bridge(l)) : Optional.empty();
    }

    public List<Bridge> bridges() {
        return links.values().stream()
                .filter(Link::isBridge)
                .map(Bridge::new)
                .sorted(Comparator.comparing(Bridge::name))
                .toList();
    }

    /** Ports of every bridge, by name. */
    public List<Port> ports() {
        List<Port> out = new ArrayList<>();
        for (Link l : links.values()) {
            Link master = links.get(l.master());
            if (l.master() != 0 && master != null && master.isBridge()) {
                out.add(new Port(l, portInfo.get(l.index())));
            }
        }
        out.sort(Comparator.comparing(Port::name));
        return out;
    }

    public List<Port> ports(int bridge) {
        return ports().stream().filter(p -> p.bridge() == bridge).toList();
    }

    public Optional<Port> port(int index) {
        return ports().stream().filter(p -> p.index() == index).findFirst();
    }
}
