package dev.xbridge.netlink;

import static dev.xbridge.netlink.NdMsg.*;

import java.lang.foreign.MemorySegment;

/**
 * One forwarding database entry from an AF_BRIDGE RTM_NEWNEIGH / RTM_DELNEIGH message.
 *
 * <p>{@code ifindex} is the port (or the bridge itself for its own addresses), {@code master}
 * the bridge (NDA_MASTER, 0 if absent), {@code vlan} NDA_VLAN (0 if absent), {@code state}
 * NUD_*, {@code flags} NTF_* and {@code extFlags} NDA_FLAGS_EXT. The two times are
 * NDA_CACHEINFO's ndm_updated / ndm_used: clock_t (1/100 s) <em>since</em> the entry was last
 * updated / used, or -1 when the message has no cache info (e.g. some notifications).
 */
public record FdbEntry(int ifindex, int master, MacAddress mac, int vlan, int state, int flags, int extFlags,
                       long updatedCentis, long usedCentis) {

    static final int MAX_ATTR = 32;

    /**
     * True for the bridge's own FDB (NTF_MASTER, or NDA_MASTER naming the bridge as the kernel's
     * br_fdb fill does), false for a device's NTF_SELF address list entries.
     */
    public boolean isBridgeEntry() {
        return (flags & NTF_MASTER) != 0 || (master != 0 && (flags & NTF_SELF) == 0);
    }

    /** The bridge whose FDB holds a bridge entry: its master, or the device itself for the bridge's own. */
    public int bridgeIndex() {
        return master != 0 ? master : ifindex;
    }

    /** NUD_PERMANENT: the address of a port or the bridge itself. */
    public boolean isLocal() {
        return (state & NUD_PERMANENT) != 0;
    }

    /** NUD_NOARP: a static entry (never ages). */
    public boolean isStatic() {
        return (state & NUD_NOARP) != 0;
    }

    /** Neither local nor static: learned or added as dynamic, ages out. */
    public boolean isDynamic() {
        return !isLocal() && !isStatic();
    }

    public boolean isExternLearned() {
        return (flags & NTF_EXT_LEARNED) != 0;
    }

    public boolean isSticky() {
        return (flags & NTF_STICKY) != 0;
    }

    public boolean isOffloaded() {
        return (flags & NTF_OFFLOADED) != 0;
    }

    /** Decodes an AF_BRIDGE neighbour message at {@code off}; the caller checks ndm_family. */
    static FdbEntry decode(MemorySegment s, long off) {
        AttrTable a = Messages.attrs(s, off, NdMsg.SIZE, MAX_ATTR);
        long nd = off + NlMsgHdr.SIZE;
        byte[] mac = a.bytes(NDA_LLADDR);
        if (mac == null || mac.length != 6) {
            throw new MalformedMessageException(NlMsgHdr.typeName(NlMsgHdr.type(s, off))
                    + ": AF_BRIDGE neighbour without a 6-byte NDA_LLADDR");
        }
        long updated = -1;
        long used = -1;
        if (a.has(NDA_CACHEINFO)) {
            if (a.payloadLength(NDA_CACHEINFO) < CACHEINFO_SIZE) {
                throw new MalformedMessageException("NDA_CACHEINFO has " + a.payloadLength(NDA_CACHEINFO)
                        + " bytes, struct nda_cacheinfo needs " + CACHEINFO_SIZE);
            }
            long ci = a.payloadOffset(NDA_CACHEINFO);
            updated = Wire.u32(s, ci + CACHEINFO_UPDATED_OFFSET) & 0xffffffffL;
            used = Wire.u32(s, ci + CACHEINFO_USED_OFFSET) & 0xffffffffL;
        }
        return new FdbEntry(
                NdMsg.ifindex(s, nd),
                a.u32(NDA_MASTER, 0),
                MacAddress.of(mac),
                a.u16(NDA_VLAN, 0),
                NdMsg.state(s, nd),
                NdMsg.flags(s, nd),
                a.u32(NDA_FLAGS_EXT, 0),
                updated,
                used);
    }
}
