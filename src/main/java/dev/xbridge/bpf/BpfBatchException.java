package dev.xbridge.bpf;

/**
 * A batch map operation that stopped part-way: the kernel's generic batch loops
 * (generic_map_update_batch, generic_map_delete_batch in kernel/bpf/syscall.c) apply
 * elements in order and stop at the first that fails, so element {@link #done()} is the
 * one that failed and everything before it was applied.
 */
public final class BpfBatchException extends BpfException {
    private final int done;

    public BpfBatchException(String operation, int errno, int done, int count) {
        super(operation, errno, done + " of " + count + " applied");
        this.done = done;
    }

    /** Elements applied before the failing one (its index in the batch). */
    public int done() {
        return done;
    }
}
