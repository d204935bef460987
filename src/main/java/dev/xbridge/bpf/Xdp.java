package dev.xbridge.bpf;

/** XDP verdicts, enum xdp_action in UAPI linux/bpf.h. */
public final class Xdp {
    public static final int ABORTED = 0;
    public static final int DROP = 1;
    public static final int PASS = 2;
    public static final int TX = 3;
    public static final int REDIRECT = 4;

    private Xdp() {}

    /** {@code "XDP_PASS"} etc., or the number for values outside enum xdp_action. */
    public static String name(int verdict) {
        return switch (verdict) {
            case ABORTED -> "XDP_ABORTED";
            case DROP -> "XDP_DROP";
            case PASS -> "XDP_PASS";
            case TX -> "XDP_TX";
            case REDIRECT -> "XDP_REDIRECT";
            default -> Integer.toString(verdict);
        };
    }
}
