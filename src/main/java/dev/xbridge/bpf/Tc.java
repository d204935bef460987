package dev.xbridge.bpf;

/** TC verdicts a direct-action program returns (UAPI linux/pkt_cls.h TC_ACT_*). */
public final class Tc {
    public static final int OK = 0;
    public static final int SHOT = 2;
    public static final int REDIRECT = 7;

    private Tc() {}

    /** {@code "TC_ACT_OK"} etc., or the number for others. */
    public static String name(int verdict) {
        return switch (verdict) {
            case OK -> "TC_ACT_OK";
            case SHOT -> "TC_ACT_SHOT";
            case REDIRECT -> "TC_ACT_REDIRECT";
            default -> Integer.toString(verdict);
        };
    }
}
