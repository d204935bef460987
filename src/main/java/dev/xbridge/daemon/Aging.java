package dev.xbridge.daemon;

import dev.xbridge.bridge.Datapath;
import dev.xbridge.bridge.FdbKey;
import dev.xbridge.bridge.FdbValue;
import dev.xbridge.netlink.RtNetlink;
import java.util.Map;
import java.util.logging.Logger;

/**
 * Keeps the kernel's FDB aging truthful while frames bypass the bridge.
 *
 * <p>The kernel ages a dynamic entry from {@code fdb->updated}, which
 * br_fdb_update() sets when a frame from that MAC arrives. Fast-pathed frames
 * never arrive, so the datapath stamps {@code seen_ns} instead and this
 * class replays the stamp to the kernel with the kernel's own mechanism: an
 * RTM_NEWNEIGH with NTF_USE|NTF_MASTER (br_fdb_add() calls br_fdb_update()),
 * which moves {@code updated} and nothing visible besides (measured: {@code
 * bridge -s fdb show} shows updated 0, used unchanged, no notification).
 *
 * <p>Only entries stamped since the previous scan are refreshed, so an idle
 * entry ages at ageing_time exactly as before, late by at most one scan
 * period. NTF_USE would create an absent entry, so it is sent only for
 * entries the fast path forwarded for, which the kernel would have learned
 * from the same frames (the datapath stamps only on ports with learning on).
 *
 * <p>NTF_USE also moves an entry to the port it names (br_fdb_update moves
 * any entry that is not sticky). A refresh naming a port the entry has just
 * left (an operator's {@code fdb replace}, not yet mirrored) would move it
 * back. The daemon therefore applies pending kernel events just before a
 * scan, and each entry is read again right before its refresh. A MAC moved by
 * traffic is safe already: the datapath deletes its entry when it sees the
 * move.
 */
public final class Aging {
    private static final Logger LOG = Logger.getLogger(Aging.class.getName());

    private final Datapath datapath;
    private final RtNetlink rt;
    private long lastScan = System.nanoTime();
    private long refreshed;
    private long failures;

    public Aging(Datapath datapath, RtNetlink rt) {
        this.datapath = datapath;
        this.rt = rt;
    }

    /** Refreshes every entry the fast path used since the last call; returns how many. */
    public int refresh() {
        long scanStart = System.nanoTime(); // CLOCK_MONOTONIC, the clock of bpf_ktime_get_ns()
        int n = 0;
        for (Map.Entry<FdbKey, FdbValue> e : datapath.fdbEntries().entrySet()) {
            FdbValue v = e.getValue();
            if (!v.refreshes() || v.port() == 0 || v.seenNanos() == 0 || v.seenNanos() - lastScan < 0) {
                continue;
            }
            FdbKey k = e.getKey();
            FdbValue now = datapath.fdb(k).orElse(null);
            if (now == null || now.port() != v.port() || !now.refreshes()) {
                continue; // changed since the walk began
            }
            try {
                rt.refreshFdb(v.port(), k.mac(), k.vid());
                n++;
            } catch (RuntimeException ex) {
                // The port left or the entry moved meanwhile; the next event fixes the map.
                failures++;
                LOG.fine(() -> "refresh " + k + ": " + ex.getMessage());
            }
        }
        lastScan = scanStart;
        refreshed += n;
        return n;
    }

    public long refreshed() {
        return refreshed;
    }

    public long failures() {
        return failures;
    }

    /**
     * How often to scan: a tenth of the shortest ageing_time, within 100 ms
     * and 1 s, so the error is small against any ageing_time.
     */
    public static long periodMillis(long shortestAgeingCentis) {
        if (shortestAgeingCentis <= 0) {
            return 1000;
        }
        long tenthMillis = shortestAgeingCentis; // centiseconds * 10 ms, divided by 10
        return Math.max(100, Math.min(1000, tenthMillis));
    }
}
