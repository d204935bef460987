package dev.xbridge.netlink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.xbridge.sys.Errno;
import dev.xbridge.sys.Socket;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

/**
 * Decodes messages captured from this kernel (6.18) by {@link FixtureCapture} and checks every
 * field against what the capture scenario set up (see src/test/resources/netlink/README.md).
 */
class FixtureDecodeTest {
    static final MacAddress BR0 = MacAddress.parse("02:00:00:00:00:b0");
    static final MacAddress P1 = MacAddress.parse("02:00:00:00:00:01");
    static final MacAddress P2 = MacAddress.parse("02:00:00:00:00:02");
    // ifindexes in the capture namespace: lo 1, br0 2, p1 3, h2 4, p2 5
    static final int BR0_INDEX = 2;
    static final int P1_INDEX = 3;
    static final int H2_INDEX = 4;
    static final int P2_INDEX = 5;
    static final int UP_FLAGS = IfInfoMsg.IFF_UP | IfInfoMsg.IFF_BROADCAST | IfInfoMsg.IFF_RUNNING
            | 0x1000 /* IFF_MULTICAST */ | IfInfoMsg.IFF_LOWER_UP;

    static Link link(String fixture) {
        return ((RtEvent.LinkChanged) Fixtures.event(fixture)).link();
    }

    @Test
    void bridgeLinkCarriesInfoData() {
        Link br = link("newlink-bridge.bin");
        assertThat(br.family()).isEqualTo(Socket.AF_UNSPEC);
        assertThat(br.index()).isEqualTo(BR0_INDEX);
        assertThat(br.name()).isEqualTo("br0");
        assertThat(br.kind()).isEqualTo("bridge");
        assertThat(br.isBridge()).isTrue();
        assertThat(br.isBridgePort()).isFalse();
        assertThat(br.slaveKind()).isEmpty();
        assertThat(br.master()).isZero();
        assertThat(br.isUp()).isTrue();
        assertThat(br.flags()).isEqualTo(UP_FLAGS);
        assertThat(br.operState()).isEqualTo(OperState.UP);
        assertThat(br.mtu()).isEqualTo(1450); // follows its smallest port, p1
        assertThat(br.address()).isEqualTo(BR0);
        assertThat(br.linkNetnsId()).isEmpty();
        assertThat(br.port()).isNull();
        // ageing_time 1234, stp_state 0, group_fwd_mask 0x4000; no VLAN filtering in this kernel
        assertThat(br.bridge()).isEqualTo(new BridgeInfo(1234, 0, false, 0, 0x4000, 0, false, false, false));
    }

    static final BridgePortInfo P1_PORT = new BridgePortInfo(PortState.FORWARDING, 5, 7, true, true, true, false,
            false, true, true, false, false, false, true, P2_INDEX, true, false);

    @Test
    void vethPortCarriesSlaveDataAndPeerNamespace() {
        Link p1 = link("newlink-veth.bin");
        assertThat(p1.family()).isEqualTo(Socket.AF_UNSPEC);
        assertThat(p1.index()).isEqualTo(P1_INDEX);
        assertThat(p1.name()).isEqualTo("p1");
        assertThat(p1.kind()).isEqualTo("veth");
        assertThat(p1.slaveKind()).isEqualTo("bridge");
        assertThat(p1.master()).isEqualTo(BR0_INDEX);
        assertThat(p1.mtu()).isEqualTo(1450);
        assertThat(p1.address()).isEqualTo(P1);
        // the peer h1 lives in the second namespace (nsid 0 there), where it is ifindex 2
        assertThat(p1.link()).isEqualTo(2);
        assertThat(p1.linkNetnsId()).isEqualTo(OptionalInt.of(0));
        assertThat(p1.bridge()).isNull();
        assertThat(p1.isBridgePort()).isTrue();
        assertThat(p1.port()).isEqualTo(P1_PORT);
        assertThat(p1.xdpAttachMode()).isZero();
    }

