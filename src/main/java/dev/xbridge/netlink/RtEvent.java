package dev.xbridge.netlink;

/** A change the kernel announced on RTNLGRP_LINK, RTNLGRP_NEIGH, RTNLGRP_TC or RTNLGRP_BRVLAN, as {@link RtMonitor} delivers it. */
public sealed interface RtEvent {
    /** RTM_NEWLINK: a link appeared or changed. {@code link.family()} is AF_BRIDGE for the bridge's port messages. */
    record LinkChanged(Link link) implements RtEvent {}

    /**
     * RTM_DELLINK. With family AF_BRIDGE it means "no longer a port of that bridge": the device
     * may well still exist (a port that left its bridge).
     */
    record LinkDeleted(Link link) implements RtEvent {}

    /** AF_BRIDGE RTM_NEWNEIGH: an FDB entry was added, learned, moved or changed. */
    record FdbChanged(FdbEntry e) implements RtEvent {}

    /** AF_BRIDGE RTM_DELNEIGH: an FDB entry was deleted or aged out. */
    record FdbDeleted(FdbEntry e) implements RtEvent {}

    /**
     * RTM_NEWVLAN or RTM_DELVLAN on RTNLGRP_BRVLAN: some VLANs of {@code ifindex} were added,
     * changed or deleted. The caller asks the kernel for the port's VLANs again.
     */
    record VlansChanged(int ifindex) implements RtEvent {}

    /**
     * RTNLGRP_TC: a qdisc or filter was added, changed or deleted on {@code tc.ifindex()}
     * (RTM_NEWQDISC, RTM_DELQDISC, RTM_NEWTFILTER, RTM_DELTFILTER).
     */
    record TcChanged(TcObject tc) implements RtEvent {}

    /** ENOBUFS on the monitor socket: notifications were lost; the caller must dump again to resync. */
    record Overrun() implements RtEvent {}
}
