package dev.xbridge.sys;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * A network namespace, entered by one dedicated platform thread.
 *
 * <p>setns(2) changes the namespace of the calling thread only. Sockets,
 * ifindex lookups in {@code bpf()} and ioctls follow the thread's namespace,
 * so work for another namespace runs on a thread that entered it and never
 * leaves. Virtual threads would migrate between carriers and are not used.
 */
public final class NetNamespace implements AutoCloseable {
    private final String name;
    private final ExecutorService thread;

    private NetNamespace(String name, ExecutorService thread) {
        this.name = name;
        this.thread = thread;
    }

    /** Enters the namespace at {@code path} (e.g. /run/netns/NAME or /proc/PID/ns/net) on a new thread. */
    public static NetNamespace enter(Path path) {
        ExecutorService executor = Executors.newSingleThreadExecutor(r -> {
            Thread t = Thread.ofPlatform().daemon().name("netns-" + path.getFileName()).unstarted(r);
            return t;
        });
        NetNamespace ns = new NetNamespace(path.toString(), executor);
        try {
            ns.call(() -> {
                int fd = Libc.open(path.toString(), Libc.O_RDONLY | Libc.O_CLOEXEC);
                try {
                    Libc.setns(fd, Libc.CLONE_NEWNET, path.toString());
                } finally {
                    Libc.close(fd);
                }
                return null;
            });
        } catch (RuntimeException e) {
            executor.shutdownNow();
            throw e;
        }
        return ns;
    }

    /** A namespace created with {@code ip netns add NAME}. */
    public static NetNamespace named(String netnsName) {
        return enter(Path.of("/run/netns", netnsName));
    }

    /** Runs {@code work} on this namespace's thread and returns its result; exceptions pass through. */
    public <T> T call(Callable<T> work) {
        return runOn(thread, work, "in netns " + name);
    }

    /**
     * Runs {@code work} on {@code thread} and waits: unchecked exceptions and
     * errors pass through unchanged, a checked one is wrapped with {@code where}.
     */
    static <T> T runOn(ExecutorService thread, Callable<T> work, String where) {
        Future<T> f = thread.submit(work);
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted " + where, e);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException r) {
                throw r;
            }
            if (cause instanceof Error err) {
                throw err;
            }
            throw new IllegalStateException(where + ": " + cause, cause);
        }
    }

    public void run(Runnable work) {
        call(() -> {
            work.run();
            return null;
        });
    }

    public String name() {
        return name;
    }

    /** The inode of the calling thread's network namespace, e.g. to compare two namespaces. */
    public static long currentInode() {
        try {
            String link = Files.readSymbolicLink(Path.of("/proc/thread-self/ns/net")).toString();
            return Long.parseLong(link.substring(link.indexOf('[') + 1, link.indexOf(']')));
        } catch (IOException | RuntimeException e) {
            throw new IllegalStateException("cannot read /proc/thread-self/ns/net: " + e, e);
        }
    }

    @Override
    public void close() {
        thread.shutdownNow();
    }
}
