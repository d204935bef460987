package dev.xbridge.netlink;

import java.lang.foreign.MemorySegment;

/**
 * A qdisc or a filter as an RTM_NEWQDISC / RTM_NEWTFILTER message (or its DEL) describes it.
 *
 * <p>For a qdisc, {@code handle} is its own ({@code 0} for the default the kernel attached,
 * {@code 8001:} and on for ones added without a handle) and {@code parent} is where it hangs:
 * {@link TcMsg#TC_H_ROOT}, a class, or {@link TcMsg#TC_H_INGRESS} for ingress and clsact.
 * {@code priority}, {@code protocol} and {@code chain} are 0.
 *
 * <p>For a filter, {@code parent} is its block ({@link TcMsg#INGRESS_BLOCK}, a class...),
 * {@code priority} and {@code protocol} (host order, e.g. 0x0800, 0x0003 for all) come from
 * tcm_info, and {@code handle} is the filter node's: 0 in the message that announces a
 * classifier instance (a tcf_proto) itself, before its nodes. {@code bpfProgramId} and
 * {@code bpfName} are set for cls_bpf nodes (TCA_BPF_ID, TCA_BPF_NAME), else 0 and "".
 */
public record TcObject(int type, int ifindex, int handle, int parent, String kind, int priority, int protocol,
        int chain, int bpfProgramId, String bpfName) {

    public boolean isQdisc() {
        return type == NlMsgHdr.RTM_NEWQDISC || type == NlMsgHdr.RTM_DELQDISC;
    }

    public boolean isFilter() {
        return type == NlMsgHdr.RTM_NEWTFILTER || type == NlMsgHdr.RTM_DELTFILTER;
    }

    /** Decodes the qdisc or filter message whose nlmsghdr is at {@code off}. */
    static TcObject decode(MemorySegment s, long off) {
        int type = NlMsgHdr.type(s, off);
        if (NlMsgHdr.length(s, off) < NlMsgHdr.SIZE + TcMsg.SIZE) {
            throw new MalformedMessageException(NlMsgHdr.typeName(type) + " of " + NlMsgHdr.length(s, off)
                    + " bytes is too short for struct tcmsg");
        }
        long tcm = off + NlMsgHdr.SIZE;
        AttrTable a = Messages.attrs(s, off, TcMsg.SIZE, TcMsg.TCA_MAX);
        String kind = a.string(TcMsg.TCA_KIND, "");
        int info = TcMsg.info(s, tcm);
        boolean filter = type == NlMsgHdr.RTM_NEWTFILTER || type == NlMsgHdr.RTM_DELTFILTER;
        int priority = filter ? info >>> 16 : 0;
        // tcm_info's low half is the protocol as the kernel keeps it, in network byte order.
        int protocol = filter ? Short.toUnsignedInt(Short.reverseBytes((short) info)) : 0;
        int progId = 0;
        String bpfName = "";
        if (filter && kind.equals("bpf")) {
            AttrTable o = a.nested(TcMsg.TCA_OPTIONS, TcMsg.TCA_BPF_MAX, "TCA_OPTIONS");
            if (o != null) {
                progId = o.u32(TcMsg.TCA_BPF_ID, 0);
                bpfName = o.string(TcMsg.TCA_BPF_NAME, "");
            }
        }
        return new TcObject(type, TcMsg.ifindex(s, tcm), TcMsg.handle(s, tcm), TcMsg.parent(s, tcm), kind,
                priority, protocol, filter ? a.u32(TcMsg.TCA_CHAIN, 0) : 0, progId, bpfName);
    }

    /** As tc would name it: {@code qdisc tbf 8001: root}, {@code filter u32 pref 49152 chain 0}. */
    public String describe() {
        if (isQdisc()) {
            String where = parent == TcMsg.TC_H_ROOT ? "root" : "parent " + TcMsg.handleText(parent);
            return "qdisc " + kind + " " + TcMsg.handleText(handle) + " " + where;
        }
        return "filter " + kind + " pref " + priority + (chain != 0 ? " chain " + chain : "");
    }
}
