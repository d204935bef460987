package dev.xbridge.testvm;

import static org.assertj.core.api.Assertions.assertThat;

import dev.xbridge.testing.Requires;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * scripts/testvm itself, on the first kernel of the matrix: what a command
 * sees in the guest, what comes back, and the deadline. Two boots (~10 s each
 * under TCG on 2 cores).
 */
class TestVmTest {
    @BeforeEach
    void requirements() {
        Requires.root();
        String why = TestVm.unavailable();
        Requires.that(why == null, why);
    }

    static String firstKernel() {
        return TestVm.matrix().getFirst();
    }

    @Test
    void theCommandRunsAsRootInAStockKernelWithModulesAndReturnsItsExitCode(@TempDir Path shared) throws Exception {
        Path cwd = TestVm.projectRoot();
        String script = String.join("; ",
                "id -u",
                "pwd",
                "uname -r",
                "echo on-stderr >&2",
                "awk '$3 ~ /^(bpf|debugfs|overlay)$/ { print \"mount\", $2, $3 }' /proc/mounts",
                "ip netns add tvm && ip -n tvm link add v0 type veth peer name v1",
                "ip -n tvm link add link v0 name v0.7 type vlan id 7 && ip -n tvm -br link show v0.7",
                "grep -o '^8021q ' /proc/modules",
                "ip netns del tvm",
                "echo written-in-guest > " + shared + "/out",
                "touch /etc/xbridge-testvm-overlay && echo overlay-writable",
                "exit 7");
        TestVm.Run run = TestVm.kernel(firstKernel()).rw(shared).cwd(cwd).timeout(Duration.ofMinutes(5))
                .run("bash", "-c", script);

        assertThat(run.exitCode()).as(run.output()).isEqualTo(7);
        assertThat(run.output())
                .contains("\n0\n") // uid 0
                .contains(cwd + "\n") // the host's working directory
                .contains("on-stderr")
                .contains("mount / overlay").contains("mount /sys/fs/bpf bpf").contains("mount /sys/kernel/debug debugfs")
                .containsPattern("v0\\.7@v0 +DOWN") // an 802.1Q device, with 8021q loaded on demand:
                .contains("8021q \n")
                .contains("overlay-writable");
        assertThat(run.output()).doesNotContain("\r\n").as("the serial port passes bytes unchanged");
        assertThat(Files.readString(shared.resolve("out"))).isEqualTo("written-in-guest\n");
        assertThat(Path.of("/etc/xbridge-testvm-overlay")).as("the guest's writes outside --rw stay in the guest").doesNotExist();
        assertThat(run.bootSeconds()).isPositive();
        assertThat(run.commandSeconds()).isGreaterThanOrEqualTo(0);
        System.out.printf("testvm: boot %.1f s, command %.1f s, wall %.1f s%n", run.bootSeconds(), run.commandSeconds(),
                run.elapsed().toMillis() / 1000.0);
    }

    @Test
    void aHungGuestIsKilledAtTheDeadlineAndItsConsoleIsShown() {
        TestVm.Run run = TestVm.kernel(firstKernel()).timeout(Duration.ofSeconds(30))
                .run("bash", "-c", "echo about-to-hang; echo hung-marker >/dev/console; sleep 600");
        assertThat(run.exitCode()).as(run.output()).isEqualTo(124);
        assertThat(run.output()).contains("about-to-hang")
                .contains("deadline: the guest ran for more than 30 s")
                .contains("  | hung-marker");
        assertThat(run.elapsed()).isLessThan(Duration.ofSeconds(70));
    }
}
