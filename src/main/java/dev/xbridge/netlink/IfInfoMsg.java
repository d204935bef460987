package dev.xbridge.netlink;

import java.lang.foreign.MemorySegment;

/**
 * Flyweight over {@code struct ifinfomsg} (linux/rtnetlink.h) and the IFLA_* attribute
 * numbers read here (linux/if_link.h, checked against the 6.x UAPI).
 */
public final class IfInfoMsg {
    public static final int FAMILY_OFFSET = 0;
    public static final int TYPE_OFFSET = 2;
    public static final int INDEX_OFFSET = 4;
    public static final int FLAGS_OFFSET = 8;
    public static final int CHANGE_OFFSET = 12;
    public static final int SIZE = 16;

    // net/if.h IFF_*
    public static final int IFF_UP = 0x1;
    public static final int IFF_BROADCAST = 0x2;
    public static final int IFF_LOOPBACK = 0x8;
    public static final int IFF_RUNNING = 0x40;
    public static final int IFF_PROMISC = 0x100;
    public static final int IFF_LOWER_UP = 0x10000;

    // enum IFLA_*
    public static final int IFLA_ADDRESS = 1;
    public static final int IFLA_IFNAME = 3;
    public static final int IFLA_MTU = 4;
    public static final int IFLA_LINK = 5;
    public static final int IFLA_MASTER = 10;
    public static final int IFLA_PROTINFO = 12;
    public static final int IFLA_OPERSTATE = 16;
    public static final int IFLA_LINKINFO = 18;
    public static final int IFLA_AF_SPEC = 26;
    public static final int IFLA_EXT_MASK = 29;
    /** Promiscuity count: tcpdump (PACKET_MR_PROMISC) raises it without IFF_PROMISC in ifi_flags. */
    public static final int IFLA_PROMISCUITY = 30;
    public static final int IFLA_LINK_NETNSID = 37;
    public static final int IFLA_XDP = 43;

    // IFLA_LINKINFO nest: IFLA_INFO_*
    public static final int IFLA_INFO_KIND = 1;
    public static final int IFLA_INFO_DATA = 2;
    public static final int IFLA_INFO_SLAVE_KIND = 4;
    public static final int IFLA_INFO_SLAVE_DATA = 5;

    // IFLA_XDP nest: IFLA_XDP_*
    public static final int IFLA_XDP_ATTACHED = 2;
    public static final int IFLA_XDP_PROG_ID = 4;

    // IFLA_INFO_DATA of kind "bridge": IFLA_BR_*
    public static final int IFLA_BR_AGEING_TIME = 4;
    public static final int IFLA_BR_STP_STATE = 5;
    public static final int IFLA_BR_VLAN_FILTERING = 7;
    public static final int IFLA_BR_VLAN_PROTOCOL = 8;
    public static final int IFLA_BR_GROUP_FWD_MASK = 9;
    public static final int IFLA_BR_NF_CALL_IPTABLES = 36;
    public static final int IFLA_BR_NF_CALL_IP6TABLES = 37;
    public static final int IFLA_BR_NF_CALL_ARPTABLES = 38;
    public static final int IFLA_BR_VLAN_DEFAULT_PVID = 39;
    public static final int IFLA_BR_VLAN_STATS_ENABLED = 41;
    /** struct br_boolopt_multi { u32 optval; u32 optmask; } */
    public static final int IFLA_BR_MULTI_BOOLOPT = 46;

    // IFLA_PROTINFO (AF_BRIDGE) and IFLA_INFO_SLAVE_DATA of slave kind "bridge": IFLA_BRPORT_*
    public static final int IFLA_BRPORT_STATE = 1;
    public static final int IFLA_BRPORT_PRIORITY = 2;
    public static final int IFLA_BRPORT_COST = 3;
    public static final int IFLA_BRPORT_MODE = 4;
    public static final int IFLA_BRPORT_LEARNING = 8;
    public static final int IFLA_BRPORT_UNICAST_FLOOD = 9;
    public static final int IFLA_BRPORT_PROXYARP = 10;
    public static final int IFLA_BRPORT_PROXYARP_WIFI = 12;
    public static final int IFLA_BRPORT_MCAST_FLOOD = 27;
    public static final int IFLA_BRPORT_MCAST_TO_UCAST = 28;
    public static final int IFLA_BRPORT_VLAN_TUNNEL = 29;
    public static final int IFLA_BRPORT_BCAST_FLOOD = 30;
    public static final int IFLA_BRPORT_NEIGH_SUPPRESS = 32;
    public static final int IFLA_BRPORT_ISOLATED = 33;
    public static final int IFLA_BRPORT_BACKUP_PORT = 34;
    public static final int IFLA_BRPORT_LOCKED = 39;
    /** Added in 6.2 (MAC authentication bypass), after IFLA_BRPORT_LOCKED. */
    public static final int IFLA_BRPORT_MAB = 40;

    // linux/rtnetlink.h RTEXT_FILTER_* for IFLA_EXT_MASK
    public static final int RTEXT_FILTER_VF = 1;
    public static final int RTEXT_FILTER_BRVLAN = 1 << 1;
    public static final int RTEXT_FILTER_SKIP_STATS = 1 << 3;

    private IfInfoMsg() {}

    public static int family(MemorySegment s, long off) {
        return Wire.u8(s, off + FAMILY_OFFSET);
    }

    /** ARPHRD_* device type. */
    public static int type(MemorySegment s, long off) {
        return Wire.u16(s, off + TYPE_OFFSET);
    }

    public static int index(MemorySegment s, long off) {
        return Wire.u32(s, off + INDEX_OFFSET);
    }

    public static int flags(MemorySegment s, long off) {
        return Wire.u32(s, off + FLAGS_OFFSET);
    }

    public static int change(MemorySegment s, long off) {
        return Wire.u32(s, off + CHANGE_OFFSET);
    }

    public static void family(MemorySegment s, long off, int v) {
        Wire.u8(s, off + FAMILY_OFFSET, v);
    }

    public static void index(MemorySegment s, long off, int v) {
        Wire.u32(s, off + INDEX_OFFSET, v);
    }
}
