package dev.xbridge.bench;

import java.util.Locale;

/**
 * One data-path measurement point.
 *
 * @param fdbFillers static FDB entries added besides the flows' own (2 per flow)
 * @param ports hosts on the bridge: one sender, {@code ports - 1} receivers
 */
public record Scenario(int frameSize, int flows, int fdbFillers, int ports) {
    public Scenario {
        new FlowPlan(flows, Math.max(1, ports - 1), frameSize); // validates
        if (fdbFillers < 0) {
            throw new IllegalArgumentException("negative FDB size");
        }
        if (ports < 2) {
            throw new IllegalArgumentException("at least 2 ports (a sender and a receiver): " + ports);
        }
    }

    public String name() {
        return String.format(Locale.ROOT, "%dB %s fdb+%s %dp", frameSize, flows == 1 ? "1 flow" : count(flows) + " flows",
                count(fdbFillers), ports);
    }

    public FlowPlan plan() {
        return new FlowPlan(flows, ports - 1, frameSize);
    }

    static String count(long n) {
        if (n >= 1_000_000 && n % 1_000_000 == 0) {
            return n / 1_000_000 + "M";
        }
        if (n >= 10_000 && n % 1000 == 0) {
            return n / 1000 + "k";
        }
        return Long.toString(n);
    }
}
