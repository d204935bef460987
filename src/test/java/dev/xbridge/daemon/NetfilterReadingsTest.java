package dev.xbridge.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import dev.xbridge.bridge.Netfilter;
import dev.xbridge.bridge.Netfilter.Snapshot;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The watcher's rule for when nft runs. Each full reading here is a distinct snapshot and each
 * quiet one keeps the chains it is given, as {@link Netfilter#readKeepingChains} does.
 */
class NetfilterReadingsTest {
    private final List<String> calls = new ArrayList<>();
    private int fulls;
    private boolean sysctl;

    private Snapshot full() {
        calls.add("full");
        fulls++;
        return new Snapshot(sysctl, false, false,
                List.of(new Netfilter.Chain("inet", "t" + fulls, "fwd", "forward")), List.of(), null);
    }

    private Snapshot quiet(Snapshot last) {
        calls.add("quiet");
        return new Snapshot(sysctl, false, false, last.chains(), List.of(), null);
    }

    private final NetfilterReadings readings = new NetfilterReadings(this::full, this::quiet);

    @Test
    void nftRunsFirstAndThenOnlyWhenNfTablesAnnouncesAChange() {
        Snapshot first = readings.next(true, false);
        assertThat(first).isNotNull();
        assertThat(readings.next(true, false)).as("a quiet round, nothing changed").isNull();
        assertThat(readings.next(true, false)).isNull();
        assertThat(calls).containsExactly("full", "quiet", "quiet");

        Snapshot announced = readings.next(true, true);
        assertThat(announced).as("the ruleset read again").isNotNull().isNotEqualTo(first);
        assertThat(calls).endsWith("full");

        sysctl = true;
        Snapshot flipped = readings.next(true, false);
        assertThat(flipped).as("a sysctl change needs no event").isNotNull();
        assertThat(flipped.chains()).as("the chains of the last full reading").isEqualTo(announced.chains());
        assertThat(calls).endsWith("quiet");
    }

    @Test
    void withoutEventsEveryRoundReadsInFull() {
        readings.next(false, false);
        readings.next(false, false);
        readings.next(false, false);
        assertThat(calls).containsExactly("full", "full", "full");
    }
}
