package dev.xbridge.semantics;


/**
 * What xbridge promises for one frame, given what the kernel bridge would
 * do with it (the {@link KernelBridge} outcome): redirect to port X only
 * when the kernel would forward the frame to exactly X as known unicast and
 * do nothing else with it; otherwise hand it to the kernel. On top of that,
 * the deliberate policy choices of docs/design.md, each named here.
 */
final class FastPathContract {
    static final int PASS = -1;

    private FastPathContract() {}

    /** The egress ifindex the datapath must redirect to, or {@link #PASS}. */
    static int expected(Model.Bridge br, Model.Port in, Model.Frame f, KernelBridge.Outcome o) {
        // Policy: ports with state xbridge does not mirror step aside (Acceleration.stepAsideReasons).
        if (in.locked() || in.mab() || in.proxyArp() || in.neighSuppress() || br.promiscuous()) {
            return PASS;
        }
        // Policy: with any port proxying or suppressing neighbours, ARP and ND are the kernel's
        // (br_do_proxy_suppress_arp/br_do_suppress_nd also read the target port's flags).
        if (br.ports().stream().anyMatch(p -> p.proxyArp() || p.neighSuppress()) && isNeighbourFrame(f, br)) {
            return PASS;
        }
        // Policy: without VLAN filtering, VLAN-tagged frames are the kernel's (a VLAN device on the
        // port would take them).
        if (!br.vlanFiltering() && f.hasOuterTag()) {
            return PASS;
        }
        if (o.kind() != KernelBridge.Kind.KNOWN_UNICAST || o.host() || o.ports().size() != 1) {
            return PASS;
        }
        // A new or moved source: the kernel must learn it.
        if (o.learning() == KernelBridge.Learning.CREATE || o.learning() == KernelBridge.Learning.MOVE) {
            return PASS;
        }
        // Policy: a source that is the host's own address goes to the kernel (it warns, and may be
        // spoofing), and so does one known behind another port even when sticky (the kernel keeps the
        // entry where it is; deciding that is left to it).
        Model.Fdb src = br.fdb().get(new Model.Key(o.vid(), f.src()));
        if (in.learning() && src != null && (src.local() || src.port() != in.ifindex())) {
            return PASS;
        }
        int to = o.ports().iterator().next();
        // Policy: hairpin (back out of the ingress port) is the kernel's.
        if (to == in.ifindex()) {
            return PASS;
        }
        Model.Port out = br.port(to);
        return out != null && out.egress() ? to : PASS;
    }



    /**
     * ARP, RARP, or ICMPv6 NS/NA right after the IPv6 header (br_is_nd_neigh_msg), read from
     * skb->protocol: the ethertype after the bridge's own tag, which the stack took off.
     */
    static boolean isNeighbourFrame(Model.Frame f, Model.Bridge br) {
        byte[] b = f.bytes();
        int at = br.vlanFiltering() && f.ethertype() == br.vlanProtocol() && b.length >= 18 ? 16 : 12;
        int type = f.u16(at);
        if (type == 0x0806 || type == 0x8035) {
            return true;
        }
        return type == 0x86dd && b.length > at + 42 && (b[at + 8] & 0xff) == 58
                && ((b[at + 42] & 0xff) == 135 || (b[at + 42] & 0xff) == 136);
    }
}
