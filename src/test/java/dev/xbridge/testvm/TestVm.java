package dev.xbridge.testvm;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One command in a guest booted by {@code scripts/testvm}: the Java face of
 * the script, for tests. Output is streamed line by line to this JVM's
 * stdout (prefixed with the kernel's name) and kept for assertions.
 *
 * <pre>
 * TestVm.Run r = TestVm.kernel("6.1").rw(dir).timeout(Duration.ofMinutes(5)).run("ip", "link");
 * </pre>
 */
public final class TestVm {
    /** scripts/testvm's own line at the end: "command exited N after T s (boot B s, command C s)". */
    private static final Pattern TIMES = Pattern.compile("testvm: command exited \\d+ after \\d+ s \\(boot ([0-9.]+) s, command ([0-9.]+) s\\)");

    private final String kernel;
    private Duration timeout = Duration.ofMinutes(20);
    private final List<Path> rw = new ArrayList<>();
    private Path cwd;
    private boolean echo = true;

    private TestVm(String kernel) {
        this.kernel = kernel;
    }

    /** A guest running {@code kernel}: a name, package or version from scripts/testvm-kernels. */
    public static TestVm kernel(String kernel) {
        return new TestVm(kernel);
    }

    /** The guest is killed after this long (scripts/testvm exits 124). */
    public TestVm timeout(Duration timeout) {
        this.timeout = timeout;
        return this;
    }

    /** Shares {@code dir} read-write at the same path: the way results get out. */
    public TestVm rw(Path dir) {
        rw.add(dir.toAbsolutePath());
        return this;
    }

    public TestVm cwd(Path dir) {
        this.cwd = dir.toAbsolutePath();
        return this;
    }

    /** Whether to copy the guest's output to this JVM's stdout as it comes (default yes). */
    public TestVm echo(boolean echo) {
        this.echo = echo;
        return this;
    }

    /**
     * What came back: the command's exit code (124 deadline, 125 the guest
     * failed first), its output and scripts/testvm's own lines, the wall time,
     * and the guest's boot and command times (NaN when it did not get that far).
     */
    public record Run(int exitCode, String output, Duration elapsed, double bootSeconds, double commandSeconds) {}

    public Run run(String... command) {
        return run(List.of(command));
    }

    public Run run(List<String> command) {
        List<String> argv = new ArrayList<>(List.of(script().toString(), "--kernel", kernel,
                "--timeout", Long.toString(timeout.toSeconds())));
        for (Path dir : rw) {
            argv.add("--rw");
            argv.add(dir.toString());
        }
        if (cwd != null) {
            argv.add("--cwd");
            argv.add(cwd.toString());
        }
        argv.add("--");
        argv.addAll(command);
        long t0 = System.nanoTime();
        StringBuilder output = new StringBuilder();
        try {
            Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
            p.getOutputStream().close();
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    output.append(line).append('\n');
                    if (echo) {
                        System.out.println("[" + kernel + "] " + line);
                    }
                }
            }
            // The script enforces the deadline itself; this is for a script that hangs after it.
            if (!p.waitFor(timeout.toSeconds() + 60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException("scripts/testvm did not exit " + (timeout.toSeconds() + 60)
                        + " s after it started:\n" + output);
            }
            Matcher m = TIMES.matcher(output);
            boolean timed = m.find();
            return new Run(p.exitValue(), output.toString(), Duration.ofNanos(System.nanoTime() - t0),
                    timed ? Double.parseDouble(m.group(1)) : Double.NaN,
                    timed ? Double.parseDouble(m.group(2)) : Double.NaN);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + argv.get(0) + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** The project root: XBRIDGE_HOME (surefire sets it), else the working directory. */
    public static Path projectRoot() {
        String home = System.getenv("XBRIDGE_HOME");
        return Path.of(home != null ? home : System.getProperty("user.dir")).toAbsolutePath();
    }

    static Path script() {
        return projectRoot().resolve("scripts/testvm");
    }

    /** The kernels of the test matrix: the names in scripts/testvm-kernels, in order. */
    public static List<String> matrix() {
        Path file = projectRoot().resolve("scripts/testvm-kernels");
        try {
            return Files.readAllLines(file).stream()
                    .map(l -> l.replaceAll("#.*", "").strip())
                    .filter(l -> !l.isEmpty())
                    .map(l -> l.split("\\s+")[0])
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the kernel matrix " + file + ": " + e.getMessage(), e);
        }
    }

    /** Why the VM cannot run here, or null when it can: QEMU is the one thing setup may not have installed. */
    public static String unavailable() {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(":")) {
            if (Files.isExecutable(Path.of(dir, "qemu-system-x86_64"))) {
                return null;
            }
        }
        return "qemu-system-x86_64 is not installed (scripts/test installs it through scripts/setup;"
                + " or: apt-get install qemu-system-x86 busybox-static kmod cpio)";
    }
}
