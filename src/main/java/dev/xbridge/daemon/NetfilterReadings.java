package dev.xbridge.daemon;

import dev.xbridge.bridge.Netfilter;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;

/**
 * Which netfilter reading the watcher takes each round. A full reading runs {@code nft}, a
 * process start; the first round, a round after nf_tables announced a change, and every
 * round without nf_tables events take one. A quiet round with events re-reads only what
 * announces nothing (sysctls, legacy x_tables) and keeps the chains of the watcher's own last
 * reading. The rule keeps that reading itself: the event loop takes the handed-over one away,
 * and a watcher that looked there found nothing and ran nft every round (2 s), most of an idle
 * daemon's CPU.
 */
final class NetfilterReadings {
    private final Supplier<Netfilter.Snapshot> full;
    private final UnaryOperator<Netfilter.Snapshot> quiet;
    private Netfilter.Snapshot last;

    NetfilterReadings(Supplier<Netfilter.Snapshot> full, UnaryOperator<Netfilter.Snapshot> quiet) {
        this.full = full;
        this.quiet = quiet;
    }

    /** With the real readers: {@link Netfilter#read()} and {@link Netfilter#readKeepingChains}. */
    static NetfilterReadings ofThisNamespace() {
        return new NetfilterReadings(Netfilter::read, Netfilter::readKeepingChains);
    }

    /**
     * Takes this round's reading.
     *
     * @param events whether nf_tables events are watched (else every round reads in full)
     * @param announced whether nf_tables announced a change since the last round
     * @return the reading, or null when it equals the previous one (nothing to hand over)
     */
    Netfilter.Snapshot next(boolean events, boolean announced) {
        Netfilter.Snapshot now = events && !announced && last != null ? quiet.apply(last) : full.get();
        if (now.equals(last)) {
            return null;
        }
        last = now;
        return now;
    }
}
