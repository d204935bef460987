package dev.xbridge.bridge;

import static org.assertj.core.api.Assertions.assertThat;

import dev.xbridge.netlink.NlMsgHdr;
import dev.xbridge.netlink.TcMsg;
import dev.xbridge.netlink.TcObject;
import java.util.List;
import java.util.function.IntPredicate;
import org.junit.jupiter.api.Test;

/** The rule of {@link TcRules}: what on a port's tc sends its frames, or frames to it, to the kernel. */
class TcRulesTest {
    static final int OURS = 42;
    static final IntPredicate IS_OURS = id -> id == OURS;
    static final int[] NONE = {};

    static TcObject qdisc(int handle, int parent, String kind) {
        return new TcObject(NlMsgHdr.RTM_NEWQDISC, 3, handle, parent, kind, 0, 0, 0, 0, "");
    }

    static TcObject filter(int block, String kind, int pref, int protocol, int handle, int progId) {
        return new TcObject(NlMsgHdr.RTM_NEWTFILTER, 3, handle, block, kind, pref, protocol, 0, progId,
                progId == 0 ? "" : "xbridge_tc");
    }

    static final TcObject NOQUEUE = qdisc(0, TcMsg.TC_H_ROOT, "noqueue");
    static final TcObject CLSACT = qdisc(0xFFFF0000, TcMsg.TC_H_INGRESS, "clsact");

    static TcRules rules(boolean veth, List<TcObject> qdiscs, List<TcObject> in, List<TcObject> out, int[] tcxIn,
            int[] tcxOut) {
        return TcRules.of(veth, qdiscs, in, out, tcxIn, tcxOut, IS_OURS, id -> "prog" + id);
    }

    @Test
    void aPlainVethWithOurHookHasNoRules() {
        assertThat(rules(true, List.of(NOQUEUE), List.of(), List.of(), new int[] {OURS}, NONE)).isEqualTo(TcRules.NONE);
        // our cls_bpf filter under a clsact qdisc: the instance's own message and its node
        List<TcObject> ours = List.of(filter(TcMsg.INGRESS_BLOCK, "bpf", 0xc000, 3, 0, 0),
                filter(TcMsg.INGRESS_BLOCK, "bpf", 0xc000, 3, 0x7862, OURS));
        assertThat(rules(true, List.of(NOQUEUE, CLSACT), ours, List.of(), NONE, NONE).none()).isTrue();
    }

    @Test
    void anyOtherIngressFilterOrTcxProgramSendsThePortsFramesToTheKernel() {
        List<TcObject> mirror = List.of(filter(TcMsg.INGRESS_BLOCK, "u32", 49152, 0x0800, 0, 0),
                filter(TcMsg.INGRESS_BLOCK, "u32", 49152, 0x0800, 0x80000000, 0),
                filter(TcMsg.INGRESS_BLOCK, "u32", 49152, 0x0800, 0x80000800, 0));
        TcRules r = rules(true, List.of(NOQUEUE, CLSACT), mirror, List.of(), NONE, NONE);
        assertThat(r.ingress()).containsExactly("tc ingress filter u32 pref 49152 protocol 0x800");
        assertThat(r.egress()).isEmpty();

        TcRules tcx = rules(true, List.of(NOQUEUE), List.of(), List.of(), new int[] {7, OURS}, NONE);
        assertThat(tcx.ingress()).containsExactly("tcx ingress program id 7 (prog7)");

        // a foreign cls_bpf node in the same classifier instance as ours
        List<TcObject> shared = List.of(filter(TcMsg.INGRESS_BLOCK, "bpf", 0xc000, 3, 0, 0),
                filter(TcMsg.INGRESS_BLOCK, "bpf", 0xc000, 3, 0x7862, OURS),
                filter(TcMsg.INGRESS_BLOCK, "bpf", 0xc000, 3, 1, 99));
        assertThat(rules(true, List.of(NOQUEUE, CLSACT), shared, List.of(), NONE, NONE).ingress())
                .containsExactly("tc ingress filter bpf pref 49152");
    }

    @Test
    void egressFiltersTcxProgramsAndConfiguredQdiscsMakeThePortNoTarget() {
        assertThat(rules(true, List.of(qdisc(0x80010000, TcMsg.TC_H_ROOT, "tbf")), List.of(), List.of(), NONE, NONE)
                .egress()).containsExactly("qdisc tbf 8001: root");
        assertThat(rules(false, List.of(qdisc(0x10000, TcMsg.TC_H_ROOT, "htb"), qdisc(0x200000, 0x10010, "tbf")),
                List.of(), List.of(), NONE, NONE).egress())
                .containsExactly("qdisc htb 1: root", "qdisc tbf 20: parent 1:10");
        assertThat(rules(true, List.of(NOQUEUE, CLSACT), List.of(),
                List.of(filter(TcMsg.EGRESS_BLOCK, "u32", 49152, 3, 0x80000800, 0)), NONE, NONE).egress())
                .containsExactly("tc egress filter u32 pref 49152");
        assertThat(rules(true, List.of(NOQUEUE), List.of(), List.of(), NONE, new int[] {OURS}).egress())
                .as("xbridge never hooks egress: any tcx egress program counts").containsExactly("tcx egress program id 42 (prog42)");
    }

    @Test
    void theKernelsDefaultQdiscAndNoqueueAreNoReason() {
        assertThat(rules(true, List.of(qdisc(0x80030000, TcMsg.TC_H_ROOT, "noqueue")), List.of(), List.of(), NONE, NONE)
                .none()).as("an explicit noqueue sends at once too").isTrue();
        List<TcObject> mq = List.of(qdisc(0, TcMsg.TC_H_ROOT, "mq"), qdisc(0, 0x00000001, "pfifo_fast"));
        assertThat(rules(false, mq, List.of(), List.of(), NONE, NONE).none())
                .as("not a veth: reached with bpf_redirect, which runs the default qdisc as the bridge does").isTrue();
        assertThat(rules(true, List.of(qdisc(0, TcMsg.TC_H_ROOT, "pfifo_fast")), List.of(), List.of(), NONE, NONE).egress())
                .as("a veth is an XDP or redirect_peer target, which skip any qdisc").containsExactly("qdisc pfifo_fast 0: root");
    }

    @Test
    void applyTakesTheHookOffForIngressAndTheTargetOffForEgress() {
        PortPlan tc = new PortPlan(Hook.Kind.TC, false, true, true, "TC: offloads", null);
        PortPlan in = new TcRules(List.of("tc ingress filter u32 pref 1"), List.of()).apply(tc);
        assertThat(in.hook()).isNull();
        assertThat(in.egress()).as("still a target").isTrue();
        assertThat(in.peer()).isTrue();
        assertThat(in.reason()).isEqualTo("left to the kernel while tc acts on its ingress: tc ingress filter u32 pref 1");

        PortPlan out = new TcRules(List.of(), List.of("qdisc tbf 8001: root")).apply(tc);
        assertThat(out.hook()).isEqualTo(Hook.Kind.TC);
        assertThat(out.accelerated()).isTrue();
        assertThat(out.egress()).isFalse();
        assertThat(out.peer()).isFalse();
        assertThat(out.reason()).isEqualTo(
                "TC: offloads; frames to it go through the kernel while tc acts on its egress: qdisc tbf 8001: root");

        assertThat(TcRules.NONE.apply(tc)).isSameAs(tc);
        PortPlan off = PortPlan.off("port not selected (--port)");
        assertThat(new TcRules(List.of("x"), List.of("y")).apply(off)).isEqualTo(off);
    }
}
