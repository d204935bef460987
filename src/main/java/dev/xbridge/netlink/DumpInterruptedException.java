package dev.xbridge.netlink;

import dev.xbridge.sys.Errno;

/**
 * A dump carried NLM_F_DUMP_INTR: the table changed while the kernel walked it, so the
 * result may miss or repeat entries. The caller must redo the dump.
 */
public final class DumpInterruptedException extends NetlinkException {
    public DumpInterruptedException(String operation) {
        super(operation, Errno.EINTR.code(), "dump interrupted (NLM_F_DUMP_INTR): the table changed, dump again");
    }
}
