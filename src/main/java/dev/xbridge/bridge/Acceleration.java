package dev.xbridge.bridge;

import dev.xbridge.netlink.BridgePortInfo;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Decides, for one port, whether the datapath may run there, and states why
 * not. The rule: attach only where the fast path is exact; otherwise leave
 * the port to the kernel and say so.
 *
 * @param bridges bridge names to accelerate; empty means all
 * @param ports port names to accelerate; empty means all
 */
public record Acceleration(Set<String> bridges, Set<String> ports) {

    public static Acceleration all() {
        return new Acceleration(Set.of(), Set.of());
    }

    public PortPlan plan(Bridge bridge, Port port, Peer peer) {
        if (!bridges.isEmpty() && !bridges.contains(bridge.name())) {
            return PortPlan.off("bridge " + bridge.name() + " not selected (--bridge)");
        }
        if (!ports.isEmpty() && !ports.contains(port.name())) {
            return PortPlan.off("port not selected (--port)");
        }
        if (bridge.vlanFiltering()) {
            return PortPlan.off("bridge " + bridge.name() + " has VLAN filtering, which xbridge does not mirror yet");
        }
        if (!port.isVeth()) {
            String kind = port.link().kind().isEmpty() ? "a physical or unknown device" : "kind " + port.link().kind();
            return PortPlan.off(kind + ": only veth ports are verified for XDP redirect so far");
        }
        if (!peer.found()) {
            return PortPlan.off("veth peer not reachable: " + peer.problem());
        }
        // From here the port can take redirected frames: xbridge turns GRO on at the peer if needed.
        if (!peer.sendsFinishedFrames()) {
            return new PortPlan(false, false, true, "peer " + peer.where() + " sends with " + peer.offloadsOn()
                    + " on: native XDP would break its TCP; egress only");
        }
        List<String> aside = stepAsideReasons(bridge, port.info());
        if (!aside.isEmpty()) {
            return new PortPlan(true, true, true, "kernel handles this port's frames: " + String.join(", ", aside));
        }
        return PortPlan.accelerated();
    }

    /** Port and bridge state whose effect on a frame only the kernel applies. */
    static List<String> stepAsideReasons(Bridge bridge, BridgePortInfo info) {
        List<String> why = new ArrayList<>();
        if (bridge.isPromiscuous()) {
            why.add("bridge " + bridge.name() + " is promiscuous (the kernel also passes forwarded frames up)");
        }
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
        return why;
    }
}
