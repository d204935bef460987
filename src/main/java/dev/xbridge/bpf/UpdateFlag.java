package dev.xbridge.bpf;

/** The flags of bpf_map_update_elem (UAPI BPF_ANY, BPF_NOEXIST, BPF_EXIST). */
public enum UpdateFlag {
    /** Create or replace. */
    ANY(0),
    /** Create only; EEXIST if the key is present. */
    NOEXIST(1),
    /** Replace only; ENOENT if the key is absent. */
    EXIST(2);

    private final int value;

    UpdateFlag(int value) {
        this.value = value;
    }

    public int value() {
        return value;
    }
}
