package dev.xbridge.netlink;

import dev.xbridge.sys.NetNamespace;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/** A throwaway network namespace for one test ({@code ip netns add xbt-...}), deleted on close. */
final class Netns implements AutoCloseable {
    final String name;
    private NetNamespace thread;

    private Netns(String name) {
        this.name = name;
    }

    static Netns create(String tag) {
        String name = "xbt-" + tag + "-" + Integer.toHexString(ThreadLocalRandom.current().nextInt(0x100000, 0xffffff));
        run("ip", "netns", "add", name);
        Netns ns = new Netns(name);
        ns.ip("link", "set", "dev", "lo", "up");
        return ns;
    }

    /** The thread that lives inside this namespace, for sockets and ioctls. */
    NetNamespace thread() {
        if (thread == null) {
            thread = NetNamespace.named(name);
        }
        return thread;
    }

    /** {@code ip -n NAME args...}; fails the test on a non-zero exit. */
    String ip(String... args) {
        List<String> cmd = new ArrayList<>(List.of("ip", "-n", name));
        cmd.addAll(List.of(args));
        return run(cmd.toArray(String[]::new));
    }

    /** {@code ip netns exec NAME args...}. */
    String exec(String... args) {
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", name));
        cmd.addAll(List.of(args));
        return run(cmd.toArray(String[]::new));
    }

    /** Like {@link #exec} but returns the exit code and output instead of failing. */
    Result tryExec(String... args) {
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", name));
        cmd.addAll(List.of(args));
        return tryRun(cmd.toArray(String[]::new));
    }

    record Result(int code, String output) {}

    static String run(String... cmd) {
        Result r = tryRun(cmd);
        if (r.code != 0) {
            throw new IllegalStateException(String.join(" ", cmd) + " exited " + r.code + ": " + r.output);
        }
        return r.output;
    }

    static Result tryRun(String... cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException(String.join(" ", cmd) + " timed out");
            }
            return new Result(p.exitValue(), out);
        } catch (IOException e) {
            throw new IllegalStateException(String.join(" ", cmd) + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        if (thread != null) {
            thread.close();
        }
        tryRun("ip", "netns", "del", name);
    }
}
