package dev.xbridge.bridge;

/**
 * Why the datapath gave a frame its verdict: {@code enum xb_reason} in
 * src/main/bpf/xbridge.h, in the same order. A layout test checks the count
 * against the object's BTF.
 */
public enum Reason {
    REDIRECT("fast path: forwarded port to port"),
    PASS_NOT_PORT("ingress is not a known bridge port"),
    PASS_MALFORMED("shorter than an Ethernet header"),
    PASS_SRC_INVALID("multicast or zero source MAC"),
    PASS_LINK_LOCAL("link-local destination (STP, LACP, 802.1X)"),
    PASS_PORT_KERNEL("port steps aside"),
    PASS_NOT_FORWARDING("ingress port not forwarding"),
    PASS_VLAN("VLAN tagged"),
    PASS_BROADCAST("broadcast"),
    PASS_MULTICAST("multicast"),
    PASS_SRC_UNKNOWN("source MAC not learned yet"),
    PASS_SRC_MOVED("source MAC known behind another port"),
    PASS_DST_UNKNOWN("unknown unicast (kernel floods)"),
    PASS_DST_LOCAL("for the host"),
    PASS_SAME_PORT("destination behind the ingress port"),
    PASS_EGRESS_UNAVAILABLE("egress port not accelerated"),
    PASS_EGRESS_BLOCKED("egress port not forwarding"),
    PASS_ISOLATED("isolated to isolated"),
    PASS_REDIRECT_FAILED("redirect refused (XDP: no devmap entry)"),
    PASS_AGING("handed to the kernel to refresh the source's FDB entry (aging)"),
    PASS_TOO_BIG("larger than the egress MTU (the kernel drops it)"),
    PASS_VLAN_INGRESS("VLAN filtering refuses it at ingress (the kernel drops it)"),
    PASS_VLAN_EGRESS("egress port not in the VLAN, or the VLAN not forwarding there"),
    DROP("dropped");

    private final String description;

    Reason(String description) {
        this.description = description;
    }

    public String description() {
        return description;
    }

    /** The snake_case key used in JSON, e.g. {@code pass_dst_unknown}. */
    public String key() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    public boolean isPass() {
        return name().startsWith("PASS_");
    }
}
