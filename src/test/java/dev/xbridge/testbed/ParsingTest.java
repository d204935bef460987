package dev.xbridge.testbed;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** The parsers, on output captured from this machine's tools (iputils, ethtool 6.1, iperf3 3.12). */
class ParsingTest {
    @Test
    void pingSummary() {
        assertThat(PingResult.parse("""
                PING 198.18.0.2 (198.18.0.2) 56(84) bytes of data.

                --- 198.18.0.2 ping statistics ---
                5 packets transmitted, 4 received, 20% packet loss, time 41ms
                rtt min/avg/max/mdev = 0.030/0.046/0.088/0.021 ms
                """)).isEqualTo(new PingResult(5, 4));
        PingResult none = PingResult.parse("3 packets transmitted, 0 received, +3 errors, 100% packet loss, time 2030ms");
        assertThat(none.lost()).isEqualTo(3);
        assertThat(none.allReceived()).isFalse();
        assertThatThrownBy(() -> PingResult.parse("ping: connect: Network is unreachable"))
                .hasMessageContaining("Network is unreachable");
    }

    @Test
    void ethtoolVethCounters() {
        Map<String, Long> stats = EthtoolStats.parse("""
                NIC statistics:
                     peer_ifindex: 2
                     rx_queue_0_xdp_packets: 10
                     rx_queue_0_xdp_redirect: 7
                     rx_queue_1_xdp_redirect: 5
                     rx_queue_0_xdp_drops: 1
                     tx_queue_0_xdp_xmit: 3
                """);
        assertThat(stats).containsEntry("peer_ifindex", 2L).hasSize(6);
        assertThat(EthtoolStats.sum(stats, java.util.regex.Pattern.compile("rx_queue_\\d+_xdp_redirect"))).isEqualTo(12);
    }

    @Test
    void iperfTcpReport() {
        Iperf.Result r = Iperf.parse("""
                {"start":{},"intervals":[],"end":{
                  "sum_sent":{"bytes":1250000000,"bits_per_second":1.0e10,"retransmits":3},
                  "sum_received":{"bytes":1250000000,"bits_per_second":9.5e9}}}
                """, 0, "");
        assertThat(r.ok()).isTrue();
        assertThat(r.bitsPerSecond()).isEqualTo(9.5e9);
        assertThat(r.retransmits()).isEqualTo(3);
    }

    @Test
    void iperfErrorIsAResultNotAThrow() {
        Iperf.Result r = Iperf.parse("""
                {"start":{},"intervals":[],"end":{},"error":"unable to connect to server: Connection timed out"}
                """, 1, "");
        assertThat(r.ok()).isFalse();
        assertThat(r.error()).contains("unable to connect");
        assertThat(r.bitsPerSecond()).isZero();
        assertThat(Iperf.parse("", 1, "iperf3: boom").error()).contains("boom");
    }
}
