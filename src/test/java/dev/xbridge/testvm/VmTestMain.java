package dev.xbridge.testvm;

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectMethod;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectPackage;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.support.descriptor.ClassSource;
import org.junit.platform.engine.support.descriptor.MethodSource;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.TagFilter;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;

/**
 * Runs JUnit tests in the guest (started by {@link KernelMatrixTest} through
 * {@code scripts/testvm}, or by hand) and writes each outcome as a
 * {@link VmTestResult} JSON line to the results file, which lives on a
 * {@code --rw} share so the host can read it.
 *
 * <pre>
 * java -cp TEST_CLASSPATH dev.xbridge.testvm.VmTestMain --results FILE [--tag vm]... [--class NAME]... [--method NAME#method]...
 * </pre>
 *
 * {@code --tag} runs every test class under {@code dev.xbridge} with that
 * tag; {@code --class} runs a whole class and {@code --method} one test
 * method, whatever their tags. It uses the
 * JUnit Platform launcher of the pom's JUnit version (no Maven in the guest:
 * under TCG, Maven's own start-up would cost more than many tests). Exit code:
 * 0 when nothing failed, 1 when a test failed, 2 when no test ran.
 */
public final class VmTestMain {
    private VmTestMain() {}

    public static void main(String[] args) throws IOException {
        Path results = null;
        List<String> tags = new ArrayList<>();
        List<String> classes = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            String value = i + 1 < args.length ? args[i + 1] : null;
            switch (args[i]) {
                case "--results" -> results = Path.of(value);
                case "--tag" -> tags.add(value);
                case "--class" -> classes.add(value);
                case "--method" -> classes.add("#" + value);
                default -> usage("unknown argument " + args[i]);
            }
            i++;
        }
        if (results == null || (tags.isEmpty() && classes.isEmpty())) {
            usage("need --results FILE and at least one --tag, --class or --method");
        }

        Files.createDirectories(results.toAbsolutePath().getParent());
        try (Writer out = Files.newBufferedWriter(results)) {
            Recorder recorder = new Recorder(out);
            Launcher launcher = LauncherFactory.create();
            if (!tags.isEmpty()) {
                launcher.execute(request().selectors(selectPackage("dev.xbridge"))
                        .filters(TagFilter.includeTags(tags)).build(), recorder);
            }
            if (!classes.isEmpty()) {
                launcher.execute(request().selectors(classes.stream()
                        .map(c -> c.startsWith("#") ? selectMethod(c.substring(1)) : selectClass(c)).toList()).build(), recorder);
            }
            System.out.printf("vm tests: %d run, %d failed, %d skipped%n", recorder.run, recorder.failed, recorder.skipped);
            System.exit(recorder.run == 0 ? 2 : recorder.failed > 0 ? 1 : 0);
        }
    }

    private static LauncherDiscoveryRequestBuilder request() {
        return LauncherDiscoveryRequestBuilder.request();
    }

    private static void usage(String problem) {
        System.err.println("VmTestMain: " + problem);
        System.err.println("usage: VmTestMain --results FILE [--tag TAG]... [--class NAME]... [--method NAME#method]...");
        System.exit(64);
    }

    /** Prints each outcome as it happens and appends it to the results file. */
    static final class Recorder implements TestExecutionListener {
        private static final ObjectMapper JSON = new ObjectMapper();
        private final Writer out;
        private final Map<String, Long> started = new ConcurrentHashMap<>();
        int run;
        int failed;
        int skipped;

        Recorder(Writer out) {
            this.out = out;
        }

        @Override
        public void executionStarted(TestIdentifier id) {
            started.put(id.getUniqueId(), System.nanoTime());
        }

        @Override
        public void executionSkipped(TestIdentifier id, String reason) {
            if (id.isTest()) {
                write(id, "SKIPPED", 0, reason, "");
            }
        }

        @Override
        public void executionFinished(TestIdentifier id, TestExecutionResult result) {
            Long t0 = started.remove(id.getUniqueId());
            long millis = t0 == null ? 0 : (System.nanoTime() - t0) / 1_000_000;
            String message = result.getThrowable().map(String::valueOf).orElse("");
            String trace = result.getThrowable().map(VmTestMain::trace).orElse("");
            if (id.isTest()) {
                write(id, result.getStatus().name(), millis, message, trace);
            } else if (result.getStatus() != TestExecutionResult.Status.SUCCESSFUL) {
                // A failing @BeforeAll or class initialiser: no test of the class reports it.
                write(id, result.getStatus().name(), millis, message, trace);
            }
        }

        private synchronized void write(TestIdentifier id, String status, long millis, String message, String trace) {
            String className = id.getSource().map(s -> s instanceof MethodSource m ? m.getClassName()
                    : s instanceof ClassSource c ? c.getClassName() : "").orElse("");
            // "method()" for a test, "method(int)[2]" for an invocation, the class name for a class.
            VmTestResult r = new VmTestResult(className, id.getLegacyReportingName(), status, millis, message, trace);
            switch (status) {
                case "FAILED" -> failed++;
                case "ABORTED", "SKIPPED" -> skipped++;
                default -> { }
            }
            run++;
            System.out.printf("vm test %-10s %s (%.1f s)%s%n", status, r.shortName(), millis / 1000.0,
                    r.failed() ? "\n" + trace : r.skipped() ? ": " + message : "");
            try {
                out.write(JSON.writeValueAsString(r));
                out.write('\n');
                out.flush();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    static String trace(Throwable t) {
        StringWriter s = new StringWriter();
        t.printStackTrace(new PrintWriter(s));
        return s.toString();
    }
}
