package dev.xbridge.testbed;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.xbridge.sys.NetNamespace;
import dev.xbridge.testing.Requires;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class NetnsTest {
    @BeforeEach
    void needsRoot() {
        Requires.root();
    }

    @Test
    void nameIsPrefixPlusSixRandomCharsAndFitsAnInterfaceName() {
        try (Netns a = Netns.create("xbt"); Netns b = Netns.create("xbt")) {
            assertThat(a.name()).matches("xbt-[a-z0-9]{6}").hasSizeLessThanOrEqualTo(15);
            assertThat(a.name()).isNotEqualTo(b.name());
            assertThat(a.path()).hasToString("/run/netns/" + a.name());
            assertThat(Files.exists(a.path())).isTrue();
            assertThat(Netns.list()).contains(a.name(), b.name());
        }
        assertThatThrownBy(() -> Netns.create("bad prefix")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void execRunsInsideWithLoopbackUp() {
        try (Netns ns = Netns.create("xbt")) {
            String links = ns.exec("ip", "-o", "link", "show").stdout();
            assertThat(links).contains("lo:").contains("UP").doesNotContain("eth0");
            assertThat(ns.tryExec("ip", "link", "show", "dev", "nosuchdev").ok()).isFalse();
            assertThatThrownBy(() -> ns.exec("ip", "link", "show", "dev", "nosuchdev"))
                    .isInstanceOf(CommandException.class)
                    .hasMessageContaining("ip netns exec " + ns.name() + " ip link show dev nosuchdev")
                    .hasMessageContaining("nosuchdev");
        }
    }

    @Test
    void enterGivesAThreadInTheNamespace() {
        long rootInode = NetNamespace.currentInode();
        try (Netns ns = Netns.create("xbt")) {
            NetNamespace inside = ns.enter();
            long inode = inside.call(NetNamespace::currentInode);
            assertThat(inode).isNotEqualTo(rootInode);
            // The same namespace `ip netns` bound to /run/netns/NAME.
            String stat = ns.exec("stat", "-L", "-c", "%i", "/proc/self/ns/net").stdout().strip();
            assertThat(inode).isEqualTo(Long.parseLong(stat));
        }
    }

    @Test
    void closeKillsWhatRunsInsideAndDeletesTheNamespace() throws Exception {
        Netns ns = Netns.create("xbt");
        Process started;
        long orphan;
        try {
            started = ns.start("sleep", "300");
            // A process the Netns did not start itself, detached from our pipes.
            orphan = Long.parseLong(ns.exec("sh", "-c", "sleep 300 </dev/null >/dev/null 2>&1 & echo $!").stdout().strip());
            assertThat(ProcessHandle.of(orphan)).isPresent();
        } finally {
            ns.close();
        }
        assertThat(started.waitFor(5, TimeUnit.SECONDS)).isTrue();
        assertThat(Netns.running(orphan)).isFalse();
        assertThat(Netns.list()).doesNotContain(ns.name());
        assertThat(ns.isClosed()).isTrue();
        ns.close(); // idempotent
        assertThatThrownBy(() -> ns.start("true")).isInstanceOf(IllegalStateException.class);
    }

    /**
     * A run killed with SIGKILL runs no shutdown hook, so its namespace stays; the next
     * run's {@link Netns#reclaimOrphans()} deletes it, and leaves a live run's alone.
     */
    @Test
    void namespacesOfAKilledRunAreReclaimedAndALiveRunsAreNot() throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        // stdout carries only the namespace's name; the child's log (Netns.create reclaims other
        // runs' orphans and says so on stderr) goes to the test's stderr, not into that line.
        Process child = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), KilledRun.class.getName())
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String orphan;
        try (Netns mine = Netns.create("xbt")) {
            var out = new BufferedReader(new InputStreamReader(child.getInputStream()));
            orphan = out.readLine();
            assertThat(orphan).as("the child's namespace").matches("xbt-[a-z0-9]{6}");
            assertThat(Netns.reclaimOrphans()).as("its owner still runs").doesNotContain(orphan, mine.name());

            child.destroyForcibly(); // SIGKILL: no shutdown hook
            assertThat(child.waitFor(10, TimeUnit.SECONDS)).isTrue();
            assertThat(Netns.list()).as("left behind by the killed run").contains(orphan);

            assertThat(Netns.reclaimOrphans()).contains(orphan).doesNotContain(mine.name());
            assertThat(Netns.list()).doesNotContain(orphan).contains(mine.name());
            assertThat(Path.of("/run/xbridge-testbed", orphan)).doesNotExist();
            assertThat(Path.of("/run/xbridge-testbed", mine.name())).exists();
        } finally {
            child.destroyForcibly();
        }
        assertThat(Netns.ownerAlive("1 not-its-start-time")).as("a reused pid is not the owner").isFalse();
    }

    /** A run that creates a namespace, says its name, and waits to be killed. */
    static final class KilledRun {
        public static void main(String[] args) throws Exception {
            Netns ns = Netns.create("xbt");
            System.out.println(ns.name());
            System.out.flush();
            Thread.sleep(Duration.ofMinutes(2));
            ns.close();
        }
    }

    @Test
    void startedProcessOutputIsReadable() throws Exception {
        try (Netns ns = Netns.create("xbt")) {
            Process p = ns.start("sh", "-c", "ip -o link show lo; echo oops >&2");
            String out = new String(p.getInputStream().readAllBytes());
            assertThat(p.waitFor(5, TimeUnit.SECONDS)).isTrue();
            assertThat(out).contains("lo:").contains("oops");
            assertThat(Command.run(Duration.ofSeconds(5), "true").ok()).isTrue();
        }
    }
}
