package dev.xbridge.bench;

/** What forwards frames from the sender's port to the receivers'. */
public enum PathKind {
    /** No program: the Linux bridge. */
    KERNEL("kernel bridge"),
    /** The daemon with its XDP hook on every port. */
    XDP("xbridge xdp"),
    /** The daemon with its TC hook (issue 4), when the daemon offers one. */
    TC("xbridge tc"),
    /** A devmap redirect with no lookup at all: what XDP on veth can do here, the limit. */
    BARE("bare redirect");

    private final String label;

    PathKind(String label) {
        this.label = label;
    }

    public String label() {
        return label;
    }
}
