package dev.xbridge.testbed;

import dev.xbridge.sys.NetNamespace;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Pattern;

/**
 * A named network namespace ({@code ip netns add}) that this JVM created and
 * deletes again on {@link #close()}, with the processes started in it.
 *
 * <p>Names are {@code <prefix>-<6 random chars>}, so parallel runs and
 * leftovers of a crashed run never collide; with a prefix of up to 8
 * characters they fit in 15, like an interface name, and stay readable in
 * {@code ip netns list}. Namespaces still open when the JVM exits are deleted
 * by a shutdown hook.
 *
 * <p>A run killed outright (SIGKILL, a lost machine session) runs no hook.
 * So each namespace gets an owner record, {@code /run/xbridge-testbed/NAME},
 * holding the creating process's pid and start time, and the first
 * {@link #create} of a JVM deletes every namespace whose owner is gone
 * ({@link #reclaimOrphans()}). A live run's namespaces are never touched,
 * even if its pid has been reused since.
 */
public final class Netns implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Netns.class.getName());
    private static final Pattern PREFIX = Pattern.compile("[a-zA-Z0-9_-]{1,40}");
    private static final String ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Path RUN_NETNS = Path.of("/run/netns");
    private static final Path OWNERS = Path.of("/run/xbridge-testbed");
    private static final AtomicBoolean RECLAIMED = new AtomicBoolean();

    /** Every namespace not yet closed, for the shutdown hook. */
    private static final Set<Netns> OPEN = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().name("xbridge-testbed-cleanup").unstarted(() -> {
            for (Netns ns : List.copyOf(OPEN)) {
                ns.close();
            }
        }));
    }

    private final String name;
    private final List<Process> processes = new CopyOnWriteArrayList<>();
    private final List<NetNamespace> entered = new CopyOnWriteArrayList<>();
    private final AtomicBoolean closed = new AtomicBoolean();

    private Netns(String name) {
        this.name = name;
    }

    /** Creates {@code <prefix>-<6 random chars>}; the prefix is letters, digits, '-' and '_'. */
    public static Netns create(String prefix) {
        if (!PREFIX.matcher(prefix).matches()) {
            throw new IllegalArgumentException("netns prefix must match " + PREFIX + ": '" + prefix + "'");
        }
        if (RECLAIMED.compareAndSet(false, true)) {
            reclaimOrphans();
        }
        for (int attempt = 0; ; attempt++) {
            String name = prefix + "-" + randomSuffix();
            if (Files.exists(RUN_NETNS.resolve(name)) && attempt < 5) {
                continue;
            }
            Netns ns = new Netns(name);
            // `ip netns add` fails with "File exists" rather than reuse a name, so a name is never shared.
            Command.runOk("ip", "netns", "add", name);
            OPEN.add(ns);
            try {
                writeOwner(name);
                // Loopback is down in a new namespace; tools expect it up.
                ns.ip("link", "set", "dev", "lo", "up");
            } catch (RuntimeException e) {
                ns.close();
                throw e;
            }
            return ns;
        }
    }

    private static String randomSuffix() {
        StringBuilder sb = new StringBuilder(6);
        for (int i = 0; i < 6; i++) {
            sb.append(ALPHABET.charAt(RANDOM.nextInt(ALPHABET.length())));
        }
        return sb.toString();
    }

    public String name() {
        return name;
    }

    /** The bind mount that keeps the namespace alive: {@code /run/netns/NAME}. */
    public Path path() {
        return RUN_NETNS.resolve(name);
    }

    /** Runs {@code argv} inside (via {@code ip netns exec}); it must exit 0. */
    public Command.Result exec(String... argv) {
        return Command.runOk(inside(argv));
    }

    /** Like {@link #exec(String...)} with a deadline other than {@link Command#DEFAULT_TIMEOUT}. */
    public Command.Result exec(Duration timeout, String... argv) {
        return Command.runOk(timeout, inside(argv));
    }

    /** Runs {@code argv} inside and returns how it ended, whatever its exit code. */
    public Command.Result tryExec(String... argv) {
        return Command.run(Command.DEFAULT_TIMEOUT, inside(argv));
    }

    /** Like {@link #tryExec(String...)} with a deadline. */
    public Command.Result tryExec(Duration timeout, String... argv) {
        return Command.run(timeout, inside(argv));
    }

    /**
     * {@code ip -n NAME args...}, which must succeed. Cheaper than
     * {@code exec("ip", ...)}: no mount namespace is set up.
     */
    public Command.Result ip(String... args) {
        String[] argv = new String[args.length + 3];
        argv[0] = "ip";
        argv[1] = "-n";
        argv[2] = name;
        System.arraycopy(args, 0, argv, 3, args.length);
        return Command.runOk(argv);
    }

    /**
     * Starts {@code argv} inside, in the background (e.g. {@code iperf3 -s} or
     * the daemon). stderr is merged into stdout, which the caller reads from
     * {@link Process#getInputStream()} or, if it has much to say, sends to a
     * file with {@link #start(Path, String...)}. {@link #close()} kills it.
     */
    public Process start(String... argv) {
        return start(new ProcessBuilder(inside(argv)).redirectErrorStream(true));
    }

    /** Like {@link #start(String...)}, appending stdout and stderr to {@code log}. */
    public Process start(Path log, String... argv) {
        return start(new ProcessBuilder(inside(argv))
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())));
    }

    private Process start(ProcessBuilder pb) {
        checkOpen();
        try {
            // `ip netns exec` execs the program (no fork), so the Process is the program itself.
            Process p = pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
            processes.add(p);
            return p;
        } catch (IOException e) {
            throw new CommandException(pb.command(), "cannot start: " + e.getMessage(), null, false, e);
        }
    }

    /**
     * A thread that entered this namespace, for FFM calls (netlink, bpf,
     * ioctl) that act on the calling thread's namespace. Closed with this Netns
     * if the caller has not closed it: a thread left inside would keep the
     * namespace, and its veths, alive after {@code ip netns del}.
     */
    public NetNamespace enter() {
        checkOpen();
        NetNamespace ns = NetNamespace.enter(path());
        entered.add(ns);
        return ns;
    }

    private String[] inside(String... argv) {
        if (argv.length == 0) {
            throw new IllegalArgumentException("no command");
        }
        String[] full = new String[argv.length + 4];
        full[0] = "ip";
        full[1] = "netns";
        full[2] = "exec";
        full[3] = name;
        System.arraycopy(argv, 0, full, 4, argv.length);
        return full;
    }

    private void checkOpen() {
        if (closed.get()) {
            throw new IllegalStateException("netns " + name + " is closed");
        }
    }

    public boolean isClosed() {
        return closed.get();
    }

    /**
     * Kills the processes started here and any other process still inside,
     * then deletes the namespace. Idempotent; never throws: cleanup problems
     * are logged, so that they do not hide the failure that led here.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        try {
            for (Process p : processes) {
                Command.kill(p);
            }
            for (NetNamespace ns : entered) {
                ns.close();
            }
            killStragglers();
            Command.Result r = Command.run("ip", "netns", "del", name);
            if (!r.ok() && Files.exists(path())) {
                LOG.log(Level.WARNING, "cannot delete netns {0}: {1}", name, r.stderr().strip());
            }
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "cleaning up netns " + name, e);
        } finally {
            OPEN.remove(this);
            deleteOwner(name);
        }
    }

    /** This process as an owner record: pid and start time, so a reused pid is not mistaken for us. */
    private static String self() {
        ProcessHandle me = ProcessHandle.current();
        return me.pid() + " " + startOf(me);
    }

    /** When {@code p} started, as the owner record keeps it; "?" where the kernel does not say. */
    private static String startOf(ProcessHandle p) {
        return p.info().startInstant().map(Object::toString).orElse("?");
    }

    private static void writeOwner(String name) {
        try {
            Files.createDirectories(OWNERS);
            // Written aside and renamed in, so that another JVM's reclaimOrphans never reads a
            // half-written record (an empty one would name no live owner, and lose this namespace).
            Path aside = OWNERS.resolve("." + name);
            Files.writeString(aside, self() + "\n");
            Files.move(aside, OWNERS.resolve(name), StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            // Only the clean-up after a crash depends on it; the namespace itself is fine.
            LOG.log(Level.WARNING, "cannot record the owner of netns {0} in {1}: {2}", name, OWNERS, e.getMessage());
        }
    }

    private static void deleteOwner(String name) {
        try {
            Files.deleteIfExists(OWNERS.resolve(name));
        } catch (IOException e) {
            LOG.log(Level.DEBUG, "cannot delete the owner record of netns {0}: {1}", name, e.getMessage());
        }
    }

    /**
     * Deletes the namespaces whose owner record names a process that no longer runs
     * (the leftovers of a killed run), with the processes still inside them, and
     * their records. Records whose namespace is already gone are dropped too.
     * Returns the names deleted.
     */
    public static List<String> reclaimOrphans() {
        List<String> deleted = new ArrayList<>();
        if (!Files.isDirectory(OWNERS)) {
            return deleted;
        }
        List<Path> records;
        try (var files = Files.list(OWNERS)) {
            records = files.toList();
        } catch (IOException e) {
            LOG.log(Level.WARNING, "cannot list {0}: {1}", OWNERS, e.getMessage());
            return deleted;
        }
        for (Path record : records) {
            String name = record.getFileName().toString();
            if (name.startsWith(".")) {
                continue; // a record being written (writeOwner)
            }
            String owner;
            try {
                owner = Files.readString(record).strip();
            } catch (IOException e) {
                continue; // deleted under us by its owner's close()
            }
            if (ownerAlive(owner)) {
                continue;
            }
            if (Files.exists(RUN_NETNS.resolve(name))) {
                Netns orphan = new Netns(name);
                orphan.close();
                if (!Files.exists(orphan.path())) {
                    deleted.add(name);
                    LOG.log(Level.INFO, "deleted netns {0}, left behind by process {1}, which no longer runs", name, owner);
                }
            } else {
                deleteOwner(name);
            }
        }
        return deleted;
    }

    /** Whether the record's "pid start-time" is a process that still runs. */
    static boolean ownerAlive(String owner) {
        String[] f = owner.split(" ", 2);
        long pid;
        try {
            pid = Long.parseLong(f[0]);
        } catch (NumberFormatException e) {
            return false; // unreadable: not ours to keep
        }
        return ProcessHandle.of(pid)
                .filter(p -> f.length < 2 || f[1].equals("?") || startOf(p).equals(f[1]))
                .isPresent();
    }

    /**
     * Processes that someone else started inside (e.g. with {@code iperf3 -D})
     * would keep the namespace alive after {@code ip netns del}.
     */
    private void killStragglers() {
        Command.Result pids = Command.run("ip", "netns", "pids", name);
        if (!pids.ok()) {
            return;
        }
        long self = ProcessHandle.current().pid();
        List<ProcessHandle> alive = new ArrayList<>();
        for (String line : pids.stdout().split("\\s+")) {
            if (line.isBlank()) {
                continue;
            }
            long pid = Long.parseLong(line.strip());
            if (pid != self) {
                ProcessHandle.of(pid).ifPresent(h -> {
                    h.destroy();
                    alive.add(h);
                });
            }
        }
        long end = System.nanoTime() + 1_000_000_000L;
        while (alive.stream().anyMatch(h -> running(h.pid())) && System.nanoTime() < end) {
            sleep(10);
        }
        alive.stream().filter(h -> running(h.pid())).forEach(ProcessHandle::destroyForcibly);
    }

    /**
     * Whether {@code pid} still runs. A killed process that is not our child
     * stays a zombie until its parent (often init) reaps it; it no longer
     * holds the namespace, so it counts as gone.
     */
    static boolean running(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            // "pid (comm) S ...": comm may contain spaces and parentheses, so look after the last ')'.
            char state = stat.charAt(stat.lastIndexOf(')') + 2);
            return state != 'Z' && state != 'X';
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Names of the namespaces {@code ip netns list} shows, e.g. to check that nothing leaked. */
    public static List<String> list() {
        List<String> names = new ArrayList<>();
        for (String line : Command.runOk("ip", "netns", "list").stdout().split("\n")) {
            // "name (id: 3)" when the namespace has an id assigned.
            String n = line.strip().split("\\s+", 2)[0];
            if (!n.isEmpty()) {
                names.add(n);
            }
        }
        return names;
    }

    @Override
    public String toString() {
        return "netns " + name;
    }
}
