package dev.xbridge.bench;

/**
 * Which CPU runs the generator, the forwarder (the sender's bridge port NAPI) and the sinks.
 *
 * @param threadedNapi run the forwarder's and sinks' NAPI in kthreads pinned to their CPUs;
 *                     otherwise they run in softirq on the CPU that schedules them (for a
 *                     veth, the sending CPU: the generator's for the forwarder, the
 *                     forwarder's for the sinks), and {@code forwarder}/{@code sink} are unused
 */
public record BenchCpus(int generator, int forwarder, int sink, boolean threadedNapi) {
    public BenchCpus {
        int n = Cpus.online();
        for (int c : new int[] {generator, forwarder, sink}) {
            if (c < 0 || c >= n) {
                throw new IllegalArgumentException("CPU " + c + " does not exist here (CPUs 0.." + (n - 1) + ")");
            }
        }
    }
}
