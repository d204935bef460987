package dev.xbridge.daemon;

import java.util.Set;

/**
 * How the daemon runs.
 *
 * @param bridges bridge names to accelerate; empty: every bridge
 * @param ports port names to accelerate; empty: every port
 * @param fdbMax FDB map capacity
 * @param reprobeMillis how often veth peers are looked at again (no event reports their offload changes)
 * @param socket control socket path
 * @param agingRefresh refresh fast-pathed FDB entries in the kernel; off only to show what goes wrong without it
 * @param monitorBuffer receive buffer of the rtnetlink monitor socket, in bytes
 */
public record Options(Set<String> bridges, Set<String> ports, int fdbMax, long reprobeMillis, java.nio.file.Path socket,
        boolean agingRefresh, int monitorBuffer) {
}
