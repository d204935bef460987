package dev.xbridge.netlink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Decodes the qdisc and filter messages {@link TcFixtureCapture} took from this kernel (6.18)
 * and checks each field against the scenario: veth p1 (ifindex 3) / h1 (2), clsact on p1 with
 * a u32 mirred filter at pref 10 (protocol ip) and a cls_bpf filter at pref 20, handle 0x7862;
 * tbf 8001: as h1's root, then deleted.
 */
class TcFixtureDecodeTest {
    static final int H1 = 2;
    static final int P1 = 3;

    static List<TcObject> dump(String fixture) {
        byte[] b = Fixtures.bytes(fixture);
        MemorySegment s = MemorySegment.ofArray(b);
        List<TcObject> out = new ArrayList<>();
        Messages.forEach(s, b.length, (seg, off) -> {
            int type = NlMsgHdr.type(seg, off);
            if (type == NlMsgHdr.RTM_NEWQDISC || type == NlMsgHdr.RTM_NEWTFILTER) {
                out.add(TcObject.decode(seg, off));
            }
            return true;
        });
        return out;
    }

    static TcObject event(String fixture) {
        return ((RtEvent.TcChanged) Fixtures.event(fixture)).tc();
    }

    @Test
    void aNewFilterNotificationNamesItsDeviceBlockPriorityProtocolAndNode() {
        TcObject f = event("newtfilter-u32.bin");
        assertThat(f.isFilter()).isTrue();
        assertThat(f.isQdisc()).isFalse();
        assertThat(f.ifindex()).isEqualTo(P1);
        assertThat(f.parent()).as("ffff:fff2, the clsact ingress block").isEqualTo(TcMsg.INGRESS_BLOCK);
        assertThat(f.kind()).isEqualTo("u32");
        assertThat(f.priority()).isEqualTo(10);
        assertThat(f.protocol()).as("ETH_P_IP, from network byte order").isEqualTo(0x0800);
        assertThat(f.handle()).as("u32 node 800::800").isEqualTo(0x80000800);
        assertThat(f.chain()).isZero();
        assertThat(f.describe()).isEqualTo("filter u32 pref 10");
    }

    @Test
    void qdiscNotificationsCarryHandleParentAndKind() {
        TcObject added = event("newqdisc-tbf.bin");
        assertThat(added.isQdisc()).isTrue();
        assertThat(added.type()).isEqualTo(NlMsgHdr.RTM_NEWQDISC);
        assertThat(added.ifindex()).isEqualTo(H1);
        assertThat(added.handle()).isEqualTo(0x80010000);
        assertThat(added.parent()).isEqualTo(TcMsg.TC_H_ROOT);
        assertThat(added.kind()).isEqualTo("tbf");
        assertThat(added.describe()).isEqualTo("qdisc tbf 8001: root");
        TcObject deleted = event("delqdisc-tbf.bin");
        assertThat(deleted.type()).isEqualTo(NlMsgHdr.RTM_DELQDISC);
        assertThat(deleted.ifindex()).isEqualTo(H1);
        assertThat(deleted.kind()).isEqualTo("tbf");
    }

    @Test
    void aQdiscDumpListsDefaultsUserQdiscsAndClsact() {
        assertThat(dump("dump-qdisc.bin")).extracting(q -> q.ifindex() + " " + q.describe()).containsExactly(
                "1 qdisc noqueue 0: root",
                "2 qdisc tbf 8001: root",
                "3 qdisc noqueue 0: root",
                "3 qdisc clsact ffff: parent ffff:fff1");
        TcObject clsact = dump("dump-qdisc.bin").get(3);
        assertThat(clsact.parent()).isEqualTo(TcMsg.TC_H_INGRESS);
        assertThat(clsact.handle()).isEqualTo(0xFFFF0000);
    }

    @Test
    void aFilterDumpHasOneMessagePerClassifierAndPerNodeWithClsBpfProgramIds() {
        List<TcObject> filters = dump("dump-tfilter-ingress.bin");
        assertThat(filters).extracting(f -> f.kind() + " " + f.priority() + " 0x" + Integer.toHexString(f.protocol())
                + " " + Integer.toHexString(f.handle())).containsExactly(
                "u32 10 0x800 0", "u32 10 0x800 80000000", "u32 10 0x800 80000800",
                "bpf 20 0x3 0", "bpf 20 0x3 7862");
        assertThat(filters).allSatisfy(f -> {
            assertThat(f.ifindex()).isEqualTo(P1);
            assertThat(f.parent()).isEqualTo(TcMsg.INGRESS_BLOCK);
        });
        TcObject bpfHead = filters.get(3);
        assertThat(bpfHead.bpfProgramId()).as("the classifier's own message has no node options").isZero();
        TcObject bpf = filters.get(4);
        assertThat(bpf.bpfProgramId()).as("TCA_BPF_ID").isPositive();
        assertThat(bpf.bpfName()).isEqualTo("pass.o:[tc]");
        assertThat(filters.get(2).bpfProgramId()).as("u32 has no program").isZero();
    }

    @Test
    void aTcMessageTooShortForTcmsgIsRejected() {
        byte[] b = Fixtures.bytes("newqdisc-tbf.bin");
        byte[] cut = java.util.Arrays.copyOf(b, NlMsgHdr.SIZE + 8);
        MemorySegment s = MemorySegment.ofArray(cut);
        NlMsgHdr.length(s, 0, cut.length);
        assertThatThrownBy(() -> RtMonitor.decode(s, 0)).isInstanceOf(MalformedMessageException.class)
                .hasMessageContaining("struct tcmsg");
    }

    @Test
    void handlesPrintAsTcDoes() {
        assertThat(TcMsg.handleText(TcMsg.TC_H_ROOT)).isEqualTo("root");
        assertThat(TcMsg.handleText(0)).isEqualTo("0:");
        assertThat(TcMsg.handleText(TcMsg.EGRESS_BLOCK)).isEqualTo("ffff:fff3");
        assertThat(TcMsg.INGRESS_BLOCK).isEqualTo(0xFFFFFFF2);
        assertThat(TcMsg.EGRESS_BLOCK).isEqualTo(0xFFFFFFF3);
    }
}
