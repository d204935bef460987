package dev.xbridge.bridge;

import dev.xbridge.bpf.BpfLink;
import dev.xbridge.bpf.ClsBpf;

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
        return new Hook(Kind.TC, filter.createdQdisc() ? "clsact" : "clsact (shared qdisc)", filter.programId(), filter);
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
