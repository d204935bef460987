package dev.xbridge.testbed;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class CommandTest {
    @Test
    void runReturnsExitCodeAndBothStreams() {
        Command.Result r = Command.run(Duration.ofSeconds(5), "sh", "-c", "echo out; echo err >&2; exit 4");
        assertThat(r.exitCode()).isEqualTo(4);
        assertThat(r.stdout()).isEqualTo("out\n");
        assertThat(r.stderr()).isEqualTo("err\n");
        assertThat(r.ok()).isFalse();
    }

    @Test
    void runOkFailureNamesCommandExitCodeAndStderr() {
        assertThatThrownBy(() -> Command.runOk("sh", "-c", "echo 'RTNETLINK answers: File exists' >&2; exit 2"))
                .isInstanceOf(CommandException.class)
                .hasMessageContaining("sh -c 'echo")
                .hasMessageContaining("exited 2")
                .hasMessageContaining("RTNETLINK answers: File exists")
                .satisfies(e -> {
                    CommandException ce = (CommandException) e;
                    assertThat(ce.argv()).startsWith("sh", "-c");
                    assertThat(ce.result().exitCode()).isEqualTo(2);
                    assertThat(ce.timedOut()).isFalse();
                });
    }

    @Test
    void programThatCannotStartIsNamed() {
        assertThatThrownBy(() -> Command.runOk("/nonexistent/xbridge-tool", "--flag"))
                .isInstanceOf(CommandException.class)
                .hasMessageContaining("/nonexistent/xbridge-tool --flag")
                .hasMessageContaining("cannot start");
    }

    @Test
    void timeoutKillsTheProgramAndSaysSo() {
        long start = System.nanoTime();
        assertThatThrownBy(() -> Command.run(Duration.ofMillis(200), "sh", "-c", "echo started; exec sleep 30"))
                .isInstanceOf(CommandException.class)
                .hasMessageContaining("timed out after 200 ms")
                .satisfies(e -> {
                    CommandException ce = (CommandException) e;
                    assertThat(ce.timedOut()).isTrue();
                    assertThat(ce.result().stdout()).isEqualTo("started\n");
                });
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
    }

    @Test
    void largeOutputOnBothStreamsDoesNotDeadlock() {
        // 1 MiB on each pipe: far more than a pipe buffer holds.
        Command.Result r = Command.runOk(Duration.ofSeconds(20), "sh", "-c",
                "head -c 1048576 /dev/zero | tr '\\0' a; head -c 1048576 /dev/zero | tr '\\0' b >&2");
        assertThat(r.stdout()).hasSize(1 << 20);
        assertThat(r.stderr()).hasSize(1 << 20);
    }

    @Test
    void describeQuotesWhatAShellWouldSplit() {
        assertThat(Command.describe(java.util.List.of("ss", "-Hltn", "sport = :5201", "it's")))
                .isEqualTo("ss -Hltn 'sport = :5201' 'it'\\''s'");
    }
}
