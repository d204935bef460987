package dev.xbridge.bench;

import dev.xbridge.sys.Native;
import dev.xbridge.testbed.Netns;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Pinning work to CPUs: threads of this JVM with sched_setaffinity(0, ...), kernel threads
 * by pid. A veth's receive work runs in NAPI, normally in softirq on whichever CPU scheduled
 * it (veth has no IRQ: the sender's CPU); with {@code /sys/class/net/DEV/threaded} = 1 it
 * runs in a kthread {@code napi/DEV-ID} instead, which can be pinned like any task.
 */
public final class Cpus {
    private static final MethodHandle SCHED_SETAFFINITY = Native.downcallErrno(Native.LIBC, "sched_setaffinity",
            FunctionDescriptor.of(Native.C_INT, Native.C_INT, Native.C_LONG, Native.C_POINTER));
    private static final MethodHandle SCHED_GETCPU = Native.downcall(Native.LIBC, "sched_getcpu",
            FunctionDescriptor.of(Native.C_INT));
    private static final int CPU_SET_BYTES = 128; // glibc cpu_set_t: 1024 CPUs

    private Cpus() {}

    public static int online() {
        return Runtime.getRuntime().availableProcessors();
    }

    /** Pins {@code pid} (0: the calling thread) to {@code cpu}. */
    public static void pin(long pid, int cpu) {
        if (cpu < 0 || cpu >= CPU_SET_BYTES * 8) {
            throw new IllegalArgumentException("cpu " + cpu);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment set = arena.allocate(CPU_SET_BYTES, 8);
            set.set(ValueLayout.JAVA_BYTE, cpu / 8, (byte) (1 << (cpu % 8)));
            MemorySegment capture = Native.allocateCapture(arena);
            int rc = (int) SCHED_SETAFFINITY.invokeExact(capture, (int) pid, (long) CPU_SET_BYTES, set);
            if (rc < 0) {
                throw new IllegalStateException("sched_setaffinity(" + pid + ", cpu " + cpu + "): errno "
                        + Native.errno(capture) + (cpu >= online() ? " (this machine has " + online() + " CPUs)" : ""));
            }
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /** The CPU the calling thread runs on now. */
    public static int current() {
        try {
            return (int) SCHED_GETCPU.invokeExact();
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /** Pids of kernel threads whose name is {@code napi/DEV-ID} for {@code dev} (any namespace). */
    public static Set<Long> napiThreads(String dev) {
        String prefix = "napi/" + dev + "-";
        Set<Long> out = new HashSet<>();
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            for (Path p : (Iterable<Path>) procs::iterator) {
                String name = p.getFileName().toString();
                if (!name.chars().allMatch(Character::isDigit)) {
                    continue;
                }
                try {
                    String comm = Files.readString(p.resolve("comm")).strip();
                    if (comm.startsWith(prefix)) {
                        out.add(Long.parseLong(name));
                    }
                } catch (IOException e) {
                    // gone meanwhile
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot list /proc: " + e.getMessage(), e);
        }
        return out;
    }

    /**
     * Runs {@code createNapi} (GRO on, or an XDP attach: veth has NAPI only then), makes
     * {@code dev} in {@code ns} run its NAPI in a kthread ({@code threaded} = 1; the kernel
     * refuses that with EIO while the device has no NAPI) and returns the pids of the napi
     * threads that appeared. Empty if none could be told apart (the caller then reports "not pinned").
     */
    public static List<Long> threadedNapi(Netns ns, String dev, boolean threaded, Runnable createNapi) {
        Set<Long> before = napiThreads(dev);
        createNapi.run();
        if (!threaded) {
            return List.of();
        }
        ns.exec("sh", "-c", "echo 1 > /sys/class/net/" + dev + "/threaded");
        long end = System.nanoTime() + 2_000_000_000L;
        List<Long> fresh = new ArrayList<>();
        while (fresh.isEmpty() && System.nanoTime() < end) {
            for (long pid : napiThreads(dev)) {
                if (!before.contains(pid)) {
                    fresh.add(pid);
                }
            }
            if (fresh.isEmpty()) {
                sleep(5);
            }
        }
        return fresh;
    }

    /** CPU time (user + system) of {@code pid} and its reaped children so far, in seconds, from /proc/PID/stat. */
    public static double cpuSeconds(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            // after "pid (comm) ": state is field 3 (index 0 here); utime 14, stime 15, and cutime 16,
            // cstime 17 of the children it has waited for (a daemon's nft runs), in clock ticks
            long ticks = Long.parseLong(f[11]) + Long.parseLong(f[12]) + Long.parseLong(f[13]) + Long.parseLong(f[14]);
            return ticks / (double) CLOCK_TICKS;
        } catch (IOException e) {
            throw new IllegalStateException("cannot read /proc/" + pid + "/stat: " + e.getMessage(), e);
        }
    }

    /**
     * {busy, total} clock ticks of {@code cpu} since boot, from its {@code cpuN} line in
     * /proc/stat; busy is everything but idle and iowait (steal included: the hypervisor ran
     * something else while this CPU had work).
     */
    public static long[] ticks(int cpu) {
        String prefix = "cpu" + cpu + " ";
        try {
            for (String line : Files.readAllLines(Path.of("/proc/stat"))) {
                if (line.startsWith(prefix)) {
                    String[] f = line.substring(prefix.length()).strip().split("\\s+");
                    // user nice system idle iowait irq softirq steal; guest and guest_nice
                    // after them are already counted in user and nice
                    long total = 0;
                    for (int i = 0; i < 8; i++) {
                        total += Long.parseLong(f[i]);
                    }
                    long idle = Long.parseLong(f[3]) + Long.parseLong(f[4]);
                    return new long[] {total - idle, total};
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot read /proc/stat: " + e.getMessage(), e);
        }
        throw new IllegalStateException("/proc/stat has no line for cpu " + cpu);
    }

    /** Resident set size of {@code pid} in bytes (VmRSS of /proc/PID/status). */
    public static long rssBytes(long pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot read /proc/" + pid + "/status: " + e.getMessage(), e);
        }
        throw new IllegalStateException("/proc/" + pid + "/status has no VmRSS");
    }

    /** USER_HZ: /proc/PID/stat counts in it; 100 on every Linux ABI that matters here. */
    static final int CLOCK_TICKS = 100;

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }
}
