package dev.xbridge.testbed;

import dev.xbridge.daemon.ControlClient;
import dev.xbridge.daemon.FdbRow;
import dev.xbridge.daemon.Status;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * {@code xbridge run} as a child process inside a namespace: the way tests
 * and the demo run the real daemon, with the JVM and class path of the
 * caller. Its output is kept for failure messages.
 */
public final class DaemonProcess implements AutoCloseable {
    private static final String READY = "xbridge: ready";

    private final Process process;
    private final Path socket;
    private final StringBuffer output = new StringBuffer();
    private final CountDownLatch ready = new CountDownLatch(1);
    private final Thread reader;

    private DaemonProcess(Process process, Path socket) {
        this.process = process;
        this.socket = socket;
        this.reader = Thread.ofPlatform().daemon().name("xbridge-daemon-output").start(this::read);
    }

    /**
     * Starts {@code xbridge run} in {@code ns} with a control socket of its
     * own, and waits until it reports ready (initial sync and attach done).
     */
    public static DaemonProcess start(Netns ns, String... args) {
        Path socket = Path.of("/run/xbridge", "test-" + ns.name() + ".sock");
        List<String> argv = new ArrayList<>(javaCommand());
        argv.add("run");
        argv.add("--socket");
        argv.add(socket.toString());
        argv.addAll(List.of(args));
        DaemonProcess d = new DaemonProcess(ns.start(argv.toArray(String[]::new)), socket);
        d.awaitReady(Duration.ofSeconds(60));
        return d;
    }

    /** The java launcher, flags and class path of this JVM, then the CLI's main class. */
    public static List<String> javaCommand() {
        String java = ProcessHandle.current().info().command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        return List.of(java, "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                "dev.xbridge.cli.Main");
    }

    private void read() {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                output.append(line).append('\n');
                if (line.startsWith(READY)) {
                    ready.countDown();
                }
            }
        } catch (IOException e) {
            output.append("[output reader: ").append(e).append("]\n");
        }
    }

    private void awaitReady(Duration timeout) {
        long end = System.nanoTime() + timeout.toNanos();
        try {
            while (System.nanoTime() < end) {
                if (ready.await(50, TimeUnit.MILLISECONDS)) {
                    return;
                }
                if (!process.isAlive()) {
                    reader.join(2000);
                    throw new IllegalStateException("xbridge run exited with " + process.exitValue()
                            + " before it was ready:\n" + output);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        process.destroyForcibly();
        throw new IllegalStateException("xbridge run not ready after " + timeout.toSeconds() + " s:\n" + output);
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
        return output.toString();
    }

    /** SIGTERM, then waits for the daemon's cleanup; returns the exit code (143 after a handled SIGTERM). */
    public int stop() {
        process.destroy();
        try {
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IllegalStateException("xbridge run did not stop within 30 s of SIGTERM:\n" + output);
            }
            reader.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return process.exitValue();
    }

    @Override
    public void close() {
        if (process.isAlive()) {
            stop();
        }
    }
}