    @Test
    void afBridgePortMessageCarriesProtinfo() {
        Link p1 = link("newlink-port-afbridge.bin");
        assertThat(p1.family()).isEqualTo(Socket.AF_BRIDGE);
        assertThat(p1.name()).isEqualTo("p1");
        assertThat(p1.index()).isEqualTo(P1_INDEX);
        assertThat(p1.master()).isEqualTo(BR0_INDEX);
        assertThat(p1.kind()).isEmpty(); // AF_BRIDGE messages have no IFLA_LINKINFO
        assertThat(p1.isBridgePort()).isTrue();
        assertThat(p1.port()).isEqualTo(P1_PORT);
    }

    @Test
    void portJoinHasDefaultFlags() {
        Link p1 = link("newlink-port-join.bin");
        assertThat(p1.family()).isEqualTo(Socket.AF_BRIDGE);
        assertThat(p1.port()).isEqualTo(new BridgePortInfo(PortState.FORWARDING, 32, 2, true, false, false, false,
                false, false, false, false, true, true, true, 0, false, false));
    }

    @Test
    void portLeavingIsAnAfBridgeDellinkOfALiveDevice() {
        RtEvent e = Fixtures.event("dellink-port-afbridge.bin");
        assertThat(e).isInstanceOf(RtEvent.LinkDeleted.class);
        Link p2 = ((RtEvent.LinkDeleted) e).link();
        assertThat(p2.family()).isEqualTo(Socket.AF_BRIDGE);
        assertThat(p2.name()).isEqualTo("p2");
        assertThat(p2.index()).isEqualTo(P2_INDEX);
        assertThat(p2.isUp()).isTrue();
        assertThat(p2.address()).isEqualTo(P2);
        assertThat(p2.port()).isNull(); // the kernel sends no IFLA_PROTINFO once the port is gone
    }

    @Test
    void xdpAttachmentIsDecoded() {
        Link h2 = link("newlink-xdp.bin");
        assertThat(h2.name()).isEqualTo("h2");
        assertThat(h2.index()).isEqualTo(H2_INDEX);
        assertThat(h2.link()).isEqualTo(P2_INDEX);
        assertThat(h2.xdpAttachMode()).isEqualTo(2); // XDP_ATTACHED_SKB: attached with xdpgeneric
        assertThat(h2.xdpProgId()).isPositive();
    }

    static FdbEntry fdb(String fixture) {
        return ((RtEvent.FdbChanged) Fixtures.event(fixture)).e();
    }

    @Test
    void staticFdbEntry() {
        FdbEntry e = fdb("newneigh-fdb-static.bin");
        assertThat(e.mac()).isEqualTo(MacAddress.parse("02:00:00:00:00:0a"));
        assertThat(e.ifindex()).isEqualTo(P1_INDEX);
        assertThat(e.master()).isEqualTo(BR0_INDEX);
        assertThat(e.vlan()).isZero();
        assertThat(e.state()).isEqualTo(NdMsg.NUD_NOARP);
        assertThat(e.isStatic()).isTrue();
        assertThat(e.isLocal()).isFalse();
        assertThat(e.isDynamic()).isFalse();
        assertThat(e.isBridgeEntry()).isTrue();
        // br_fdb's fdb_fill_info leaves ndm_flags 0: a bridge entry is told by NDA_MASTER, not NTF_MASTER
        assertThat(e.flags()).isZero();
        assertThat(e.updatedCentis()).isZero();
        assertThat(e.usedCentis()).isZero();
    }

    @Test
    void dynamicFdbEntry() {
        FdbEntry e = fdb("newneigh-fdb-dynamic.bin");
        assertThat(e.mac()).isEqualTo(MacAddress.parse("02:00:00:00:00:0b"));
        assertThat(e.ifindex()).isEqualTo(P1_INDEX);
        assertThat(e.state()).isEqualTo(NdMsg.NUD_REACHABLE);
        assertThat(e.isDynamic()).isTrue();
        assertThat(e.isBridgeEntry()).isTrue();
        assertThat(e.isExternLearned()).isFalse();
        assertThat(e.isSticky()).isFalse();
        assertThat(e.isOffloaded()).isFalse();
    }

