package dev.xbridge.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.xbridge.testbed.BridgeLab;
import dev.xbridge.testbed.Command;
import dev.xbridge.testing.Requires;
import org.junit.jupiter.api.Test;

/** {@code xbridge doctor} explains each port's hook with the facts it was chosen from. */
class DoctorTest {
    @Test
    void doctorExplainsTheOffloadAndMtuFactsBehindEachPortsHook() throws Exception {
        Requires.root();
        try (BridgeLab lab = BridgeLab.builder().prefix("xbt").hosts(4).hostOffloads(false).build()) {
            lab.host(2).setOffloads(true);
            lab.host(4).ns().exec("ethtool", "-K", "eth0", "tx-vlan-stag-hw-insert", "on");
            lab.switchNs().ip("link", "set", "dev", "p3", "mtu", "9000");
            lab.host(3).ns().ip("link", "set", "dev", "eth0", "mtu", "9000");
            Command.Result r = CommandLineErrorsTest.xbridge(lab.switchNs(), "doctor", "--json");
            JsonNode checks = new ObjectMapper().readTree(r.stdout());
            String p1 = detail(checks, "port p1");
            String p2 = detail(checks, "port p2");
            String p3 = detail(checks, "port p3");
            String p4 = detail(checks, "port p4");
            assertThat(p1).contains("driver veth")
                    .contains("tx-checksumming off, TSO off, GSO off, tx-vlan-hw-insert off, tx-vlan-stag-hw-insert off")
                    .contains("-> xdp (native XDP: peer eth0 in /run/netns/");
            assertThat(p2).contains("tx-checksumming on, TSO on, GSO on, tx-vlan-hw-insert on, tx-vlan-stag-hw-insert on")
                    .contains("-> tc (TC: peer eth0").contains("whose checksum/GSO state and VLAN tags native XDP would lose");
            assertThat(p4).contains("GSO off, tx-vlan-hw-insert off, tx-vlan-stag-hw-insert on")
                    .contains("sends with tx-vlan-stag-hw-insert on, whose VLAN tag native XDP would lose");
            assertThat(p3).contains("MTU 9000").contains("-> tc (TC: peer MTU 9000 is above 3506");
            assertThat(detail(checks, "tc")).contains("tcx links");
        }
    }

    static String detail(JsonNode checks, String name) {
        for (JsonNode c : checks) {
            if (c.path("name").asText().equals(name)) {
                return c.path("detail").asText();
            }
        }
        throw new AssertionError("doctor has no check " + name + ": " + checks);
    }
}
