package dev.xbridge.bridge;

import dev.xbridge.netlink.BridgeInfo;
import dev.xbridge.netlink.Link;
import dev.xbridge.netlink.MacAddress;

/** A bridge device, as the kernel last described it. */
public record Bridge(Link link) {
    /** IFF_PROMISC in include/uapi/linux/if.h */
    static final int IFF_PROMISC = 0x100;

    public int index() {
        return link.index();
    }

    public String name() {
        return link.name();
    }

    public boolean isUp() {
        return link.isUp();
    }

    public MacAddress address() {
        return link.address();
    }

    /**
     * With the bridge device promiscuous (tcpdump on it, for one),
     * br_handle_frame_finish() also passes every forwarded frame up to the
     * host ({@code local_rcv = !!(br->dev->flags & IFF_PROMISC)}); only the
     * kernel can do that. tcpdump's promiscuity shows only in
     * IFLA_PROMISCUITY, not in the reported flags.
     */
    public boolean isPromiscuous() {
        return (link.flags() & IFF_PROMISC) != 0 || link.promiscuity() > 0;
    }

    public boolean vlanFiltering() {
        BridgeInfo info = link.bridge();
        return info != null && info.vlanFiltering();
    }

    /** ageing_time in centiseconds (clock_t), -1 when the kernel did not say. */
    public long ageingCentis() {
        BridgeInfo info = link.bridge();
        return info == null ? -1 : info.ageingTimeCentis();
    }
}
