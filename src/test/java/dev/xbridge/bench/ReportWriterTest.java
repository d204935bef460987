package dev.xbridge.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ReportWriterTest {
    private static Report.Trial trial(long received) {
        return new Report.Trial(1.0, 1_000_000, received, received * 60, received, 0.99, null);
    }

    /** A trial of the daemon's path, which counts the flow-cache copies its frames made. */
    private static Report.Trial trial(long received, long copies) {
        return new Report.Trial(1.0, 1_000_000, received, received * 60, received, 0.99, copies);
    }

    private static Report sample() {
        List<Report.PathResult> paths = Bench.withRatios(List.of(
                Bench.summarize("kernel bridge", List.of(trial(500_000), trial(600_000), trial(550_000)), List.of(), null, List.of(), null),
                Report.PathResult.unavailable("xbridge tc", "not available yet"),
                Bench.summarize("bare redirect", List.of(trial(1_000_000), trial(1_000_000), trial(1_000_000)), List.of(29.0, 31.0, 30.0), "bench_redirect",
                        List.of(44.0, 41.0), "bench_redirect"),
                Bench.summarize("xbridge xdp", List.of(trial(900_000, 9_000), trial(950_000, 19_000), trial(990_000, 1_024)),
                        List.of(98.0, 97.0, 99.0), "xbridge_xdp", List.of(), null)));
        return new Report(new Report.Environment("6.18", 2, "test", 3, 1.0, 0, false, Map.of("generator", "CPU 0")),
                List.of(new Report.ScenarioResult("64B 1 flow fdb+0 2p", 64, 1, 0, 6, 2, "veth", paths)), List.of(), null, List.of());
    }

    @Test
    void ratiosAreOfMediansInTheSameScenario() {
        List<Report.PathResult> p = sample().scenarios().get(0).paths();
        Report.PathResult xdp = p.get(3);
        assertThat(xdp.mpps().median()).isEqualTo(0.95);
        assertThat(xdp.vsKernel()).isCloseTo(0.95 / 0.55, org.assertj.core.data.Offset.offset(1e-9));
        assertThat(xdp.vsBare()).isCloseTo(0.95, org.assertj.core.data.Offset.offset(1e-9));
        assertThat(xdp.lossPercent().median()).isCloseTo(5.0, org.assertj.core.data.Offset.offset(1e-9));
        assertThat(xdp.gbps().median()).isCloseTo(0.95e6 * 480 / 1e9, org.assertj.core.data.Offset.offset(1e-9));
        assertThat(p.get(1).vsKernel()).isNull();
    }

    /** The best trials: 0.99 against the kernel bridge's 0.6 and the bare redirect's 1.0. */
    @Test
    void ratiosOfBestTrialsLeaveTheHostsSlowSpellsOut() {
        Report.PathResult xdp = sample().scenarios().get(0).paths().get(3);
        assertThat(xdp.vsKernelBest()).isCloseTo(0.99 / 0.6, org.assertj.core.data.Offset.offset(1e-9));
        assertThat(xdp.vsBareBest()).isCloseTo(0.99, org.assertj.core.data.Offset.offset(1e-9));
        assertThat(sample().scenarios().get(0).paths().get(1).vsBareBest()).isNull();
    }

    @Test
    void tableShowsEveryPathAndWhyOneIsMissing() {
        String t = ReportWriter.table(sample());
        assertThat(t).contains("kernel bridge  0.500 / 0.550 / 0.600").contains("xbridge tc     not available yet")
                .contains("1.73 / 1.65").contains("95% / 99%");
        assertThat(t).as("the program's own ns per frame, median and least over rounds").contains("95% / 99%       98 / 97")
                .contains("100% / 100%     30 / 29");
        assertThat(t).as("the generator CPU's busy share").contains("GEN CPU%").contains(" 99 ");
    }

    /** Copies per received frame: 1%, 2% and 0.103%; the median is 1%. Paths without the daemon count none. */
    @Test
    void copiedShareIsOfReceivedFramesOnTheDaemonsPathsOnly() {
        List<Report.PathResult> p = sample().scenarios().get(0).paths();
        assertThat(p.get(3).copiedPercent().median()).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-9));
        assertThat(p.get(3).copiedPercent().max()).isCloseTo(2.0, org.assertj.core.data.Offset.offset(1e-9));
        assertThat(p.get(0).copiedPercent().n()).isZero();
        String t = ReportWriter.table(sample());
        assertThat(t).contains("COPIED%").contains("98 / 97            -              1.000");
        assertThat(t.lines().filter(l -> l.startsWith("                    ") && l.contains("bare redirect")))
                .singleElement().asString().endsWith("30 / 29            43 / 41        -");
    }

    /** The program's time in traffic: median and least of the timed trials; "-" where none was timed. */
    @Test
    void timeInTrafficIsShownWhereTheKernelTimedIt() {
        List<Report.PathResult> p = sample().scenarios().get(0).paths();
        assertThat(p.get(2).trafficNs().median()).isEqualTo(42.5);
        assertThat(p.get(3).trafficNs().n()).isZero();
        assertThat(ReportWriter.table(sample())).contains("IN TRAFFIC ns").contains("43 / 41");
        assertThat(ReportWriter.json(sample())).contains("\"trafficNs\"").contains("\"trafficProgram\" : \"bench_redirect\"");
        Report.PathResult injected = Bench.summarize("bare redirect", List.of(trial(1_000_000)), List.of(30.0),
                "bench_redirect", List.of(90.0), "bench_inject");
        Report r = sample();
        Report marked = new Report(r.environment(), List.of(new Report.ScenarioResult("64B 1 flow fdb+0 2p at p1", 64, 1,
                0, 6, 2, "port", List.of(injected))), List.of(), null, List.of());
        assertThat(ReportWriter.table(marked)).as("the injector's time, with the forwarder in it").contains("90 / 90 *");
        assertThat(ReportWriter.table(r)).doesNotContain(" *");
    }

    @Test
    void svgHasOneBarPerMeasuredPathAndEscapesText() {
        String svg = ReportWriter.svg(sample());
        assertThat(svg.split("<title>", -1)).hasSize(4); // a tooltip per bar: three measured paths
        assertThat(ReportWriter.esc("a<b & \"c\"")).isEqualTo("a&lt;b &amp; &quot;c&quot;");
        assertThat(ReportWriter.niceCeiling(0.93)).isEqualTo(1.0);
        assertThat(ReportWriter.niceCeiling(1.9)).isEqualTo(2.0);
        assertThat(ReportWriter.niceCeiling(3.1)).isEqualTo(5.0);
    }
}
