package dev.xbridge.testbed;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** Tests and the bench start the daemon with the flags the launcher gives {@code xbridge run}. */
class RunJvmFlagsTest {
    @Test
    void daemonProcessUsesTheLaunchersRunFlags() throws IOException {
        String launcher = Files.readString(Path.of("xbridge"));
        assertThat(launcher).contains("jvm=(" + String.join(" ", DaemonProcess.RUN_JVM_FLAGS) + ")");
    }
}
