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
import java.util.HashMap;
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
        Out table = doctor();
        System.out.println("xbridge doctor on " + release + ":\n" + table.stdout());
        Out json = doctor("--json");
        Map<String, JsonNode> checks = new HashMap<>();
        new ObjectMapper().readTree(json.stdout()).forEach(c -> checks.put(c.path("name").asText(), c));

        assertThat(json.exit()).as("no check FAILs on " + release + ":\n" + table.stdout()).isZero();
        assertThat(checks.get("kernel").path("detail").asText()).isEqualTo("Linux " + release);
        assertThat(checks.get("kernel").path("result").asText()).isEqualTo("OK");
        assertThat(checks.get("BTF").path("result").asText()).as("Debian kernels have BTF").isEqualTo("OK");
        assertThat(checks.get("bpffs").path("result").asText()).isEqualTo("OK");
        assertThat(checks.get("datapath").path("result").asText())
                .as("the verifier of " + release + " accepts the datapath: " + checks.get("datapath"))
                .isEqualTo("OK");
    }
}