    @Test
    void localFdbEntryOfAPortAddress() {
        FdbEntry e = fdb("newneigh-fdb-local.bin");
        assertThat(e.mac()).isEqualTo(P1);
        assertThat(e.ifindex()).isEqualTo(P1_INDEX);
        assertThat(e.state()).isEqualTo(NdMsg.NUD_PERMANENT);
        assertThat(e.isLocal()).isTrue();
        assertThat(e.isBridgeEntry()).isTrue();
    }

    @Test
    void deletedFdbEntry() {
        RtEvent ev = Fixtures.event("delneigh.bin");
        assertThat(ev).isInstanceOf(RtEvent.FdbDeleted.class);
        FdbEntry e = ((RtEvent.FdbDeleted) ev).e();
        assertThat(e.mac()).isEqualTo(MacAddress.parse("02:00:00:00:00:0a"));
        assertThat(e.isStatic()).isTrue();
        assertThat(e.ifindex()).isEqualTo(P1_INDEX);
        assertThat(e.updatedCentis()).isNotNegative();
    }

    @Test
    void multipartLinkDumpEndsWithDone() {
        byte[] b = Fixtures.bytes("dump-multipart.bin");
        MemorySegment s = MemorySegment.ofArray(b);
        RtNetlink.Reply reply = new RtNetlink.Reply(3, null);
        List<Link> links = new ArrayList<>();
        RtNetlink.Reply collecting = new RtNetlink.Reply(3, (seg, off) -> links.add(Link.decode(seg, off)));
        Messages.forEach(s, b.length, collecting);
        assertThat(collecting.done).isTrue();
        assertThat(collecting.errno).isZero();
        assertThat(collecting.interrupted).isFalse();
        assertThat(links).extracting(Link::name).containsExactly("lo", "br0", "p1", "h2", "p2");
        assertThat(links).allSatisfy(l -> assertThat(l.family()).isEqualTo(Socket.AF_UNSPEC));
        assertThat(links.get(0).operState()).isEqualTo(OperState.UNKNOWN);
        assertThat(links.get(0).mtu()).isEqualTo(65536);
        assertThat(links.get(1).bridge().ageingTimeCentis()).isEqualTo(1234);
        assertThat(links.get(2).port()).isEqualTo(P1_PORT);
        assertThat(links.get(4).port().locked()).isTrue();
        assertThat(links.get(4).port().learning()).isFalse();
        // a reply for another sequence number is skipped entirely
        Messages.forEach(s, b.length, reply);
        RtNetlink.Reply other = new RtNetlink.Reply(99, (seg, off) -> {
            throw new AssertionError("not ours");
        });
        Messages.forEach(s, b.length, other);
        assertThat(other.done).isFalse();
    }

    /**
     * A sink that throws at the first link leaves the reply reading on: it still finds the
     * dump's NLMSG_DONE (the socket is left ready for the next request), calls the sink no
     * more, and {@code check} throws what the sink threw.
     */
    @Test
    void aSinkThatThrowsStillLetsTheReplyFindItsEnd() {
        byte[] b = Fixtures.bytes("dump-multipart.bin");
        List<String> seen = new ArrayList<>();
        IllegalStateException thrown = new IllegalStateException("cannot take it");
        RtNetlink.Reply reply = new RtNetlink.Reply(3, (seg, off) -> {
            seen.add(Link.decode(seg, off).name());
            throw thrown;
        });
        long stopped = Messages.forEach(MemorySegment.ofArray(b), b.length, reply);
        assertThat(reply.done).isTrue();
        assertThat(stopped).as("stopped at the NLMSG_DONE, the last message").isLessThan(b.length)
                .isEqualTo(b.length - Wire.align(NlMsgHdr.length(MemorySegment.ofArray(b), stopped)));
        assertThat(seen).containsExactly("lo");
        assertThatThrownBy(() -> reply.check("RTM_GETLINK dump")).isSameAs(thrown);
        assertThat(thrown.getSuppressed()).isEmpty();
    }

