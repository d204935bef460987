package dev.xbridge.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class SummaryTest {
    @Test
    void minMedianMaxOfOddAndEvenCounts() {
        assertThat(Summary.of(List.of(3.0, 1.0, 2.0))).isEqualTo(new Summary(3, 1, 2, 3));
        assertThat(Summary.of(List.of(4.0, 1.0, 3.0, 2.0))).isEqualTo(new Summary(4, 1, 2.5, 4));
        assertThat(Summary.of(List.of(7.0))).isEqualTo(new Summary(1, 7, 7, 7));
        assertThat(Summary.of(List.of()).n()).isZero();
    }

    @Test
    void percentilesInterpolateBetweenRanks() {
        List<Double> v = new ArrayList<>();
        for (int i = 1; i <= 100; i++) {
            v.add((double) i);
        }
        assertThat(Summary.percentile(v, 50)).isCloseTo(50.5, within(1e-9));
        assertThat(Summary.percentile(v, 99)).isCloseTo(99.01, within(1e-9));
        assertThat(Summary.percentile(v, 100)).isEqualTo(100);
        assertThat(Summary.percentile(v, 0)).isEqualTo(1);
    }

    @Test
    void scalingKeepsTheCount() {
        assertThat(new Summary(3, 1e6, 2e6, 3e6).scaled(1e-6)).isEqualTo(new Summary(3, 1, 2, 3));
    }
}
