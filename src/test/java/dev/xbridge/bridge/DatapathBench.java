package dev.xbridge.bridge;

import dev.xbridge.sys.NetNamespace;
import dev.xbridge.testbed.Netns;
import dev.xbridge.testing.Requires;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * A workbench for running the real datapath with BPF_PROG_RUN: a fresh
 * namespace with veth pairs p1..pN (the kernel resolves a test run's
 * ingress ifindex, and the devmap's targets, in the caller's namespace), a
 * thread inside it, and the datapath loaded with the trace switch.
 *
 * <p>The thread stays on one CPU: BPF_PROG_RUN runs the program on the calling
 * CPU, and the datapath keeps per-CPU copies of FDB lookups (fdb_cache), so a
 * frame sees what an earlier frame left in that cache only on the same CPU.
 */
public final class DatapathBench implements AutoCloseable {
    private final Netns netns;
    private final NetNamespace inside;
    private final Datapath datapath;
    private final List<Integer> ports = new ArrayList<>();

    private DatapathBench(Netns netns, NetNamespace inside, Datapath datapath) {
        this.netns = netns;
        this.inside = inside;
        this.datapath = datapath;
    }

    /** Requires root; {@code veths} pairs named p1/q1 ... pN/qN, all up; the caches as the daemon's default. */
    public static DatapathBench open(String prefix, int veths) {
        return open(prefix, veths, Datapath.cachesFor(CacheSize.DEFAULT_BUDGET));
    }

    /** As {@link #open(String, int)}, with per-CPU caches of the given size, or none. */
    public static DatapathBench open(String prefix, int veths, CacheSize caches) {
        Requires.root();
        Netns netns = Netns.create(prefix);
        try {
            List<Integer> ifindexes = new ArrayList<>();
            for (int i = 1; i <= veths; i++) {
                netns.exec("ip", "link", "add", "name", "p" + i, "type", "veth", "peer", "name", "q" + i);
                netns.exec("ip", "link", "set", "p" + i, "up");
                netns.exec("ip", "link", "set", "q" + i, "up");
                ifindexes.add(Integer.parseInt(netns.exec("cat", "/sys/class/net/p" + i + "/ifindex").stdout().trim()));
            }
            NetNamespace inside = netns.enter();
            inside.run(() -> dev.xbridge.bench.Cpus.pin(0, dev.xbridge.bench.Cpus.current()));
            DatapathBench bench = new DatapathBench(netns, inside, inside.call(() -> Datapath.load(1024, true, caches)));
            bench.ports.addAll(ifindexes);
            return bench;
        } catch (RuntimeException e) {
            netns.close();
            throw e;
        }
    }

    /** Adds a veth pair {@code name}/{@code peer}, both up, {@code name} with the given ifindex. */
    public int addVeth(String name, String peer, int ifindex) {
        netns.exec("ip", "link", "add", "name", name, "index", Integer.toString(ifindex), "type", "veth", "peer",
                "name", peer);
        netns.exec("ip", "link", "set", name, "up");
        netns.exec("ip", "link", "set", peer, "up");
        return Integer.parseInt(netns.exec("cat", "/sys/class/net/" + name + "/ifindex").stdout().trim());
    }

    public Datapath datapath() {
        return datapath;
    }

    /** The ifindex of p{@code n}, counting from 1. */
    public int port(int n) {
        return ports.get(n - 1);
    }

    public List<Integer> ports() {
        return List.copyOf(ports);
    }

    /** The thread inside the namespace. */
    public NetNamespace inside() {
        return inside;
    }

    /** Runs {@code work} on the thread inside the namespace. */
    public <T> T call(Callable<T> work) {
        return inside.call(work);
    }

    @Override
    public void close() {
        try {
            datapath.close();
        } finally {
            inside.close();
            netns.close();
        }
    }
}
