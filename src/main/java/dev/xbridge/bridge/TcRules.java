package dev.xbridge.bridge;

import dev.xbridge.bpf.BpfProgram;
import dev.xbridge.bpf.TcDirection;
import dev.xbridge.netlink.RtNetlink;
import dev.xbridge.netlink.TcMsg;
import dev.xbridge.netlink.TcObject;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;
import java.util.function.IntPredicate;

/**
 * What tc does on one bridge port that the fast path would skip, on each side
 * of it. Empty lists mean nothing: the fast path is exact there.
 *
 * <p>Ingress (frames the port receives): tc ingress and tcx ingress run in
 * {@code __netif_receive_skb_core()} before the bridge's rx_handler, for the
 * kernel bridge and for xbridge alike, but xbridge's own hook cannot share
 * them exactly: native XDP runs before them and a redirect skips them; a tcx
 * program of ours that returns TC_ACT_OK or redirects ends tcx and skips every
 * clsact/ingress filter (sch_handle_ingress: only TC_ACT_UNSPEC goes on to
 * tc_run), and tcx programs after ours; our cls_bpf filter ends classification
 * for filters after it. So any filter in the ingress block other than ours,
 * and any tcx ingress program other than ours, puts the port's frames back in
 * the kernel's hands: {@link #apply} takes the hook off. A foreign XDP program
 * is not a reason: it runs before tc in both paths alike, and xbridge then
 * uses TC (see {@code Reconciler.attach}).
 *
 * <p>Egress (frames to the port): the kernel bridge sends through
 * {@code dev_queue_xmit()}, which runs tcx egress, clsact egress filters and
 * the root qdisc. An XDP redirect (devmap, {@code veth_xdp_xmit}) and
 * {@code bpf_redirect_peer} skip all three; {@code bpf_redirect} runs them, but
 * with an skb marked redirected from another device's ingress, which the bridge
 * path's skb is not. So any tcx egress program, any egress filter, and any
 * qdisc except noqueue and the kernel's own default (handle 0, attached by
 * {@code attach_default_qdiscs()}: noqueue on veth, which has IFF_NO_QUEUE,
 * pfifo_fast/mq/fq_codel elsewhere, which {@code bpf_redirect} runs as the
 * bridge does) make the port no fast-path target: {@link #apply} clears its
 * egress, and frames to it go to the kernel (XB_PASS_EGRESS_UNAVAILABLE).
 *
 * @param ingress why the port's frames must go to the kernel, e.g. "filter u32 pref 49152"
 * @param egress why frames to the port must go to the kernel, e.g. "qdisc tbf 8001: root"
 */
public record TcRules(List<String> ingress, List<String> egress) {
    public static final TcRules NONE = new TcRules(List.of(), List.of());

    public TcRules {
        ingress = List.copyOf(ingress);
        egress = List.copyOf(egress);
    }

    /** Reads a port's tc state, in the calling thread's network namespace. */
    @FunctionalInterface
    public interface Reader {
        TcRules read(Port port);
    }

    /**
     * A reader over {@code rt}: one qdisc dump, the filter dumps of the port's
     * ingress/clsact blocks, and the tcx queries. A state that cannot be read
     * counts on both sides: not knowing is no reason to skip a rule.
     *
     * @param ours whether a program id is xbridge's own (its tcx link or cls_bpf filter)
     */
    public static Reader reader(RtNetlink rt, IntPredicate ours) {
        return port -> {
            try {
                int ifindex = port.index();
                List<TcObject> qdiscs = rt.qdiscs().stream().filter(q -> q.ifindex() == ifindex).toList();
                List<TcObject> in = List.of();
                List<TcObject> out = List.of();
                for (TcObject q : qdiscs) {
                    if (q.parent() == TcMsg.TC_H_INGRESS) {
                        in = rt.filters(ifindex, TcMsg.INGRESS_BLOCK);
                        if (q.kind().equals("clsact")) {
                            out = rt.filters(ifindex, TcMsg.EGRESS_BLOCK);
                        }
                    }
                }
                return of(port.isVeth(), qdiscs, in, out, BpfProgram.tcxProgramIds(ifindex, TcDirection.INGRESS),
                        BpfProgram.tcxProgramIds(ifindex, TcDirection.EGRESS), ours, TcRules::programName);
            } catch (RuntimeException e) {
                String why = "tc state of " + port.name() + " unreadable (" + e.getMessage() + ")";
                return new TcRules(List.of(why), List.of(why));
            }
        };
    }

