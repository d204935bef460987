package dev.xbridge.testvm;

import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.xbridge.testing.Requires;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.TestFactory;
import org.opentest4j.AssertionFailedError;
import org.opentest4j.TestAbortedException;

/**
 * The VM part of the test suite: on each kernel of scripts/testvm-kernels,
 * boots a guest, runs every {@code @Tag("vm")} test and the classes of
 * {@link #WHOLE_CLASSES} in one JVM there ({@link VmTestMain}), and replays
 * each outcome here as a dynamic test named {@code Class.method() [6.1]}, so
 * Maven counts and reports them with the host's tests.
 *
 * <p>The host run leaves {@code vm}-tagged tests out (surefire
 * {@code excludedGroups}): they need what the build machine's kernel lacks.
 * {@code -Dxbridge.testvm.classes=A,B#method} runs only those classes (or
 * methods; simple names will do) in the guest;
 * {@code -Dxbridge.testvm.timeout=SECONDS} moves the per-kernel deadline.
 * Each kernel leaves {@code target/testvm/NAME/summary} (counts and times,
 * which scripts/test prints) and {@code results.jsonl}.
 */
class KernelMatrixTest {
    /**
     * Existing classes that also run whole on every VM kernel: the end-to-end
     * daemon test (does xbridge work on 6.1?). Budget: docs/testing.md.
     */
    static final List<String> WHOLE_CLASSES = List.of("dev.xbridge.daemon.AccelerationTest",
            "dev.xbridge.semantics.DifferentialTest");

    /**
     * Guest failures understood and owned elsewhere: replayed as skipped with
     * the reason (so the report shows them), never as passed. Key:
     * {@code Class.method()} as in {@link VmTestResult#shortName()}. Remove an
     * entry when its cause is fixed; a passing run of one is a pass, and says so.
     */
    static final java.util.Map<String, String> KNOWN_FAILURES = java.util.Map.of();

    static final ObjectMapper JSON = new ObjectMapper();
    static final Pattern BOOTING = Pattern.compile("testvm: booting (\\S+) \\((\\S+)\\) with (\\S+),");

    /**
     * One flat list of dynamic tests, each named {@code Class.method() [kernel]}. Flat and with
     * this display name because surefire's XML report (pom.xml: usePhrasedTestCaseMethodName)
     * names a dynamic test by its ancestors' display names and its own, so a CI reader sees
     * {@code vm: AccelerationTest.method() [6.1]}; the legacy names were
     * {@code vmTestsOnEachKernel()[1][3]}.
     */
    @TestFactory
    @DisplayName("vm:")
    Stream<DynamicNode> vmTestsOnEachKernel() {
        Requires.root();
        String why = TestVm.unavailable();
        Requires.that(why == null, why);
        return TestVm.matrix().stream().flatMap(this::runOn);
    }

    private Stream<DynamicNode> runOn(String kernel) {
        Path dir = TestVm.projectRoot().resolve("target/testvm").resolve(kernel);
        Path results = dir.resolve("results.jsonl");
        recreate(dir);

        List<String> command = new ArrayList<>(List.of(javaLauncher(), "--enable-native-access=ALL-UNNAMED", "-Xss2m",
                "-cp", System.getProperty("java.class.path"), VmTestMain.class.getName(), "--results", results.toString()));
        String only = System.getProperty("xbridge.testvm.classes", "").strip();
        if (only.isEmpty()) {
            command.addAll(List.of("--tag", "vm"));
            WHOLE_CLASSES.forEach(c -> command.addAll(List.of("--class", c)));
        } else {
            for (String c : only.split(",")) {
                String cls = c.strip().replaceAll("#.*", "");
                String method = c.contains("#") ? c.substring(c.indexOf('#')) : "";
                cls = cls.contains(".") ? cls : findClass(cls);
                command.addAll(method.isEmpty() ? List.of("--class", cls) : List.of("--method", cls + method));
            }
        }
        Duration timeout = Duration.ofSeconds(Long.getLong("xbridge.testvm.timeout", 2100));
        TestVm.Run run = TestVm.kernel(kernel).rw(dir).timeout(timeout).run(command);
        List<VmTestResult> outcomes = read(results);
        writeSummary(dir, kernel, run, outcomes);

        List<DynamicNode> nodes = new ArrayList<>();
        nodes.add(dynamicTest("the guest booted and ran the tests [" + kernel + "]", () -> {
            if (run.exitCode() != 0 && run.exitCode() != 1) {
                throw new AssertionFailedError("scripts/testvm --kernel " + kernel + " exited " + run.exitCode()
                        + (run.exitCode() == 124 ? " (deadline " + timeout.toSeconds() + " s; -Dxbridge.testvm.timeout moves it)" : "")
                        + "; its last lines:\n" + tail(run.output(), 60));
            }
        }));
        for (VmTestResult r : outcomes) {
            nodes.add(dynamicTest(r.shortName() + " [" + kernel + "]", () -> replay(kernel, r)));
        }
        return nodes.stream();
    }

