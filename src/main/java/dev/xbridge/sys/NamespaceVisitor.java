package dev.xbridge.sys;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * One thread that visits network namespaces: for each call it enters the
 * namespace, does the work, and returns to the namespace it started in.
 *
 * <p>Unlike {@link NetNamespace}, which stays inside, a visitor holds no
 * reference to a namespace between calls. A thread's nsproxy keeps its
 * namespace alive, so a thread parked in a container's namespace would keep
 * that namespace, and its veth pair, alive after the container is gone. The
 * work must close what it opens there (a socket pins its namespace too).
 */
public final class NamespaceVisitor implements AutoCloseable {
    private final ExecutorService thread = Executors.newSingleThreadExecutor(
            r -> Thread.ofPlatform().daemon().name("netns-visitor").unstarted(r));
    private final int home;

    public NamespaceVisitor() {
        this.home = submit(() -> Libc.open("/proc/thread-self/ns/net", Libc.O_RDONLY | Libc.O_CLOEXEC));
    }

    /** Runs {@code work} inside the namespace at {@code path} and returns its result. */
    public <T> T call(Path path, Callable<T> work) {
        return submit(() -> {
            int fd = Libc.open(path.toString(), Libc.O_RDONLY | Libc.O_CLOEXEC);
            try {
                Libc.setns(fd, Libc.CLONE_NEWNET, path.toString());
                try {
                    return work.call();
                } finally {
                    // Back home even when the work failed; a thread left elsewhere would corrupt every later call.
                    Libc.setns(home, Libc.CLONE_NEWNET, "home namespace");
                }
            } finally {
                Libc.close(fd);
            }
        });
    }

    private <T> T submit(Callable<T> work) {
        return NetNamespace.runOn(thread, work, "while visiting a namespace");
    }

    @Override
    public void close() {
        try {
            submit(() -> {
                Libc.close(home);
                return null;
            });
        } finally {
            thread.shutdownNow();
        }
    }
}
