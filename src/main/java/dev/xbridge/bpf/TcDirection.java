package dev.xbridge.bpf;

/** Where a TC program runs on a device: its ingress or its egress. */
public enum TcDirection {
    /** BPF_TC_INGRESS / BPF_TCX_INGRESS: frames the device receives. */
    INGRESS(1),
    /** BPF_TC_EGRESS / BPF_TCX_EGRESS: frames the device sends. */
    EGRESS(2);

    private final int tcAttachPoint;

    TcDirection(int tcAttachPoint) {
        this.tcAttachPoint = tcAttachPoint;
    }

    /** libbpf enum bpf_tc_attach_point. */
    int tcAttachPoint() {
        return tcAttachPoint;
    }
}
