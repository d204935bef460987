package dev.xbridge.testing;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.xbridge.sys.Libc;

/**
 * Preconditions for tests that need the real kernel. Outside CI a missing
 * precondition skips the test with the reason; under {@code CI=true} it
 * fails, because CI runs as root and a quiet skip would hide lost coverage.
 */
public final class Requires {
    private Requires() {}

    public static boolean inCi() {
        return "true".equalsIgnoreCase(System.getenv("CI"));
    }

    /** root (CAP_NET_ADMIN, CAP_BPF, CAP_SYS_ADMIN for setns). */
    public static void root() {
        that(Libc.geteuid() == 0, "needs root (CAP_NET_ADMIN, CAP_BPF, CAP_SYS_ADMIN)");
    }

    public static void that(boolean condition, String what) {
        if (condition) {
            return;
        }
        if (inCi()) {
            fail("CI=true and this test cannot run: " + what);
        }
        assumeTrue(false, what);
    }
}
