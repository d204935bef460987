package dev.xbridge.bridge;

import dev.xbridge.bpf.BpfLink;
import dev.xbridge.bpf.ClsBpf;
import dev.xbridge.netlink.RtNetlink;
import dev.xbridge.netlink.TcMsg;

/**
 * The datapath attached to one port's ingress: native XDP through a link, TC
 * through a tcx link, or TC through a clsact cls_bpf filter. Closing detaches.
 */
public final class Hook implements AutoCloseable {
    /** Which entry point of the datapath runs. */
    public enum Kind {
        XDP, TC;

        public String key() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    private final Kind kind;
    private final String mode;
    private final int programId;
    private final AutoCloseable attachment;

    private Hook(Kind kind, String mode, int programId, AutoCloseable attachment) {
        this.kind = kind;
        this.mode = mode;
        this.programId = programId;
        this.attachment = attachment;
    }

    static Hook xdp(BpfLink link, int programId) {
        return new Hook(Kind.XDP, "native", programId, link);
    }

    static Hook tcx(BpfLink link, int programId) {
        return new Hook(Kind.TC, "tcx", programId, link);
    }

    static Hook clsact(ClsBpf filter) {
        AutoCloseable detach = () -> filter.close(() -> filtersRemain(filter.ifindex()));
        return new Hook(Kind.TC, filter.createdQdisc() ? "clsact" : "clsact (shared qdisc)", filter.programId(), detach);
    }

    /**
     * Whether anyone's filters are left under the device's clsact qdisc. An operator
     * may have added filters to the qdisc xbridge created (and xbridge steps aside
     * for them: {@link TcRules}); they must outlive xbridge's hook. When the dump
     * fails, the qdisc stays: an empty clsact qdisc costs little, a lost filter is wrong.
     */
    private static boolean filtersRemain(int ifindex) {
        try (RtNetlink rt = RtNetlink.open()) {
            return !rt.filters(ifindex, TcMsg.INGRESS_BLOCK).isEmpty() || !rt.filters(ifindex, TcMsg.EGRESS_BLOCK).isEmpty();
        } catch (RuntimeException e) {
            return true;
        }
    }

    public Kind kind() {
        return kind;
    }

    /** "native" for XDP; "tcx" or "clsact" for TC. */
    public String mode() {
        return mode;
    }

    public int programId() {
        return programId;
    }

    @Override
    public void close() {
        try {
            attachment.close();
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public String toString() {
        return kind.key() + " " + mode;
    }
}
