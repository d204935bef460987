package dev.xbridge.bpf;

/** How an XDP program attaches to a device (UAPI linux/if_link.h XDP_FLAGS_*). */
public enum XdpMode {
    /** XDP_FLAGS_DRV_MODE: in the driver; fails if the driver has no native XDP. */
    NATIVE(1 << 2),
    /** XDP_FLAGS_SKB_MODE: generic XDP on the sk_buff, after the driver. */
    GENERIC(1 << 1),
    /** No flag: the kernel picks native when the driver supports it, else generic. */
    AUTO(0);

    private final int flags;

    XdpMode(int flags) {
        this.flags = flags;
    }

    /** The XDP_FLAGS_* value passed in bpf_link_create_opts.flags. */
    public int flags() {
        return flags;
    }
}
