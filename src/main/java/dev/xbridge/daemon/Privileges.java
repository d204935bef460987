package dev.xbridge.daemon;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The capabilities the daemon needs, read from /proc/self/status (CapEff). */
public final class Privileges {
    /** include/uapi/linux/capability.h */
    static final int CAP_NET_ADMIN = 12;
    static final int CAP_SYS_ADMIN = 21;
    static final int CAP_PERFMON = 38;
    static final int CAP_BPF = 39;

    private Privileges() {}

    public static long effective() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("CapEff:")) {
                    return Long.parseUnsignedLong(line.substring(7).trim(), 16);
                }
            }
        } catch (IOException | NumberFormatException e) {
            return 0;
        }
        return 0;
    }

    /**
     * What is missing to run the daemon: CAP_BPF (or CAP_SYS_ADMIN) to load
     * programs and maps, CAP_NET_ADMIN to attach XDP and change FDB entries,
     * CAP_SYS_ADMIN to enter the namespaces of veth peers (setns).
     */
    public static List<String> missingForRun(long caps) {
        List<String> missing = new ArrayList<>();
        boolean sysAdmin = has(caps, CAP_SYS_ADMIN);
        if (!has(caps, CAP_BPF) && !sysAdmin) {
            missing.add("CAP_BPF");
        }
        if (!has(caps, CAP_NET_ADMIN)) {
            missing.add("CAP_NET_ADMIN");
        }
        if (!sysAdmin) {
            missing.add("CAP_SYS_ADMIN");
        }
        return missing;
    }

    static boolean has(long caps, int cap) {
        return (caps & (1L << cap)) != 0;
    }

    /** Throws with what to do when the daemon cannot run. */
    public static void requireForRun() {
        List<String> missing = missingForRun(effective());
        if (!missing.isEmpty()) {
            throw new IllegalStateException("xbridge run needs " + String.join(", ", missing)
                    + " (missing from this process); run it as root, e.g. sudo ./xbridge run");
        }
    }
}
