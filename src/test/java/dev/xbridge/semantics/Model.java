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

    private Model() {}

    /**
     * A bridge port. {@code egress}: xbridge can redirect to it (a veth whose
     * peer runs NAPI); not a kernel property.
     */
    record Port(int ifindex, int state, boolean learning, boolean isolated, boolean hairpin, boolean locked,
            boolean mab, boolean proxyArp, boolean neighSuppress, boolean egress) {
        @Override
        public String toString() {
            return "port " + ifindex + " state=" + state + (learning ? " learning" : "") + (isolated ? " isolated" : "")
                    + (hairpin ? " hairpin" : "") + (locked ? " locked" : "") + (mab ? " mab" : "")
                    + (proxyArp ? " proxy_arp" : "") + (neighSuppress ? " neigh_suppress" : "")
                    + (egress ? " egress" : "");
        }
    }

    /** An FDB entry: behind {@code port}, or {@code local} (for the host, port 0 = the bridge itself). */
    record Fdb(int port, boolean local, boolean sticky, boolean dynamic) {}

    record Bridge(boolean promiscuous, List<Port> ports, Map<MacAddress, Fdb> fdb) {
        Port port(int ifindex) {
            return ports.stream().filter(p -> p.ifindex() == ifindex).findFirst().orElse(null);
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
            return ((bytes[12] & 0xff) << 8) | (bytes[13] & 0xff);
        }

        @Override
        public String toString() {
            return bytes.length + " bytes " + HexFormat.of().formatHex(bytes, 0, Math.min(bytes.length, 24))
                    + (bytes.length > 24 ? "..." : "");
        }
    }
}
