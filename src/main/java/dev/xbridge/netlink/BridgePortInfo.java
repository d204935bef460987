package dev.xbridge.netlink;

import static dev.xbridge.netlink.IfInfoMsg.*;

/**
 * A bridge port's state and flags, the IFLA_BRPORT_* attributes of IFLA_PROTINFO (AF_BRIDGE
 * messages) or IFLA_INFO_SLAVE_DATA (AF_UNSPEC messages, slave kind "bridge").
 * {@code hairpin} is IFLA_BRPORT_MODE; {@code backupPort} is an ifindex, 0 for none.
 */
public record BridgePortInfo(PortState state, int priority, int cost, boolean learning, boolean hairpin,
                             boolean isolated, boolean locked, boolean mab, boolean neighSuppress,
                             boolean proxyArp, boolean proxyArpWifi, boolean unicastFlood,
                             boolean multicastFlood, boolean broadcastFlood, int backupPort,
                             boolean mcastToUcast, boolean vlanTunnel) {

    static BridgePortInfo decode(AttrTable a) {
        int state = a.u8(IFLA_BRPORT_STATE, 0);
        PortState ps;
        try {
            ps = PortState.of(state);
        } catch (IllegalArgumentException e) {
            throw new MalformedMessageException("IFLA_BRPORT_STATE " + state + " is not a BR_STATE_* value");
        }
        return new BridgePortInfo(
                ps,
                a.u16(IFLA_BRPORT_PRIORITY, 0),
                a.u32(IFLA_BRPORT_COST, 0),
                a.flag(IFLA_BRPORT_LEARNING),
                a.flag(IFLA_BRPORT_MODE),
                a.flag(IFLA_BRPORT_ISOLATED),
                a.flag(IFLA_BRPORT_LOCKED),
                a.flag(IFLA_BRPORT_MAB),
                a.flag(IFLA_BRPORT_NEIGH_SUPPRESS),
                a.flag(IFLA_BRPORT_PROXYARP),
                a.flag(IFLA_BRPORT_PROXYARP_WIFI),
                a.flag(IFLA_BRPORT_UNICAST_FLOOD),
                a.flag(IFLA_BRPORT_MCAST_FLOOD),
                a.flag(IFLA_BRPORT_BCAST_FLOOD),
                // only present while a backup port is set
                a.u32(IFLA_BRPORT_BACKUP_PORT, 0),
                a.flag(IFLA_BRPORT_MCAST_TO_UCAST),
                a.flag(IFLA_BRPORT_VLAN_TUNNEL));
    }

    static final int MAX_ATTR = 64;
}
