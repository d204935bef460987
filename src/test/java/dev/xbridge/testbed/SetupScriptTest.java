package dev.xbridge.testbed;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * scripts/setup's package check, which the launcher runs before every command: it must name
 * exactly the packages dpkg does not have installed, whether dpkg knows them or not, since
 * that list is what it installs or tells the user to install.
 */
class SetupScriptTest {
    @Test
    void missingPackagesAreExactlyThoseNotInstalled() throws IOException, InterruptedException {
        // bash and coreutils are Essential on Debian; the other two names exist in no archive.
        String out = bash("xbridge_missing_packages bash xbridge-no-such-package coreutils xbridge-nor-this");
        assertThat(out.lines().toList()).containsExactly("xbridge-no-such-package", "xbridge-nor-this");
    }

    @Test
    void nothingIsMissingWhenAllAreInstalled() throws IOException, InterruptedException {
        assertThat(bash("xbridge_missing_packages bash coreutils dpkg")).isEmpty();
    }

    /** Runs {@code command} in bash after sourcing scripts/setup (a no-op here: the build already ran it). */
    private static String bash(String command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(List.of("bash", "-c", ". scripts/setup && " + command))
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as("exit status of: %s", command).isZero();
        return out;
    }
}
