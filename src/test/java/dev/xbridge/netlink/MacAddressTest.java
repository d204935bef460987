package dev.xbridge.netlink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class MacAddressTest {
    @Test
    void parsesAndPrintsLowerCaseColonForm() {
        MacAddress m = MacAddress.parse("02:00:0A:bc:DE:f1");
        assertThat(m.bits()).isEqualTo(0x02000abcdef1L);
        assertThat(m).hasToString("02:00:0a:bc:de:f1");
        assertThat(MacAddress.of(m.bytes())).isEqualTo(m);
        assertThat(m.bytes()).containsExactly(0x02, 0x00, 0x0a, 0xbc, 0xde, 0xf1);
    }

    @Test
    void classifiesGroupAddresses() {
        assertThat(MacAddress.parse("ff:ff:ff:ff:ff:ff").isBroadcast()).isTrue();
        assertThat(MacAddress.parse("ff:ff:ff:ff:ff:ff").isMulticast()).isTrue();
        assertThat(MacAddress.parse("01:00:5e:00:00:01").isMulticast()).isTrue();
        assertThat(MacAddress.parse("01:00:5e:00:00:01").isLinkLocal()).isFalse();
        assertThat(MacAddress.parse("01:80:c2:00:00:00").isLinkLocal()).isTrue();
        assertThat(MacAddress.parse("01:80:c2:00:00:0e").isLinkLocal()).isTrue();
        assertThat(MacAddress.parse("01:80:c2:00:00:10").isLinkLocal()).isFalse();
        assertThat(MacAddress.parse("02:00:00:00:00:01").isMulticast()).isFalse();
        assertThat(MacAddress.parse("02:00:00:00:00:01").isBroadcast()).isFalse();
    }

    @Test
    void rejectsBadText() {
        assertThatThrownBy(() -> MacAddress.parse("02:00:00:00:00")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> MacAddress.parse("02:00:00:00:00:zz")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> MacAddress.parse("02:00:00:00:00:100")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> MacAddress.of(new byte[5])).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void enumsFollowTheKernelNumbers() {
        assertThat(PortState.of(3)).isEqualTo(PortState.FORWARDING);
        assertThat(PortState.BLOCKING.value()).isEqualTo(4);
        assertThatThrownBy(() -> PortState.of(9)).isInstanceOf(IllegalArgumentException.class);
        assertThat(OperState.of(6)).isEqualTo(OperState.UP);
        assertThat(OperState.of(2)).isEqualTo(OperState.DOWN);
        assertThat(OperState.of(42)).isEqualTo(OperState.UNKNOWN);
    }
}
