package dev.xbridge.bpf;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A throwaway network namespace {@code xbt-<random>} for one test, deleted (with its devices) on close. */
final class ScratchNet implements AutoCloseable {
    final String ns;

    private ScratchNet(String ns) {
        this.ns = ns;
    }

    static ScratchNet create() {
        byte[] r = new byte[4];
        ThreadLocalRandom.current().nextBytes(r);
        ScratchNet net = new ScratchNet("xbt-" + HexFormat.of().formatHex(r));
        run("ip", "netns", "add", net.ns);
        return net;
    }

    /**
     * A veth pair {@code a}/{@code b} inside the namespace, both up. IPv6 is off in the
     * namespace so no router solicitation or DAD frame shows up in packet counters.
     */
    void veth(String a, String b) {
        run("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1");
        run("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1");
        ip("link", "add", "name", a, "type", "veth", "peer", "name", b);
        ip("link", "set", a, "up");
        ip("link", "set", b, "up");
    }

    int ifindex(String dev) {
        String out = ip("-o", "link", "show", "dev", dev);
        Matcher m = Pattern.compile("^(\\d+):").matcher(out);
        if (!m.find()) {
            throw new IllegalStateException("no ifindex in: " + out);
        }
        return Integer.parseInt(m.group(1));
    }

    /** {@code ip -n NS ARGS...}, output returned; fails on a nonzero exit. */
    String ip(String... args) {
        String[] cmd = new String[args.length + 3];
        cmd[0] = "ip";
        cmd[1] = "-n";
        cmd[2] = ns;
        System.arraycopy(args, 0, cmd, 3, args.length);
        return run(cmd);
    }

    static String run(String... cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException("timed out: " + List.of(cmd));
            }
            if (p.exitValue() != 0) {
                throw new IllegalStateException(List.of(cmd) + " exited " + p.exitValue() + ": " + out);
            }
            return out;
        } catch (IOException e) {
            throw new IllegalStateException("cannot run " + List.of(cmd), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted: " + List.of(cmd), e);
        }
    }

    @Override
    public void close() {
        run("ip", "netns", "del", ns);
    }
}