    /** The kernel's own verdict on a dump the sink gave up on is kept with the sink's exception. */
    @Test
    void aFailedDumpThatTheSinkGaveUpOnReportsBoth() {
        MemorySegment s = MemorySegment.ofArray(new byte[512]);
        MessageWriter w = new MessageWriter(s.asSlice(0, 256));
        w.start(NlMsgHdr.RTM_NEWLINK, NlMsgHdr.NLM_F_MULTI, 9).ifinfomsg(Socket.AF_UNSPEC, 7)
                .string(IfInfoMsg.IFLA_IFNAME, "x0");
        int first = w.finish();
        MessageWriter d = new MessageWriter(s.asSlice(first, 256));
        long payload = d.start(NlMsgHdr.NLMSG_DONE, NlMsgHdr.NLM_F_MULTI, 9).header(4);
        Wire.u32(s, first + payload, -Errno.EMSGSIZE.code());
        int total = first + d.finish();
        RtNetlink.Reply reply = new RtNetlink.Reply(9, (seg, off) -> {
            throw new MalformedMessageException("bad link");
        });
        Messages.forEach(s, total, reply);
        assertThatThrownBy(() -> reply.check("RTM_GETLINK dump"))
                .isInstanceOf(MalformedMessageException.class).hasMessageEndingWith(": bad link")
                .satisfies(e -> assertThat(e.getSuppressed()).singleElement()
                        .isInstanceOf(NetlinkException.class)
                        .extracting(x -> ((NetlinkException) x).errno()).isEqualTo(Errno.EMSGSIZE));
    }

    @Test
    void fdbDumpSeparatesBridgeEntriesFromSelfAddresses() {
        byte[] b = Fixtures.bytes("dump-fdb.bin");
        List<FdbEntry> all = new ArrayList<>();
        RtNetlink.Reply reply = new RtNetlink.Reply(4, (seg, off) -> all.add(FdbEntry.decode(seg, off)));
        Messages.forEach(MemorySegment.ofArray(b), b.length, reply);
        assertThat(reply.done).isTrue();
        List<FdbEntry> bridge = all.stream().filter(FdbEntry::isBridgeEntry).toList();
        List<FdbEntry> self = all.stream().filter(e -> !e.isBridgeEntry()).toList();
        assertThat(self).isNotEmpty().allSatisfy(e -> {
            assertThat(e.flags() & NdMsg.NTF_SELF).isNotZero();
            assertThat(e.master()).isZero();
            assertThat(e.usedCentis()).isEqualTo(-1);
        });
        assertThat(bridge).allSatisfy(e -> assertThat(e.master()).isEqualTo(BR0_INDEX));
        assertThat(bridge).extracting(e -> e.mac().toString())
                .contains("02:00:00:00:00:b0", "02:00:00:00:00:01", "02:00:00:00:00:02",
                        "02:00:00:00:00:0a", "02:00:00:00:00:0b");
        FdbEntry own = bridge.stream().filter(e -> e.mac().equals(BR0)).findFirst().orElseThrow();
        assertThat(own.ifindex()).isEqualTo(BR0_INDEX);
        assertThat(own.isLocal()).isTrue();
    }

    @Test
    void afBridgeLinkDumpListsPorts() {
        byte[] b = Fixtures.bytes("dump-bridge-ports.bin");
        List<Link> ports = new ArrayList<>();
        RtNetlink.Reply reply = new RtNetlink.Reply(5, (seg, off) -> ports.add(Link.decode(seg, off)));
        Messages.forEach(MemorySegment.ofArray(b), b.length, reply);
        assertThat(ports).extracting(Link::name).containsExactly("p1", "p2");
        assertThat(ports).allSatisfy(l -> {
            assertThat(l.family()).isEqualTo(Socket.AF_BRIDGE);
            assertThat(l.master()).isEqualTo(BR0_INDEX);
        });
        assertThat(ports.get(0).port()).isEqualTo(P1_PORT);
    }

