/**
 * rtnetlink over FFM: links, bridge ports and the bridge FDB as the kernel reports them.
 *
 * <p>{@link dev.xbridge.netlink.RtNetlink} asks (dumps, gets, FDB changes, each acked);
 * {@link dev.xbridge.netlink.RtMonitor} listens to RTNLGRP_LINK and RTNLGRP_NEIGH.
 * The wire structs are read through flyweights ({@link dev.xbridge.netlink.NlMsgHdr},
 * {@link dev.xbridge.netlink.IfInfoMsg}, {@link dev.xbridge.netlink.NdMsg},
 * {@link dev.xbridge.netlink.NlMsgErr}, {@link dev.xbridge.netlink.RtAttr}) and decoded into
 * plain records ({@link dev.xbridge.netlink.Link}, {@link dev.xbridge.netlink.FdbEntry}).
 * Every length the kernel sends is checked before it is trusted: a malformed message raises
 * {@link dev.xbridge.netlink.MalformedMessageException}, never a loop or garbage.
 */
package dev.xbridge.netlink;
