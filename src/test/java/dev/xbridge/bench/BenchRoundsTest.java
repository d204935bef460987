package dev.xbridge.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class BenchRoundsTest {
    @Test
    void aSmallFdbRunsOneTrialPerRound() {
        assertThat(Bench.rounds(5, 0)).containsExactly(1, 1, 1, 1, 1);
        assertThat(Bench.rounds(5, Bench.LARGE_FILLERS - 1)).containsExactly(1, 1, 1, 1, 1);
    }

    /** A large FDB still spreads its trials over rounds, so that one slow spell of the host cannot take a whole median. */
    @Test
    void aLargeFdbSpreadsItsTrialsOverAFewRounds() {
        assertThat(Bench.rounds(5, 1_000_000)).containsExactly(2, 2, 1);
        assertThat(Bench.rounds(3, Bench.LARGE_FILLERS)).containsExactly(1, 1, 1);
        assertThat(Bench.rounds(2, 1_000_000)).containsExactly(1, 1);
        assertThat(Bench.rounds(1, 1_000_000)).containsExactly(1);
        for (int trials = 1; trials <= 12; trials++) {
            int[] r = Bench.rounds(trials, 1_000_000);
            assertThat(Arrays.stream(r).sum()).as("every trial runs, %d", trials).isEqualTo(trials);
            assertThat(r.length).isEqualTo(Math.min(trials, Bench.LARGE_ROUNDS));
            assertThat(Arrays.stream(r).max().getAsInt() - Arrays.stream(r).min().getAsInt()).isLessThanOrEqualTo(1);
        }
    }
}
