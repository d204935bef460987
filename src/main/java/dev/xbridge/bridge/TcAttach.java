package dev.xbridge.bridge;

/** How the TC entry attaches: {@code --tc-attach}. */
public enum TcAttach {
    /** A tcx link where the kernel has them (6.6+), else clsact + cls_bpf. */
    AUTO,
    /** Only a tcx link; fail where the kernel lacks them. */
    TCX,
    /** Only clsact + cls_bpf, as on kernels before 6.6 (also to test that path on newer ones). */
    CLSACT
}
