package dev.xbridge.daemon;

import dev.xbridge.bridge.CacheSize;
import dev.xbridge.bridge.HookChoice;
import dev.xbridge.bridge.TcAttach;
import java.util.Map;
import java.util.Set;

/**
 * How the daemon runs.
 *
 * @param bridges bridge names to accelerate; empty: every bridge
 * @param ports port names to accelerate; empty: every port
 * @param fdbMax FDB map capacity
 * @param reprobeMillis how often each port's tcx programs are checked again (tcx attachments raise no
 *     event), and how often peers are probed where their notifications cannot be heard
 * @param socket control socket path
 * @param agingRefresh let the kernel see one frame per fast-pathed source and sample period, so it
 *     refreshes the entry itself; off only to show what goes wrong without it
 * @param monitorBuffer receive buffer of the rtnetlink monitor socket, in bytes
 * @param hooks hook overrides by port or bridge name ({@code --hook NAME=CHOICE})
 * @param tcAttach how the TC entry attaches ({@code --tc-attach})
 * @param cacheMemory bytes the datapath's per-CPU caches may take over all possible CPUs
 *     ({@code --cache-memory}; {@link CacheSize#fitting})
 * @param peerReprobeMillis how often every veth peer is probed again although none announced a
 *     change (a safety net: peers' changes arrive as notifications from their namespaces)
 */
public record Options(Set<String> bridges, Set<String> ports, int fdbMax, long reprobeMillis, java.nio.file.Path socket,
        boolean agingRefresh, int monitorBuffer, Map<String, HookChoice> hooks, TcAttach tcAttach, long cacheMemory,
        long peerReprobeMillis) {

    public Options(Set<String> bridges, Set<String> ports, int fdbMax, long reprobeMillis, java.nio.file.Path socket,
            boolean agingRefresh, int monitorBuffer) {
        this(bridges, ports, fdbMax, reprobeMillis, socket, agingRefresh, monitorBuffer, Map.of(), TcAttach.AUTO,
                CacheSize.DEFAULT_BUDGET, 60_000);
    }
}
