package dev.xbridge.bpf;

/** enum bpf_prog_type, in UAPI order (ordinal == kernel value); {@link #UNKNOWN} for newer kernels' types. */
public enum ProgramType {
    UNSPEC, SOCKET_FILTER, KPROBE, SCHED_CLS, SCHED_ACT, TRACEPOINT, XDP, PERF_EVENT, CGROUP_SKB, CGROUP_SOCK,
    LWT_IN, LWT_OUT, LWT_XMIT, SOCK_OPS, SK_SKB, CGROUP_DEVICE, SK_MSG, RAW_TRACEPOINT, CGROUP_SOCK_ADDR,
    LWT_SEG6LOCAL, LIRC_MODE2, SK_REUSEPORT, FLOW_DISSECTOR, CGROUP_SYSCTL, RAW_TRACEPOINT_WRITABLE,
    CGROUP_SOCKOPT, TRACING, STRUCT_OPS, EXT, LSM, SK_LOOKUP, SYSCALL, NETFILTER,
    /** Not in this enum (a kernel newer than the bindings). Keep last. */
    UNKNOWN;

    private static final ProgramType[] VALUES = values();

    public static ProgramType of(int kernelValue) {
        return kernelValue >= 0 && kernelValue < UNKNOWN.ordinal() ? VALUES[kernelValue] : UNKNOWN;
    }

    /** The kernel's value, BPF_PROG_TYPE_*. */
    public int value() {
        return ordinal();
    }
}
