package dev.xbridge.bridge;

import dev.xbridge.netlink.BridgePortInfo;
import dev.xbridge.netlink.Link;
import dev.xbridge.netlink.PortVlan;
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
 *
 * <p>VLANs of ports and bridges come from the bridge VLAN database (RTM_GETVLAN), which
 * also has the per-VLAN STP state no link message carries. {@link #vlanProblem()} says why
 * it could not be read, if so; VLAN-filtering bridges are then left to the kernel.
 */
public final class KernelState {
    private static final int AF_BRIDGE = 7;

    private final Map<Integer, Link> links;
    private final Map<Integer, BridgePortInfo> portInfo;
    private final Map<Integer, List<PortVlan>> vlans;
    private final String vlanProblem;

    private KernelState(Map<Integer, Link> links, Map<Integer, BridgePortInfo> portInfo,
            Map<Integer, List<PortVlan>> vlans, String vlanProblem) {
        this.links = Map.copyOf(links);
        this.portInfo = Map.copyOf(portInfo);
        this.vlans = Map.copyOf(vlans);
        this.vlanProblem = vlanProblem;
    }

    private KernelState(Map<Integer, Link> links, Map<Integer, BridgePortInfo> portInfo, KernelState vlansOf) {
        this(links, portInfo, vlansOf.vlans, vlansOf.vlanProblem);
    }

    public static KernelState empty() {
        return new KernelState(Map.of(), Map.of(), Map.of(), "not read yet");
    }

    /** Every VLAN of every port and bridge, from a full RTM_GETVLAN dump. */
    public KernelState withAllVlans(List<PortVlan> all) {
        Map<Integer, List<PortVlan>> v = new HashMap<>();
        for (PortVlan pv : all) {
            v.computeIfAbsent(pv.ifindex(), k -> new ArrayList<>()).add(pv);
        }
        v.replaceAll((k, list) -> List.copyOf(list));
        return new KernelState(links, portInfo, v, null);
    }

    /** The VLANs of one port or bridge, from a dump of its VLANs after RTNLGRP_BRVLAN said they changed. */
    public KernelState withVlans(int ifindex, List<PortVlan> of) {
        Map<Integer, List<PortVlan>> v = new HashMap<>(vlans);
        v.put(ifindex, List.copyOf(of));
        return new KernelState(links, portInfo, v, vlanProblem);
    }

    /** Forgets the VLANs of {@code ifindex}: not a port or bridge now, or not readable; read again when it is. */
    public KernelState withoutVlansOf(int ifindex) {
        Map<Integer, List<PortVlan>> v = new HashMap<>(vlans);
        v.remove(ifindex);
        return new KernelState(links, portInfo, v, vlanProblem);
    }

    /** The VLAN database cannot be read (e.g. a kernel without it); {@code why} says so in status. */
    public KernelState withoutVlans(String why) {
        return new KernelState(links, portInfo, Map.of(), why);
    }

    /** The VLANs of a port or bridge: empty when it has none or they are not known. */
    public List<PortVlan> vlans(int ifindex) {
        return vlans.getOrDefault(ifindex, List.of());
    }

    /** Whether the VLAN database has been read for {@code ifindex} (it may have no VLANs). */
    public boolean vlansKnown(int ifindex) {
        return vlans.containsKey(ifindex);
    }

    /** Why the VLAN database could not be read, or null when it was. */
    public String vlanProblem() {
        return vlanProblem;
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
        return new KernelState(l, p, Map.of(), "not read yet");
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
            return new KernelState(l, p, this);
        }
        l.put(link.index(), link);
        if (link.port() != null) {
            p.put(link.index(), link.port());
        } else if (link.master() == 0) {
            p.remove(link.index());
        }
        return new KernelState(l, p, this);
    }

    /** After RTM_DELLINK. */
    public KernelState withoutLink(Link link) {
        Map<Integer, BridgePortInfo> p = new HashMap<>(portInfo);
        p.remove(link.index());
        if (link.family() == AF_BRIDGE) {
            return new KernelState(links, p, this);
        }
        Map<Integer, Link> l = new HashMap<>(links);
        l.remove(link.index());
        Map<Integer, List<PortVlan>> v = new HashMap<>(vlans);
        v.remove(link.index());
        return new KernelState(l, p, v, vlanProblem);
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
