package dev.xbridge.testbed;

import dev.xbridge.daemon.ControlClient;
import dev.xbridge.daemon.FdbRow;
import dev.xbridge.daemon.Status;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * {@code xbridge run} as a child process inside a namespace: the way tests
 * and the demo run the real daemon, with the JVM and class path of the
 * caller. Its output is kept for failure messages.
 */
public final class DaemonProcess implements AutoCloseable {
    private static final String READY = "xbridge: ready";

    /**
     * The JVM flags the {@code ./xbridge} launcher gives {@code run}, so tests and the bench
     * measure the daemon as it is deployed: the serial collector, a heap that starts small
     * and is bounded, and the C1 compiler only (the launcher says why). Keep in step with the
     * launcher (a test checks).
     */
    public static final List<String> RUN_JVM_FLAGS = List.of("-XX:+UseSerialGC", "-Xms16m", "-Xmx256m", "-XX:TieredStopAtLevel=1");

    private final Process process;
    private final Path socket;
    /**
     * The daemon writes to a file rather than a pipe: at exit, the JDK's
     * process reaper closes the pipe under a reading thread, losing the last
     * lines, which are the ones that say how the daemon stopped.
     */
    private final Path log;

    private DaemonProcess(Process process, Path socket, Path log) {
        this.process = process;
        this.socket = socket;
        this.log = log;
    }

    /**
     * A {@code --peer-reprobe-ms} so long that no periodic probe runs during a test: whatever the
     * daemon does about a peer's change then comes from the peer's own notification.
     */
    public static final String NO_REPROBE = "3600000";
    /**
     * How long a daemon may take to report ready. On the host it takes 1-2 s; in the test VM
     * under TCG 65-81 s were measured on a loaded day (the same for this code and for the
     * code before the FDB cache), past the 60 s this was, so two VM tests failed on it.
     */
    public static final Duration READY_TIMEOUT = Duration.ofSeconds(150);

    /**
     * Starts {@code xbridge run} in {@code ns} with a control socket of its
     * own, and waits until it reports ready (initial sync and attach done).
     */
    public static DaemonProcess start(Netns ns, String... args) {
        return start(ns, READY_TIMEOUT, args);
    }

    /** Like {@link #start(Netns, String...)}, waiting up to {@code readyTimeout} (a large FDB takes longer to sync). */
    public static DaemonProcess start(Netns ns, Duration readyTimeout, String... args) {
        return start(ns, readyTimeout, List.of(), args);
    }

    /**
     * Like {@link #start(Netns, String...)}, with {@code capability} (e.g. "net_broadcast") out of
     * the daemon's bounding set (setpriv), so not even root has it.
     */
    public static DaemonProcess startWithout(Netns ns, String capability, String... args) {
        return start(ns, READY_TIMEOUT, List.of("setpriv", "--bounding-set", "-" + capability, "--"), args);
    }

    private static DaemonProcess start(Netns ns, Duration readyTimeout, List<String> prefix, String... args) {
        Path socket = Path.of("/run/xbridge", "test-" + ns.name() + ".sock");
        List<String> argv = new ArrayList<>(prefix);
        argv.addAll(javaCommand());
        argv.addAll(prefix.size() + 1, RUN_JVM_FLAGS);
        argv.add("run");
        argv.add("--socket");
        argv.add(socket.toString());
        argv.addAll(List.of(args));
        Path log;
        try {
            log = Files.createTempFile("xbridge-" + ns.name() + "-", ".log");
        } catch (IOException e) {
            throw new IllegalStateException("cannot create the daemon's log file: " + e.getMessage(), e);
        }
        DaemonProcess d = new DaemonProcess(ns.start(log, argv.toArray(String[]::new)), socket, log);
        d.awaitReady(readyTimeout);
        return d;
    }

    /** The java launcher, flags and class path of this JVM, then the CLI's main class. */
    public static List<String> javaCommand() {
        String java = ProcessHandle.current().info().command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        return List.of(java, "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                "dev.xbridge.cli.Main");
    }

    private void awaitReady(Duration timeout) {
        long end = System.nanoTime() + timeout.toNanos();
        try {
            while (System.nanoTime() < end) {
                if (output().lines().anyMatch(l -> l.startsWith(READY))) {
                    return;
                }
                if (process.waitFor(50, TimeUnit.MILLISECONDS)) {
                    throw new IllegalStateException("xbridge run exited with " + process.exitValue()
                            + " before it was ready:\n" + output());
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        process.destroyForcibly();
        throw new IllegalStateException("xbridge run not ready after " + timeout.toSeconds() + " s:\n" + output());
    }

    public ControlClient client() {
        return new ControlClient(socket);
    }

    public Status status() {
        return client().status();
    }

    public List<FdbRow> fdb() {
        return client().fdb();
    }

    public Path socket() {
        return socket;
    }

    public long pid() {
        return process.pid();
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** Everything the daemon printed so far (stdout and stderr). */
    public String output() {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return "[cannot read " + log + ": " + e.getMessage() + "]";
        }
    }

    /** SIGTERM, then waits for the daemon's cleanup; returns the exit code (143 after a handled SIGTERM). */
    public int stop() {
        process.destroy();
        try {
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IllegalStateException("xbridge run did not stop within 30 s of SIGTERM:\n" + output());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return process.exitValue();
    }

    /** SIGKILL, as a crash: no cleanup runs. Returns the exit code (137). */
    public int kill() {
        process.destroyForcibly();
        try {
            process.waitFor(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return process.exitValue();
    }

    @Override
    public void close() {
        try {
            if (process.isAlive()) {
                stop();
            }
        } finally {
            try {
                Files.deleteIfExists(log);
            } catch (IOException e) {
                // a temp file; nothing depends on it
            }
        }
    }
}
