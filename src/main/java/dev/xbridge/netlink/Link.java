package dev.xbridge.netlink;

import static dev.xbridge.netlink.IfInfoMsg.*;

import dev.xbridge.sys.Socket;
import java.lang.foreign.MemorySegment;
import java.util.OptionalInt;

/**
 * A network device as an RTM_NEWLINK / RTM_DELLINK message describes it.
 *
 * <p>{@code family} is AF_UNSPEC for the generic link messages and AF_BRIDGE for the bridge's
 * own per-port messages (which carry IFLA_PROTINFO but no IFLA_LINKINFO, so {@code kind} is
 * "" there). {@code flags} are IFF_*; {@code master} is the bridge ifindex of a port, 0 if
 * none; {@code link} is IFLA_LINK (a veth's peer ifindex, in {@code linkNetnsId}'s namespace
 * when that is present). {@code bridge} is set for a bridge whose INFO_DATA was sent,
 * {@code port} for a bridge port; {@code xdpAttachMode} is XDP_ATTACHED_* (0 none).
 * {@code promiscuity} is IFLA_PROMISCUITY: the device is promiscuous when it is above 0, which
 * {@code flags} does not show when a packet socket (tcpdump) asked for it, because rtnetlink
 * reports IFF_PROMISC from dev->gflags (dev_get_flags()) and PACKET_MR_PROMISC does not set those.
 */
public record Link(int family, int index, String name, String kind, String slaveKind, int master, int flags,
                   OperState operState, int mtu, MacAddress address, int link, OptionalInt linkNetnsId,
                   BridgeInfo bridge, BridgePortInfo port, int xdpAttachMode, int xdpProgId, int promiscuity) {

    static final int MAX_ATTR = 80;

    public boolean isUp() {
        return (flags & IFF_UP) != 0;
    }

    public boolean isBridge() {
        return "bridge".equals(kind);
    }

    public boolean isBridgePort() {
        return port != null || "bridge".equals(slaveKind);
    }

    /** Decodes the RTM_NEWLINK/RTM_DELLINK message whose nlmsghdr is at {@code off}. */
    static Link decode(MemorySegment s, long off) {
        AttrTable a = Messages.attrs(s, off, IfInfoMsg.SIZE, MAX_ATTR);
        long ifi = off + NlMsgHdr.SIZE;
        int family = IfInfoMsg.family(s, ifi);

        String kind = "";
        String slaveKind = "";
        BridgeInfo bridge = null;
        BridgePortInfo port = null;
        AttrTable info = a.nested(IFLA_LINKINFO, 8, "IFLA_LINKINFO");
        if (info != null) {
            kind = info.string(IFLA_INFO_KIND, "");
            slaveKind = info.string(IFLA_INFO_SLAVE_KIND, "");
            if (kind.equals("bridge")) {
                AttrTable data = info.nested(IFLA_INFO_DATA, BridgeInfo.MAX_ATTR, "IFLA_INFO_DATA");
                if (data != null) {
                    bridge = BridgeInfo.decode(data);
                }
            }
            if (slaveKind.equals("bridge")) {
                AttrTable data = info.nested(IFLA_INFO_SLAVE_DATA, BridgePortInfo.MAX_ATTR, "IFLA_INFO_SLAVE_DATA");
                if (data != null) {
                    port = BridgePortInfo.decode(data);
                }
            }
        }
        // IFLA_PROTINFO means IFLA_BRPORT_* only in AF_BRIDGE messages (AF_INET6 uses it for IFLA_INET6_*).
        if (family == Socket.AF_BRIDGE && port == null) {
            AttrTable protinfo = a.nested(IFLA_PROTINFO, BridgePortInfo.MAX_ATTR, "IFLA_PROTINFO");
            if (protinfo != null) {
                port = BridgePortInfo.decode(protinfo);
            }
        }

        int xdpMode = 0;
        int xdpProg = 0;
        AttrTable xdp = a.nested(IFLA_XDP, 16, "IFLA_XDP");
        if (xdp != null) {
            xdpMode = xdp.u8(IFLA_XDP_ATTACHED, 0);
            xdpProg = xdp.u32(IFLA_XDP_PROG_ID, 0);
        }

        byte[] addr = a.bytes(IFLA_ADDRESS);
        return new Link(
                family,
                IfInfoMsg.index(s, ifi),
                a.string(IFLA_IFNAME, ""),
                kind,
                slaveKind,
                a.u32(IFLA_MASTER, 0),
                IfInfoMsg.flags(s, ifi),
                OperState.of(a.u8(IFLA_OPERSTATE, 0)),
                a.u32(IFLA_MTU, 0),
                addr != null && addr.length == 6 ? MacAddress.of(addr) : null,
                a.u32(IFLA_LINK, 0),
                a.has(IFLA_LINK_NETNSID) ? OptionalInt.of(a.u32(IFLA_LINK_NETNSID, 0)) : OptionalInt.empty(),
                bridge,
                port,
                xdpMode,
                xdpProg,
                a.u32(IFLA_PROMISCUITY, 0));
    }
}
