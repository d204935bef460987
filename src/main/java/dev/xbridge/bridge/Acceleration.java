package dev.xbridge.bridge;

import dev.xbridge.netlink.BridgePortInfo;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Decides, for one port, which hook runs there and why. The rule: native XDP
 * only where it is exact and measured to be (a veth whose peer sends
 * finished frames, at an MTU a page holds); TC ingress elsewhere, which keeps
 * checksum and GSO state; never generic XDP. Overrides per port beat those
 * per bridge, which beat the automatic choice.
 *
 * @param bridges bridge names to accelerate; empty means all
 * @param ports port names to accelerate; empty means all
 * @param overrides hook choice by port or bridge name (interface names are unique in a namespace)
 */
public record Acceleration(Set<String> bridges, Set<String> ports, Map<String, HookChoice> overrides) {

    public Acceleration {
        bridges = Set.copyOf(bridges);
        ports = Set.copyOf(ports);
        overrides = Map.copyOf(overrides);
    }

    public static Acceleration all() {
        return new Acceleration(Set.of(), Set.of(), Map.of());
    }

    /** The override that applies to {@code port}, and where it came from, or AUTO. */
    HookChoice choice(Bridge bridge, Port port) {
        return overrides.getOrDefault(port.name(), overrides.getOrDefault(bridge.name(), HookChoice.AUTO));
    }

    public PortPlan plan(Bridge bridge, Port port, Peer peer) {
        return plan(bridge, port, peer, Optional.empty());
    }

    /**
     * @param daemonAside why the kernel must see this port's frames for a reason the daemon found
     *     (netfilter would see the bridge's frames, {@link Netfilter#reason}; the port's VLANs
     *     are unknown), which makes the port step aside
     */
    public PortPlan plan(Bridge bridge, Port port, Peer peer, Optional<String> daemonAside) {
        if (!bridges.isEmpty() && !bridges.contains(bridge.name())) {
            return PortPlan.off("bridge " + bridge.name() + " not selected (--bridge)");
        }
        if (!ports.isEmpty() && !ports.contains(port.name())) {
            return PortPlan.off("port not selected (--port)");
        }
        HookChoice choice = choice(bridge, port);
        String by = overrides.containsKey(port.name()) ? "override --hook " + port.name() + "=" + choice.key()
                : "override --hook " + bridge.name() + "=" + choice.key();
        if (choice == HookChoice.OFF) {
            // Still a redirect target: the kernel path into it is unchanged either way.
            return new PortPlan(null, false, true, peerRedirect(port, peer), by + ": left to the kernel", null);
        }
        boolean peerRedirect = peerRedirect(port, peer);
        List<String> aside = stepAsideReasons(bridge, port.info());
        daemonAside.ifPresent(aside::add);
        boolean stepAside = !aside.isEmpty();
        String asideNote = stepAside ? "; kernel handles this port's frames: " + String.join(", ", aside) : "";
        String xdpProblem = xdpProblem(port, peer);

        if (choice == HookChoice.TC) {
            return new PortPlan(Hook.Kind.TC, stepAside, true, peerRedirect, by + asideNote, null);
        }
        if (choice == HookChoice.XDP) {
            String warning = xdpProblem == null ? null
                    : by + " although " + xdpProblem + ": frames from this port may be lost";
            return new PortPlan(Hook.Kind.XDP, stepAside, true, peerRedirect, by + asideNote, warning);
        }
        if (xdpProblem == null) {
            return new PortPlan(Hook.Kind.XDP, stepAside, true, peerRedirect, "native XDP: peer " + peer.where()
                    + " sends finished frames (tx-checksumming, TSO, GSO, " + Peer.TX_VLAN_INSERT + ", "
                    + Peer.TX_STAG_INSERT + " off; MTU " + peer.mtu() + ")" + asideNote,
                    null);
        }
        return new PortPlan(Hook.Kind.TC, stepAside, true, peerRedirect, "TC: " + xdpProblem + asideNote, null);
    }

