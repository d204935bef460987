package dev.xbridge.daemon;

import dev.xbridge.bridge.FdbValue;

/**
 * One mirrored FDB entry as {@code xbridge fdb} shows it.
 *
 * @param port port name, or the bridge's name for entries of the bridge itself
 * @param kind "local" (for the host), "dynamic" (refreshed while fast-pathed) or "static", then
 *     " sticky" for an entry that may not move
 * @param sampledMillisAgo when the fast path last handed a frame from this MAC to the kernel so it
 *     refreshes the entry (aging), -1 if never
 */
public record FdbRow(String bridge, String mac, int vlan, String port, String kind, long sampledMillisAgo) {
    /** The kind of an entry with these FdbValue flags: local, dynamic or static, then " sticky" if it is. */
    public static String kind(int flags) {
        String kind = (flags & FdbValue.LOCAL) != 0 ? "local" : (flags & FdbValue.REFRESH) != 0 ? "dynamic" : "static";
        return (flags & FdbValue.STICKY) != 0 ? kind + " sticky" : kind;
    }
}
