package dev.xbridge.bridge;

import dev.xbridge.bpf.Codec;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** {@code struct xb_decision}: what the datapath decided for the last frame (trace map, tests only). */
public record Decision(Action action, Reason reason, int egress, int slot) {
    public enum Action { PASS, REDIRECT, DROP }

    public static final int ACTION_OFFSET = 0;
    public static final int REASON_OFFSET = 4;
    public static final int EGRESS_OFFSET = 8;
    public static final int SLOT_OFFSET = 12;
    public static final int SIZE = 16;

    public static final Codec<Decision> CODEC = new Codec<>() {
        @Override
        public int size() {
            return SIZE;
        }

        @Override
        public void write(MemorySegment s, Decision d) {
            s.set(ValueLayout.JAVA_INT_UNALIGNED, ACTION_OFFSET, d.action.ordinal());
            s.set(ValueLayout.JAVA_INT_UNALIGNED, REASON_OFFSET, d.reason.ordinal());
            s.set(ValueLayout.JAVA_INT_UNALIGNED, EGRESS_OFFSET, d.egress);
            s.set(ValueLayout.JAVA_INT_UNALIGNED, SLOT_OFFSET, d.slot);
        }

        @Override
        public Decision read(MemorySegment s) {
            return new Decision(
                    Action.values()[s.get(ValueLayout.JAVA_INT_UNALIGNED, ACTION_OFFSET)],
                    Reason.values()[s.get(ValueLayout.JAVA_INT_UNALIGNED, REASON_OFFSET)],
                    s.get(ValueLayout.JAVA_INT_UNALIGNED, EGRESS_OFFSET),
                    s.get(ValueLayout.JAVA_INT_UNALIGNED, SLOT_OFFSET));
        }
    };
}
