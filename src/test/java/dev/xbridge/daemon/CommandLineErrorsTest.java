package dev.xbridge.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import dev.xbridge.testbed.BridgeLab;
import dev.xbridge.testbed.Command;
import dev.xbridge.testbed.DaemonProcess;
import dev.xbridge.testbed.Netns;
import dev.xbridge.testing.Requires;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Bad input and missing privileges give a clear error that names the problem. */
class CommandLineErrorsTest {
    static Command.Result xbridge(Netns ns, String... args) {
        List<String> argv = new ArrayList<>(List.of("ip", "netns", "exec", ns.name()));
        argv.addAll(DaemonProcess.javaCommand());
        argv.addAll(List.of(args));
        return Command.run(Duration.ofSeconds(60), argv.toArray(String[]::new));
    }

    @Test
    void unknownBridgeAndPortNamesAreNamedWithTheAlternatives() {
        Requires.root();
        try (BridgeLab lab = BridgeLab.builder().prefix("xbt").hosts(1).build()) {
            Command.Result bridge = xbridge(lab.switchNs(), "run", "--bridge", "nosuch", "--socket", "/run/xbridge/xbt-e1.sock");
            assertThat(bridge.exitCode()).isEqualTo(1);
            assertThat(bridge.stderr()).contains("no bridge named 'nosuch'").contains("bridges here: br0");

            Command.Result port = xbridge(lab.switchNs(), "run", "--port", "p9", "--socket", "/run/xbridge/xbt-e2.sock");
            assertThat(port.exitCode()).isEqualTo(1);
            assertThat(port.stderr()).contains("no bridge port named 'p9'").contains("ports here: p1");
            assertThat(lab.switchNs().ip("-d", "link", "show", "dev", "p1").stdout())
                    .as("nothing attached after a refused start").doesNotContain("prog/xdp");
        }
    }

    @Test
    void badHookOverridesAreRefusedWithWhatWouldBeValid() {
        Requires.root();
        try (BridgeLab lab = BridgeLab.builder().prefix("xbt").hosts(1).build()) {
            Command.Result name = xbridge(lab.switchNs(), "run", "--hook", "p9=tc", "--socket", "/run/xbridge/xbt-e3.sock");
            assertThat(name.exitCode()).isEqualTo(1);
            assertThat(name.stderr()).contains("--hook p9=...: no bridge or bridge port named 'p9'")
                    .contains("bridges: br0").contains("ports: p1");

            Command.Result choice = xbridge(lab.switchNs(), "run", "--hook", "p1=fast", "--socket", "/run/xbridge/xbt-e4.sock");
            assertThat(choice.exitCode()).isEqualTo(1);
            assertThat(choice.stderr()).contains("--hook p1=fast: unknown hook 'fast': use auto, xdp, tc or off");

            Command.Result form = xbridge(lab.switchNs(), "run", "--hook", "p1", "--socket", "/run/xbridge/xbt-e5.sock");
            assertThat(form.exitCode()).isEqualTo(1);
            assertThat(form.stderr()).contains("expected NAME=HOOK");

            Command.Result twice = xbridge(lab.switchNs(), "run", "--hook", "p1=tc", "--hook", "p1=xdp",
                    "--socket", "/run/xbridge/xbt-e6.sock");
            assertThat(twice.exitCode()).isEqualTo(1);
            assertThat(twice.stderr()).contains("p1 is given twice");

            Command.Result attach = xbridge(lab.switchNs(), "run", "--tc-attach", "netlink", "--socket", "/run/xbridge/xbt-e7.sock");
            assertThat(attach.exitCode()).isEqualTo(1);
            assertThat(attach.stderr()).contains("--tc-attach netlink: use auto, tcx or clsact");
            assertThat(lab.switchNs().exec("tc", "qdisc", "show", "dev", "p1").stdout())
                    .as("nothing attached after a refused start").doesNotContain("clsact");
        }
    }

    @Test
    void aCacheBudgetThatIsNoSizeIsRefusedWithTheFormItTakes() {
        Requires.root();
        try (BridgeLab lab = BridgeLab.builder().prefix("xbt").hosts(1).build()) {
            Command.Result r = xbridge(lab.switchNs(), "run", "--cache-memory", "lots", "--socket", "/run/xbridge/xbt-e8.sock");
            assertThat(r.exitCode()).isEqualTo(1);
            assertThat(r.stderr()).contains("--cache-memory 'lots' is not a size: use bytes or a K, M or G suffix, e.g. 32M");
            assertThat(lab.switchNs().exec("ip", "-d", "link", "show", "dev", "p1").stdout())
                    .as("nothing attached after a refused start").doesNotContain("prog/xdp");
        }
    }

    @Test
    void withoutPrivilegesRunSaysWhatIsMissingAndWhatToDo() {
        Requires.root(); // to drop them: uid 0 with an empty capability bounding set has no privileges
        try (Netns ns = Netns.create("xbt-np")) {
            List<String> argv = new ArrayList<>(List.of("ip", "netns", "exec", ns.name(),
                    "setpriv", "--bounding-set=-all", "--inh-caps=-all"));
            argv.addAll(DaemonProcess.javaCommand());
            argv.addAll(List.of("run", "--socket", "/tmp/xbt-np.sock"));
            Command.Result r = Command.run(Duration.ofSeconds(60), argv.toArray(String[]::new));
            assertThat(r.exitCode()).as(r.stderr()).isEqualTo(1);
            assertThat(r.stderr()).contains("needs CAP_BPF").contains("CAP_NET_ADMIN").contains("run it as root");
        }
    }

    @Test
    void statusWithoutADaemonSaysSoWithItsOwnExitCode() {
        Requires.root();
        try (Netns ns = Netns.create("xbt-st")) {
            Command.Result r = xbridge(ns, "status", "--socket", "/run/xbridge/xbt-none.sock");
            assertThat(r.exitCode()).isEqualTo(3);
            assertThat(r.stderr()).contains("xbridge is not running in this network namespace");
        }
    }

    @Test
    void statusForAnUnknownBridgeNamesTheBridgesThatExist() {
        Requires.root();
        try (BridgeLab lab = BridgeLab.builder().prefix("xbt").hosts(1).build();
                DaemonProcess d = DaemonProcess.start(lab.switchNs())) {
            Command.Result r = xbridge(lab.switchNs(), "status", "--bridge", "br9", "--socket", d.socket().toString());
            assertThat(r.exitCode()).isEqualTo(1);
            assertThat(r.stderr()).contains("no bridge named 'br9'").contains("br0");
        }
    }
}
