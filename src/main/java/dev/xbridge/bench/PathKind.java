package dev.xbridge.bench;

/** What forwards frames from the sender's port to the receivers'. */
public enum PathKind {
    /** No program: the Linux bridge. */
    KERNEL("kernel bridge"),
    /** The daemon with its XDP hook on every port. */
    XDP("xbridge xdp"),
    /** The daemon with its TC hook (issue 4), when the daemon offers one. */
    TC("xbridge tc"),
    /** A devmap redirect with no lookup at all: what XDP on veth can do here, the XDP hook's limit. */
    BARE("bare redirect"),
    /** bpf_redirect_peer at TC ingress with no decision: the TC hook's limit. */
    BARE_TC("bare tc redirect");

    private final String label;

    PathKind(String label) {
        this.label = label;
    }

    public String label() {
        return label;
    }

    /** The bare redirect a path is measured against: the one at its own hook. */
    public PathKind bare() {
        return this == TC || this == BARE_TC ? BARE_TC : BARE;
    }

    /** Whether frames reach the receivers through bpf_redirect_peer, which skips their XDP. */
    boolean deliversToPeerIngress() {
        return this == TC || this == BARE_TC;
    }
}
