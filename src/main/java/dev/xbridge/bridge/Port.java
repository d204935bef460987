package dev.xbridge.bridge;

import dev.xbridge.netlink.BridgePortInfo;
import dev.xbridge.netlink.Link;
import dev.xbridge.netlink.PortState;

/** A bridge port: its device and its bridge port attributes (IFLA_BRPORT_*). */
public record Port(Link link, BridgePortInfo info) {
    public int index() {
        return link.index();
    }

    public String name() {
        return link.name();
    }

    public int bridge() {
        return link.master();
    }

    public PortState state() {
        return info == null ? PortState.DISABLED : info.state();
    }

    public boolean isVeth() {
        return "veth".equals(link.kind());
    }
}
