package dev.xbridge.testvm;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.xbridge.testbed.DaemonProcess;
import dev.xbridge.testing.Requires;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * {@code xbridge doctor} on a distribution kernel: what it says there is the
 * first thing a user on Debian 12 sees. Runs in the VM (KernelMatrixTest).
 */
@Tag("vm")
class DoctorOnStockKernelTest {
    record Out(int exit, String stdout) {}

    static Out doctor(String... args) throws IOException, InterruptedException {
        List<String> argv = new ArrayList<>(DaemonProcess.javaCommand());
        argv.add("doctor");
        argv.addAll(List.of(args));
        Process p = new ProcessBuilder(argv).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(300, TimeUnit.SECONDS)).as("doctor finished").isTrue();
        return new Out(p.exitValue(), out);
    }

    @Test
    void doctorPassesAndNamesThisKernel() throws Exception {
        Requires.root();
        String release = Files.readString(Path.of("/proc/sys/kernel/osrelease")).strip();
        // One doctor JVM, not a second for the table: each takes ~50 s to run under TCG.
        Out json = doctor("--json");
        Map<String, JsonNode> checks = new LinkedHashMap<>();
        new ObjectMapper().readTree(json.stdout()).forEach(c -> checks.put(c.path("name").asText(), c));
        StringBuilder table = new StringBuilder();
        checks.values().forEach(c -> table.append(String.format("%-13s %-7s %s%n",
                c.path("name").asText(), c.path("result").asText(), c.path("detail").asText())));
        System.out.println("xbridge doctor on " + release + ":\n" + table);

        assertThat(json.exit()).as("no check FAILs on " + release + ":\n" + table).isZero();
        assertThat(checks.get("kernel").path("detail").asText()).isEqualTo("Linux " + release);
        assertThat(checks.get("kernel").path("result").asText()).isEqualTo("OK");
        assertThat(checks.get("BTF").path("result").asText()).as("Debian kernels have BTF").isEqualTo("OK");
        assertThat(checks.get("bpffs").path("result").asText()).isEqualTo("OK");
        assertThat(checks.get("datapath").path("result").asText())
                .as("the verifier of " + release + " accepts the datapath: " + checks.get("datapath"))
                .isEqualTo("OK");
    }
}
