package dev.xbridge.cli;

import dev.xbridge.daemon.ControlClient;
import dev.xbridge.daemon.Daemon;
import dev.xbridge.daemon.Options;
import dev.xbridge.daemon.Privileges;
import dev.xbridge.daemon.Status;
import java.nio.file.Path;
import dev.xbridge.bridge.CacheSize;
import dev.xbridge.bridge.HookChoice;
import dev.xbridge.bridge.TcAttach;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code xbridge run}: the daemon, in the foreground, until SIGTERM or SIGINT. */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = "Accelerate the bridges of this network namespace until stopped (SIGTERM, SIGINT).")
final class RunCommand implements Callable<Integer> {
    @Option(names = "--bridge", paramLabel = "NAME", description = "Accelerate only this bridge (repeatable).")
    List<String> bridges = List.of();

    @Option(names = "--port", paramLabel = "NAME", description = "Accelerate only this port (repeatable).")
    List<String> ports = List.of();

    @Option(names = "--hook", paramLabel = "NAME=HOOK",
            description = "Hook for a port or a whole bridge: auto (default), xdp, tc or off (repeatable; a port's beats its bridge's).")
    List<String> hooks = List.of();

    @Option(names = "--tc-attach", paramLabel = "HOW", defaultValue = "auto",
            description = "How TC attaches: auto (tcx link on kernel 6.6+, else clsact), tcx, or clsact (default: ${DEFAULT-VALUE}).")
    String tcAttach;

    @Option(names = "--fdb-max", defaultValue = "65536", description = "FDB map capacity (default: ${DEFAULT-VALUE}).")
    int fdbMax;

    @Option(names = "--cache-memory", paramLabel = "SIZE", defaultValue = "32M",
            description = "Kernel memory the datapath's per-CPU flow and FDB caches may take over all possible CPUs;"
                    + " at most 640K a CPU, fewer sets where CPUs are many, 0 for none (default: ${DEFAULT-VALUE}).")
    String cacheMemory;

    @Option(names = "--reprobe-ms", defaultValue = "2000",
            description = "How often each port's tcx programs are checked again, in ms: tcx attachments announce nothing;"
                    + " also how often peers are probed where their notifications cannot be heard (default: ${DEFAULT-VALUE}).")
    long reprobeMillis;

    @Option(names = "--peer-reprobe-ms", defaultValue = "60000",
            description = "How often every veth peer is probed again without a change announced, in ms: a safety net,"
                    + " since peers' namespaces announce their changes (default: ${DEFAULT-VALUE}).")
    long peerReprobeMillis;

    static final long MAX_PERIOD_MS = 86_400_000;

    @Option(names = "--socket", paramLabel = "PATH", description = "Control socket (default: /run/xbridge/netns-INODE.sock).")
    Path socket;

    @Option(names = "--no-aging-refresh", hidden = true,
            description = "Do not hand the kernel aging samples of fast-pathed sources (only to show why they are needed).")
    boolean noAgingRefresh;

    @Option(names = "--monitor-buffer", paramLabel = "BYTES", hidden = true,
            description = "Receive buffer of the rtnetlink monitor (default 8 MiB); tests shrink it to force a resync.")
    int monitorBuffer = dev.xbridge.netlink.RtMonitor.DEFAULT_BUFFER;

    @Option(names = {"-v", "--verbose"}, description = "Log every change.")
    boolean verbose;

    /** {@code NAME=HOOK} pairs; a name given twice is an error rather than a silent last-wins. */
    static Map<String, HookChoice> parseHooks(List<String> specs) {
        Map<String, HookChoice> out = new LinkedHashMap<>();
        for (String spec : specs) {
            int eq = spec.indexOf('=');
            if (eq <= 0 || eq == spec.length() - 1) {
                throw new IllegalArgumentException("--hook " + spec + ": expected NAME=HOOK, e.g. --hook veth1=tc or --hook br0=off");
            }
            String name = spec.substring(0, eq).trim();
            HookChoice choice;
            try {
                choice = HookChoice.parse(spec.substring(eq + 1));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--hook " + spec + ": " + e.getMessage(), e);
            }
            if (out.put(name, choice) != null) {
                throw new IllegalArgumentException("--hook " + spec + ": " + name + " is given twice");
            }
        }
        return out;
    }

    static long parseCacheMemory(String s) {
        try {
            return CacheSize.parseBytes(s);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--cache-memory " + e.getMessage(), e);
        }
    }

    static TcAttach parseTcAttach(String s) {
        try {
            return TcAttach.valueOf(s.trim().toUpperCase(java.util.Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--tc-attach " + s + ": use auto, tcx or clsact", e);
        }
    }

    @Override
    public Integer call() {
        Logs.configure(verbose);
        if (fdbMax < 1) {
            throw new IllegalArgumentException("--fdb-max must be at least 1, got " + fdbMax);
        }
        if (reprobeMillis < 1 || peerReprobeMillis < 1 || reprobeMillis > MAX_PERIOD_MS || peerReprobeMillis > MAX_PERIOD_MS) {
            throw new IllegalArgumentException("--reprobe-ms and --peer-reprobe-ms must be 1 to " + MAX_PERIOD_MS
                    + " (a day), got " + reprobeMillis + " and " + peerReprobeMillis);
        }
        Privileges.requireForRun();
        Options options = new Options(new LinkedHashSet<>(bridges), new LinkedHashSet<>(ports), fdbMax,
                reprobeMillis, socket != null ? socket : ControlClient.defaultSocket(), !noAgingRefresh,
                monitorBuffer, parseHooks(hooks), parseTcAttach(tcAttach), parseCacheMemory(cacheMemory),
                peerReprobeMillis);
        AtomicBoolean stop = new AtomicBoolean();
        CountDownLatch stopped = new CountDownLatch(1);
        // SIGTERM and SIGINT run shutdown hooks: ask the loop to stop, then wait for its cleanup.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            stop.set(true);
            try {
                stopped.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "xbridge-shutdown"));
        boolean started = false;
        try (Daemon daemon = new Daemon(options)) {
            daemon.start();
            started = true;
            Status s = daemon.status();
            long ports = s.bridges().stream().mapToLong(b -> b.ports().size()).sum();
            long accelerated = s.bridges().stream().flatMap(b -> b.ports().stream()).filter(Status.PortStatus::accelerated).count();
            System.out.println("xbridge: ready: " + s.bridges().size() + " bridge(s), " + ports + " port(s), "
                    + accelerated + " accelerated; control socket " + options.socket());
            System.out.flush();
            daemon.run(stop);
        } finally {
            if (started) {
                System.out.println("xbridge: stopped; programs detached, peers restored");
                System.out.flush();
            }
            stopped.countDown();
        }
        return 0;
    }
}