    /**
     * Why native XDP would not be exact on this port, or null when it would. XDP
     * loses CHECKSUM_PARTIAL on redirect and drops GSO frames larger than a page
     * without xdp.frags (measured: TCP stalls; ../shared/docs/PLATFORM.md), and
     * neither sees nor keeps a VLAN tag the peer left in skb->vlan_tci
     * ({@link Peer#sendsFinishedFrames}).
     */
    static String xdpProblem(Port port, Peer peer) {
        if (!port.isVeth()) {
            String kind = port.link().kind().isEmpty() ? "a physical or unknown device" : "kind " + port.link().kind();
            return kind + " (native XDP is verified on veth only so far)";
        }
        if (!peer.found()) {
            return "veth peer not reachable (" + peer.problem() + "), so its offloads are unknown";
        }
        if (!peer.sendsFinishedFrames()) {
            return "peer " + peer.where() + " sends with " + peer.offloadsOn()
                    + " on, whose " + peer.whatXdpWouldLose() + " native XDP would lose";
        }
        if (peer.mtu() > Peer.VETH_XDP_MAX_MTU) {
            return "peer MTU " + peer.mtu() + " is above " + Peer.VETH_XDP_MAX_MTU
                    + ", the most native XDP on veth takes without xdp.frags";
        }
        if (port.link().mtu() > Peer.VETH_XDP_MAX_MTU) {
            return "port MTU " + port.link().mtu() + " is above " + Peer.VETH_XDP_MAX_MTU
                    + " (XDP here would cap the peer's MTU at that)";
        }
        return null;
    }

    /**
     * bpf_redirect_peer applies to a veth whose peer is in another namespace: the
     * kernel drops the frame when the peer is in the port's own (skb_do_redirect). It
     * enters the peer's receive path past the peer's own XDP program, so with one there
     * the TC entry redirects to the port's transmit instead (veth_xmit runs it).
     */
    static boolean peerRedirect(Port port, Peer peer) {
        return port.isVeth() && port.link().link() != 0 && port.link().linkNetnsId().isPresent()
                && (peer == null || peer.xdpProgId() == 0);
    }

    /** Port and bridge state whose effect on a frame only the kernel applies. */
    static List<String> stepAsideReasons(Bridge bridge, BridgePortInfo info) {
        List<String> why = new ArrayList<>();
        if (bridge.isPromiscuous()) {
            why.add("bridge " + bridge.name() + " is promiscuous (the kernel also passes forwarded frames up)");
        }
        why.addAll(vlanReasons(bridge));
        if (info == null) {
            why.add("port attributes unknown");
            return why;
        }
        if (info.locked()) {
            why.add("locked");
        }
        if (info.mab()) {
            why.add("mab");
        }
        if (info.proxyArp()) {
            why.add("proxy_arp");
        }
        if (info.proxyArpWifi()) {
            why.add("proxy_arp_wifi");
        }
        if (info.neighSuppress()) {
            why.add("neigh_suppress");
        }
        if (info.vlanTunnel() && bridge.vlanFiltering()) {
            why.add("vlan_tunnel (VLAN to tunnel ID mapping is the kernel's)");
        }
        return why;
    }

    /**
     * VLAN filtering options whose effect only the kernel applies. The datapath mirrors
     * membership, PVID, untagged egress and per-VLAN STP state (docs/semantics.md).
     */
    static List<String> vlanReasons(Bridge bridge) {
        List<String> why = new ArrayList<>();
        var info = bridge.link().bridge();
        if (!bridge.vlanFiltering() || info == null) {
            return why;
        }
        if (info.vlanStats()) {
            why.add("vlan_stats_enabled (per-VLAN counters count only frames the kernel forwards)");
        }
        if (info.mstEnabled()) {
            why.add("mst_enabled (VLAN states follow spanning tree instances xbridge does not mirror)");
        }
        if (info.vlanProtocol() != 0x8100 && info.vlanProtocol() != 0x88a8) {
            why.add(String.format("vlan_protocol 0x%04x is neither 802.1Q nor 802.1ad", info.vlanProtocol()));
        }
        return why;
    }
}