    @Test
    void errorCarriesErrnoAndExtendedAck() {
        byte[] b = Fixtures.bytes("error-extack.bin");
        RtNetlink.Reply reply = new RtNetlink.Reply(6, null);
        Messages.forEach(MemorySegment.ofArray(b), b.length, reply);
        assertThat(reply.done).isTrue();
        assertThat(reply.errno).isEqualTo(Errno.EINVAL.code());
        assertThat(reply.extAck).isEqualTo("invalid vlan id");
        NetlinkException e = new NetlinkException("RTM_NEWNEIGH", reply.errno, reply.extAck);
        assertThat(e).hasMessage("RTM_NEWNEIGH: invalid argument (EINVAL): invalid vlan id");
        assertThat(e.errno()).isEqualTo(Errno.EINVAL);
    }

    @Test
    void dumpInterruptedIsReportedAfterTheDumpEnds() {
        MemorySegment s = MemorySegment.ofArray(new byte[512]);
        // a crafted two-part dump: one link marked NLM_F_DUMP_INTR, then NLMSG_DONE
        MessageWriter w = new MessageWriter(s.asSlice(0, 256));
        w.start(NlMsgHdr.RTM_NEWLINK, NlMsgHdr.NLM_F_MULTI | NlMsgHdr.NLM_F_DUMP_INTR, 42)
                .ifinfomsg(Socket.AF_UNSPEC, 7).string(IfInfoMsg.IFLA_IFNAME, "x0");
        int first = w.finish();
        MessageWriter d = new MessageWriter(s.asSlice(first, 256));
        d.start(NlMsgHdr.NLMSG_DONE, NlMsgHdr.NLM_F_MULTI | NlMsgHdr.NLM_F_DUMP_INTR, 42).header(4);
        int total = first + d.finish();
        List<Link> got = new ArrayList<>();
        RtNetlink.Reply reply = new RtNetlink.Reply(42, (seg, off) -> got.add(Link.decode(seg, off)));
        Messages.forEach(s, total, reply);
        assertThat(reply.done).isTrue();
        assertThat(reply.interrupted).isTrue();
        assertThat(got).extracting(Link::name).containsExactly("x0");
        assertThatThrownBy(() -> {
            throw new DumpInterruptedException("RTM_GETLINK dump");
        }).isInstanceOf(NetlinkException.class).hasMessageContaining("NLM_F_DUMP_INTR");
    }

    @Test
    void failedDumpReportsTheErrorInDone() {
        MemorySegment s = MemorySegment.ofArray(new byte[64]);
        MessageWriter d = new MessageWriter(s);
        long payload = d.start(NlMsgHdr.NLMSG_DONE, NlMsgHdr.NLM_F_MULTI, 9).header(4);
        Wire.u32(s, payload, -Errno.EMSGSIZE.code());
        int n = d.finish();
        RtNetlink.Reply reply = new RtNetlink.Reply(9, null);
        Messages.forEach(s, n, reply);
        assertThat(reply.done).isTrue();
        assertThat(reply.errno).isEqualTo(Errno.EMSGSIZE.code());
    }

    @Test
    void cappedAckCarriesExtendedAckRightAfterTheHeader() {
        MemorySegment s = MemorySegment.ofArray(new byte[128]);
        MessageWriter w = new MessageWriter(s);
        long err = w.start(NlMsgHdr.NLMSG_ERROR, NlMsgHdr.NLM_F_CAPPED | NlMsgHdr.NLM_F_ACK_TLVS, 11)
                .header(NlMsgErr.SIZE);
        Wire.u32(s, err, -Errno.EEXIST.code());
        NlMsgHdr.length(s, err + NlMsgErr.MSG_OFFSET, 64); // the echoed request was 64 bytes, not included
        w.string(NlMsgErr.NLMSGERR_ATTR_MSG, "entry exists");
        int n = w.finish();
        RtNetlink.Reply reply = new RtNetlink.Reply(11, null);
        Messages.forEach(s, n, reply);
        assertThat(reply.errno).isEqualTo(Errno.EEXIST.code());
        assertThat(reply.extAck).isEqualTo("entry exists");
    }
}