    private static void replay(String kernel, VmTestResult r) {
        String known = KNOWN_FAILURES.get(r.shortName());
        if (r.failed() && known != null) {
            throw new TestAbortedException(r.shortName() + " on kernel " + kernel + ": " + known + "; it failed with: " + r.message());
        }
        if (known != null) {
            System.out.println("[" + kernel + "] " + r.shortName() + " passed; it is in KNOWN_FAILURES (a race): remove it once the cause is fixed");
        }
        if (r.failed()) {
            // The console names a failed dynamic test by its legacy name only, so the message says which.
            throw new AssertionFailedError(r.shortName() + " on kernel " + kernel + " (in the VM): " + r.message()
                    + "\n--- guest stack trace ---\n" + r.trace());
        }
        if (r.skipped()) {
            throw new TestAbortedException(r.shortName() + " skipped on kernel " + kernel + ": " + r.message());
        }
    }

    static List<VmTestResult> read(Path results) {
        if (!Files.exists(results)) {
            return List.of();
        }
        try (Stream<String> lines = Files.lines(results)) {
            return lines.filter(l -> !l.isBlank()).map(l -> {
                try {
                    return JSON.readValue(l, VmTestResult.class);
                } catch (IOException e) {
                    throw new UncheckedIOException("bad line in " + results + ": " + l, e);
                }
            }).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** One line of key=value pairs that scripts/test prints in its report. */
    static void writeSummary(Path dir, String kernel, TestVm.Run run, List<VmTestResult> outcomes) {
        Matcher m = BOOTING.matcher(run.output());
        boolean booted = m.find();
        long failed = outcomes.stream().filter(VmTestResult::failed).count();
        long skipped = outcomes.stream().filter(VmTestResult::skipped).count();
        String line = String.format(Locale.ROOT,
                "kernel=%s release=%s package=%s accel=%s tests=%d failed=%d skipped=%d exit=%d boot_s=%.1f command_s=%.1f wall_s=%d%n",
                kernel, booted ? m.group(1) : "?", booted ? m.group(2) : "?", booted ? m.group(3) : "?",
                outcomes.size(), failed, skipped, run.exitCode(), run.bootSeconds(), run.commandSeconds(),
                run.elapsed().toSeconds());
        try {
            Files.writeString(dir.resolve("summary"), line);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String findClass(String simpleName) {
        Path root = TestVm.projectRoot().resolve("target/test-classes");
        try (Stream<Path> files = Files.walk(root)) {
            return files.filter(p -> p.getFileName().toString().equals(simpleName + ".class")).findFirst()
                    .map(p -> root.relativize(p).toString().replace('/', '.').replaceAll("\\.class$", ""))
                    .orElseThrow(() -> new IllegalArgumentException("-Dxbridge.testvm.classes: no test class " + simpleName));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String javaLauncher() {
        return ProcessHandle.current().info().command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    }

    private static void recreate(Path dir) {
        try {
            if (Files.exists(dir)) {
                try (Stream<Path> walk = Files.walk(dir)) {
                    for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                        Files.delete(p);
                    }
                }
            }
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot recreate " + dir + ": " + e.getMessage(), e);
        }
    }

    static String tail(String text, int lines) {
        List<String> all = text.lines().toList();
        return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    }
}
