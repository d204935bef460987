package dev.xbridge.testbed;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * Runs an external program (ip, ethtool, ping, iperf3) to completion with a
 * deadline and captures its output. No shell is involved: arguments are
 * passed as they are.
 */
public final class Command {
    /** The deadline of {@link #runOk(String...)}: generous for ip/ethtool, which take milliseconds. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);

    /** How long to wait for output after the program exited or was killed. */
    private static final Duration DRAIN_TIMEOUT = Duration.ofSeconds(2);

    private Command() {}

    /** What a finished program left behind. */
    public record Result(int exitCode, String stdout, String stderr) {
        public boolean ok() {
            return exitCode == 0;
        }
    }

    /**
     * Runs {@code argv} and returns whatever it exited with.
     *
     * @throws CommandException if it cannot be started, or runs past {@code timeout}
     *     (it is then killed, with its descendants, and {@link CommandException#timedOut()} is true)
     */
    public static Result run(Duration timeout, String... argv) {
        List<String> command = List.of(argv);
        if (command.isEmpty()) {
            throw new IllegalArgumentException("no command");
        }
        Process process;
        try {
            process = new ProcessBuilder(command).redirectInput(ProcessBuilder.Redirect.from(devNull())).start();
        } catch (IOException e) {
            throw new CommandException(command, "cannot start: " + e.getMessage(), null, false, e);
        }
        Drain out = Drain.start(process.getInputStream());
        Drain err = Drain.start(process.getErrorStream());
        boolean exited;
        try {
            exited = process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            kill(process);
            Thread.currentThread().interrupt();
            throw new CommandException(command, "interrupted", null, false, e);
        }
        if (!exited) {
            kill(process);
        }
        Result result = new Result(exited ? process.exitValue() : -1, out.finish(), err.finish());
        if (!exited) {
            throw new CommandException(command, "timed out after " + timeout.toMillis() + " ms", result, true, null);
        }
        return result;
    }

    /** Like {@link #run(Duration, String...)} with {@link #DEFAULT_TIMEOUT}. */
    public static Result run(String... argv) {
        return run(DEFAULT_TIMEOUT, argv);
    }

    /**
     * Runs {@code argv}, which must exit 0.
     *
     * @throws CommandException naming the command, its exit code and its stderr otherwise
     */
    public static Result runOk(String... argv) {
        return runOk(DEFAULT_TIMEOUT, argv);
    }

    /** Like {@link #runOk(String...)} with a deadline of {@code timeout}. */
    public static Result runOk(Duration timeout, String... argv) {
        Result result = run(timeout, argv);
        if (!result.ok()) {
            throw new CommandException(List.of(argv), "exited " + result.exitCode(), result, false, null);
        }
        return result;
    }

    /** {@code argv} as one could paste it into a shell, for messages. */
    public static String describe(List<String> argv) {
        return argv.stream().map(Command::quote).collect(Collectors.joining(" "));
    }

    private static String quote(String arg) {
        if (!arg.isEmpty() && arg.chars().allMatch(c -> Character.isLetterOrDigit(c) || "-_./:=,@+%".indexOf(c) >= 0)) {
            return arg;
        }
        return "'" + arg.replace("'", "'\\''") + "'";
    }

    /** Kills {@code process} and everything it started, first politely, then with SIGKILL. */
    static void kill(Process process) {
        List<ProcessHandle> descendants = process.descendants().toList();
        descendants.forEach(ProcessHandle::destroy);
        process.destroy();
        try {
            if (!process.waitFor(1, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(2, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        descendants.stream().filter(ProcessHandle::isAlive).forEach(ProcessHandle::destroyForcibly);
    }

    private static java.io.File devNull() {
        return new java.io.File("/dev/null");
    }

    /**
     * Reads one of the program's pipes on its own thread, so that a program
     * writing a lot to both never blocks on a full pipe.
     */
    private static final class Drain {
        private final InputStream in;
        private final ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        private final Thread thread;

        private Drain(InputStream in) {
            this.in = in;
            this.thread = Thread.ofVirtual().unstarted(this::pump);
        }

        static Drain start(InputStream in) {
            Drain d = new Drain(in);
            d.thread.start();
            return d;
        }

        private void pump() {
            byte[] chunk = new byte[8192];
            try {
                int n;
                while ((n = in.read(chunk)) > 0) {
                    synchronized (buffer) {
                        buffer.write(chunk, 0, n);
                    }
                }
            } catch (IOException e) {
                // Closed by finish(): a daemonized grandchild kept the pipe open.
            }
        }

        /**
         * The output so far. A grandchild that inherited the pipe (e.g. a
         * daemon the program spawned) can keep it open forever, so waiting is bounded.
         */
        String finish() {
            try {
                if (!thread.join(DRAIN_TIMEOUT)) {
                    in.close();
                    thread.join(DRAIN_TIMEOUT);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            synchronized (buffer) {
                return buffer.toString(StandardCharsets.UTF_8);
            }
        }
    }
}