    /**
     * The rule, from what was read.
     *
     * @param veth the port is a veth (the only kind XDP and bpf_redirect_peer send to)
     * @param qdiscs the port's qdiscs
     * @param ingressFilters the dump of its ingress block (empty without an ingress/clsact qdisc)
     * @param egressFilters the dump of its clsact egress block
     */
    static TcRules of(boolean veth, List<TcObject> qdiscs, List<TcObject> ingressFilters,
            List<TcObject> egressFilters, int[] tcxIngress, int[] tcxEgress, IntPredicate ours,
            IntFunction<String> programName) {
        List<String> in = new ArrayList<>();
        List<String> out = new ArrayList<>();
        for (int id : tcxIngress) {
            if (!ours.test(id)) {
                in.add("tcx ingress program id " + id + " (" + programName.apply(id) + ")");
            }
        }
        in.addAll(foreignFilters("ingress", ingressFilters, ours));
        for (int id : tcxEgress) {
            out.add("tcx egress program id " + id + " (" + programName.apply(id) + ")");
        }
        out.addAll(foreignFilters("egress", egressFilters, id -> false));
        for (TcObject q : qdiscs) {
            if (q.parent() == TcMsg.TC_H_INGRESS || q.kind().equals("noqueue")) {
                continue; // ingress/clsact hold filters, counted above; noqueue sends at once
            }
            if (q.handle() == 0 && !veth) {
                continue; // the kernel's default, which bpf_redirect runs as the bridge does
            }
            out.add(q.describe());
        }
        return new TcRules(in, out);
    }

    /**
     * One entry per classifier instance (chain, priority, protocol, kind) in a
     * block dump, except xbridge's own cls_bpf filter: an instance of kind bpf
     * whose every node runs one of our programs.
     */
    private static List<String> foreignFilters(String side, List<TcObject> dump, IntPredicate ours) {
        Map<String, Boolean> instances = new LinkedHashMap<>();
        for (TcObject f : dump) {
            String key = "tc " + side + " " + f.describe()
                    + (f.protocol() == 0x0003 ? "" : " protocol 0x" + Integer.toHexString(f.protocol()));
            boolean oursNode = f.kind().equals("bpf") && (f.handle() == 0 || ours.test(f.bpfProgramId()));
            instances.merge(key, oursNode, Boolean::logicalAnd);
        }
        List<String> why = new ArrayList<>();
        instances.forEach((k, isOurs) -> {
            if (!isOurs) {
                why.add(k);
            }
        });
        return why;
    }

    /** Nothing on either side. */
    public boolean none() {
        return ingress.isEmpty() && egress.isEmpty();
    }

    /**
     * The plan with these rules applied: with a reason on the ingress side the
     * hook comes off (the kernel alone runs tc and then the bridge for the
     * port's frames); with one on the egress side the port stops being a
     * fast-path target.
     */
    public PortPlan apply(PortPlan plan) {
        PortPlan p = plan;
        if (!ingress.isEmpty() && p.attached()) {
            p = new PortPlan(null, false, p.egress(), p.peer(),
                    "left to the kernel while tc acts on its ingress: " + String.join(", ", ingress), null);
        }
        if (!egress.isEmpty() && p.egress()) {
            p = new PortPlan(p.hook(), p.stepAside(), false, false, p.reason()
                    + "; frames to it go through the kernel while tc acts on its egress: " + String.join(", ", egress),
                    p.warning());
        }
        return p;
    }

    private static String programName(int id) {
        try {
            return BpfProgram.nameOfId(id);
        } catch (RuntimeException e) {
            return "name unknown";
        }
    }
}
