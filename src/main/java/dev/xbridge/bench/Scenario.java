package dev.xbridge.bench;

import java.util.Locale;

/**
 * One data-path measurement point.
 *
 * @param fdbFillers static FDB entries added besides the flows' own (2 per flow)
 * @param ports hosts on the bridge: one sender, {@code ports - 1} receivers
 * @param ingress where the frames come from
 */
public record Scenario(int frameSize, int flows, int fdbFillers, int ports, Ingress ingress) {
    /** Where the generator's frames enter the forwarder. */
    public enum Ingress {
        /** Sent by host 1 across its veth to p1, where the forwarder runs in p1's NAPI: end to end. */
        VETH,
        /** Injected at p1 as if p1 had just received them (bench_inject): the forwarder's own cost. */
        PORT
    }

    public Scenario(int frameSize, int flows, int fdbFillers, int ports) {
        this(frameSize, flows, fdbFillers, ports, Ingress.VETH);
    }

    public Scenario {
        new FlowPlan(flows, Math.max(1, ports - 1), frameSize); // validates
        if (fdbFillers < 0) {
            throw new IllegalArgumentException("negative FDB size");
        }
        if (ingress == null) {
            throw new IllegalArgumentException("no ingress");
        }
        if (ports < 2) {
            throw new IllegalArgumentException("at least 2 ports (a sender and a receiver): " + ports);
        }
    }

    public String name() {
        return String.format(Locale.ROOT, "%dB %s fdb+%s %dp%s", frameSize, flows == 1 ? "1 flow" : count(flows) + " flows",
                count(fdbFillers), ports, ingress == Ingress.PORT ? " at p1" : "");
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
