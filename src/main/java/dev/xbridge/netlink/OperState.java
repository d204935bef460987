package dev.xbridge.netlink;

/** RFC 2863 operational state, IFLA_OPERSTATE (IF_OPER_* in linux/if.h); the ordinal is the kernel value. */
public enum OperState {
    UNKNOWN,
    NOTPRESENT,
    DOWN,
    LOWERLAYERDOWN,
    TESTING,
    DORMANT,
    UP;

    private static final OperState[] VALUES = values();

    /** The state for a kernel value; {@link #UNKNOWN} for values this enum does not know. */
    public static OperState of(int value) {
        return value >= 0 && value < VALUES.length ? VALUES[value] : UNKNOWN;
    }
}
