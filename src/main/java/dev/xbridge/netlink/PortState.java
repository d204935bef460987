package dev.xbridge.netlink;

/** A bridge port's STP state, IFLA_BRPORT_STATE (BR_STATE_* in linux/if_bridge.h). */
public enum PortState {
    DISABLED(0),
    LISTENING(1),
    LEARNING(2),
    FORWARDING(3),
    BLOCKING(4);

    private final int value;

    PortState(int value) {
        this.value = value;
    }

    public int value() {
        return value;
    }

    public static PortState of(int value) {
        for (PortState s : values()) {
            if (s.value == value) {
                return s;
            }
        }
        throw new IllegalArgumentException("unknown BR_STATE " + value);
    }
}
