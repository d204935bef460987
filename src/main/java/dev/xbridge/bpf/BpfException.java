package dev.xbridge.bpf;

import dev.xbridge.sys.Errno;
import dev.xbridge.sys.SysException;

/**
 * A failed libbpf or bpf(2) call. The message names the call and the object,
 * e.g. {@code "bpf_map_update_elem fdb: file exists (EEXIST)"}; sentinels let
 * callers branch on the common errnos without matching strings.
 */
public class BpfException extends SysException {
    public BpfException(String operation, int errno) {
        super(operation, errno);
    }

    public BpfException(String operation, int errno, String detail) {
        super(operation, errno, detail);
    }

    /** ENOENT: the key (or pinned path, or object) does not exist. */
    public boolean isKeyNotFound() {
        return errno() == Errno.ENOENT;
    }

    /** EEXIST: an update with {@link UpdateFlag#NOEXIST} found the key present. */
    public boolean isKeyExists() {
        return errno() == Errno.EEXIST;
    }
}
