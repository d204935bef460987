package dev.xbridge.netlink;

import static dev.xbridge.netlink.IfInfoMsg.*;

/**
 * A bridge's own settings from IFLA_LINKINFO / IFLA_INFO_DATA of kind "bridge".
 * Times are clock_t (1/100 s, USER_HZ) as the kernel reports them. VLAN fields are 0
 * when the kernel lacks CONFIG_BRIDGE_VLAN_FILTERING and does not send them.
 * {@code nfCallIptables} and the like are the per-bridge br_netfilter switches
 * (IFLA_BR_NF_CALL_*), which act together with the net.bridge.bridge-nf-call-* sysctls.
 * {@code vlanStats} is IFLA_BR_VLAN_STATS_ENABLED (per-VLAN counters the kernel keeps for
 * frames it forwards), {@code boolopts} the optval of IFLA_BR_MULTI_BOOLOPT (BR_BOOLOPT_* bits).
 */
public record BridgeInfo(long ageingTimeCentis, int stpState, boolean vlanFiltering, int vlanProtocol,
                         int groupFwdMask, int defaultPvid, boolean nfCallIptables, boolean nfCallIp6tables,
                         boolean nfCallArptables, boolean vlanStats, int boolopts) {
    /** enum br_boolopt_id */
    public static final int BR_BOOLOPT_NO_LL_LEARN = 0;
    public static final int BR_BOOLOPT_MCAST_VLAN_SNOOPING = 1;
    public static final int BR_BOOLOPT_MST_ENABLE = 2;

    /** Without the two newer fields (tests). */
    public BridgeInfo(long ageingTimeCentis, int stpState, boolean vlanFiltering, int vlanProtocol,
            int groupFwdMask, int defaultPvid, boolean nfCallIptables, boolean nfCallIp6tables,
            boolean nfCallArptables) {
        this(ageingTimeCentis, stpState, vlanFiltering, vlanProtocol, groupFwdMask, defaultPvid, nfCallIptables,
                nfCallIp6tables, nfCallArptables, false, 0);
    }

    /** Multiple spanning trees (bridge mst_enabled, Linux 5.18+): VLAN states come from MSTIs. */
    public boolean mstEnabled() {
        return (boolopts & (1 << BR_BOOLOPT_MST_ENABLE)) != 0;
    }

    static BridgeInfo decode(AttrTable data) {
        return new BridgeInfo(
                data.u32(IFLA_BR_AGEING_TIME, 0) & 0xffffffffL,
                data.u32(IFLA_BR_STP_STATE, 0),
                data.flag(IFLA_BR_VLAN_FILTERING),
                // nla_put_be16: 0x8100 on the wire is 81 00
                data.be16(IFLA_BR_VLAN_PROTOCOL, 0),
                data.u16(IFLA_BR_GROUP_FWD_MASK, 0),
                data.u16(IFLA_BR_VLAN_DEFAULT_PVID, 0),
                data.flag(IFLA_BR_NF_CALL_IPTABLES),
                data.flag(IFLA_BR_NF_CALL_IP6TABLES),
                data.flag(IFLA_BR_NF_CALL_ARPTABLES),
                data.flag(IFLA_BR_VLAN_STATS_ENABLED),
                data.u32(IFLA_BR_MULTI_BOOLOPT, 0));
    }

    static final int MAX_ATTR = 64;
}
