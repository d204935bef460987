package dev.xbridge.semantics;

import dev.xbridge.netlink.MacAddress;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/** Bridge state and frames for the reference model and the property test. */
final class Model {
    static final int DISABLED = 0;
    static final int LISTENING = 1;
    static final int LEARNING = 2;
    static final int FORWARDING = 3;
    static final int BLOCKING = 4;
    static final int ETH_P_8021Q = 0x8100;
    static final int ETH_P_8021AD = 0x88a8;

    private Model() {}

    /** A port's membership of one VLAN: egress untagged or not, and the VLAN's STP state there. */
    record Vlan(boolean untagged, int state) {}

    /**
     * A bridge port. {@code egress}: xbridge can redirect to it (a veth whose
     * peer runs NAPI); not a kernel property. {@code pvid} and {@code vlans}
     * matter only on a bridge with VLAN filtering.
     */
    record Port(int ifindex, int state, boolean learning, boolean isolated, boolean hairpin, boolean locked,
            boolean mab, boolean proxyArp, boolean neighSuppress, boolean egress, int pvid, Map<Integer, Vlan> vlans) {
        Port(int ifindex, int state, boolean learning, boolean isolated, boolean hairpin, boolean locked,
                boolean mab, boolean proxyArp, boolean neighSuppress, boolean egress) {
            this(ifindex, state, learning, isolated, hairpin, locked, mab, proxyArp, neighSuppress, egress, 0,
                    Map.of());
        }

        @Override
        public String toString() {
            return "port " + ifindex + " state=" + state + (learning ? " learning" : "") + (isolated ? " isolated" : "")
                    + (hairpin ? " hairpin" : "") + (locked ? " locked" : "") + (mab ? " mab" : "")
                    + (proxyArp ? " proxy_arp" : "") + (neighSuppress ? " neigh_suppress" : "")
                    + (egress ? " egress" : "") + (vlans.isEmpty() && pvid == 0 ? "" : " pvid=" + pvid + " vlans=" + vlans);
        }
    }

    /** An FDB entry's identity: the VLAN (0 without VLAN filtering) and the MAC. */
    record Key(int vid, MacAddress mac) {
        @Override
        public String toString() {
            return mac + (vid == 0 ? "" : " vlan " + vid);
        }
    }

    /** An FDB entry: behind {@code port}, or {@code local} (for the host, port 0 = the bridge itself). */
    record Fdb(int port, boolean local, boolean sticky, boolean dynamic) {}

    /**
     * @param vlanFiltering the bridge's vlan_filtering
     * @param vlanProtocol its vlan_protocol (802.1Q or 802.1ad), with filtering
     */
    record Bridge(boolean promiscuous, boolean vlanFiltering, int vlanProtocol, List<Port> ports, Map<Key, Fdb> fdb) {
        Bridge(boolean promiscuous, List<Port> ports, Map<Key, Fdb> fdb) {
            this(promiscuous, false, ETH_P_8021Q, ports, fdb);
        }

        Port port(int ifindex) {
            return ports.stream().filter(p -> p.ifindex() == ifindex).findFirst().orElse(null);
        }

        Bridge withPorts(List<Port> p) {
            return new Bridge(promiscuous, vlanFiltering, vlanProtocol, p, fdb);
        }

        Bridge withFdb(Map<Key, Fdb> f) {
            return new Bridge(promiscuous, vlanFiltering, vlanProtocol, ports, f);
        }
    }

    record Frame(byte[] bytes) {
        MacAddress dst() {
            return MacAddress.of(java.util.Arrays.copyOfRange(bytes, 0, 6));
        }

        MacAddress src() {
            return MacAddress.of(java.util.Arrays.copyOfRange(bytes, 6, 12));
        }

        int ethertype() {
            return u16(12);
        }

        int u16(int at) {
            return ((bytes[at] & 0xff) << 8) | (bytes[at + 1] & 0xff);
        }

        boolean hasOuterTag() {
            return ethertype() == ETH_P_8021Q || ethertype() == ETH_P_8021AD;
        }

        @Override
        public String toString() {
            return bytes.length + " bytes " + HexFormat.of().formatHex(bytes, 0, Math.min(bytes.length, 24))
                    + (bytes.length > 24 ? "..." : "");
        }
    }
}
