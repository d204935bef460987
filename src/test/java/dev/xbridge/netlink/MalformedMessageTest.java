package dev.xbridge.netlink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Bad lengths raise a clear {@link MalformedMessageException}: no endless loop, no garbage. */
@Timeout(5)
class MalformedMessageTest {

    private static void decodeAll(byte[] b) {
        Messages.forEach(MemorySegment.ofArray(b), b.length, (s, off) -> {
            RtMonitor.decode(s, off);
            return true;
        });
    }

    @Test
    void truncatedHeader() {
        byte[] b = Arrays.copyOf(Fixtures.bytes("newneigh-fdb-static.bin"), 10);
        assertThatThrownBy(() -> decodeAll(b))
                .isInstanceOf(MalformedMessageException.class)
                .hasMessageContaining("truncated nlmsghdr at offset 0: 10 bytes left");
    }

    @Test
    void trailingBytesAfterTheLastMessage() {
        byte[] good = Fixtures.bytes("newneigh-fdb-static.bin");
        byte[] b = Arrays.copyOf(good, good.length + 8);
        assertThatThrownBy(() -> decodeAll(b))
                .isInstanceOf(MalformedMessageException.class)
                .hasMessageContaining("truncated nlmsghdr at offset " + good.length);
    }

    @Test
    void messageLongerThanTheBuffer() {
        byte[] good = Fixtures.bytes("newlink-bridge.bin");
        byte[] b = Arrays.copyOf(good, 200);
        assertThatThrownBy(() -> decodeAll(b))
                .isInstanceOf(MalformedMessageException.class)
                .hasMessageContaining("RTM_NEWLINK at offset 0 claims nlmsg_len " + good.length + " but only 200");
    }

    @Test
    void messageShorterThanItsHeader() {
        byte[] b = Fixtures.bytes("newneigh-fdb-static.bin");
        Wire.u32(MemorySegment.ofArray(b), 0, 8);
        assertThatThrownBy(() -> decodeAll(b))
                .isInstanceOf(MalformedMessageException.class)
                .hasMessageContaining("nlmsg_len 8 at offset 0 is shorter than the 16-byte nlmsghdr");
    }

    @Test
    void messageTooShortForItsFamilyHeader() {
        byte[] b = Arrays.copyOf(Fixtures.bytes("newlink-bridge.bin"), 24);
        Wire.u32(MemorySegment.ofArray(b), 0, 24);
        assertThatThrownBy(() -> decodeAll(b))
                .isInstanceOf(MalformedMessageException.class)
                .hasMessageContaining("RTM_NEWLINK: nlmsg_len 24 too short for its 16-byte family header");
    }

    /** The static FDB fixture: nlmsghdr(16) ndmsg(12) then NDA_LLADDR at 28. */
    @Test
    void attributeOverrunningTheMessage() {
        byte[] b = Fixtures.bytes("newneigh-fdb-static.bin");
        MemorySegment s = MemorySegment.ofArray(b);
        assertThat(RtAttr.type(s, 28)).isEqualTo(NdMsg.NDA_LLADDR);
        Wire.u16(s, 28, 400);
        assertThatThrownBy(() -> decodeAll(b))
                .isInstanceOf(MalformedMessageException.class)
                .hasMessageContaining("RTM_NEWNEIGH: attribute type 2 at offset 0 has length 400 but only 48 bytes remain");
    }

    @Test
    void zeroLengthAttribute() {
        byte[] b = Fixtures.bytes("newneigh-fdb-static.bin");
        Wire.u16(MemorySegment.ofArray(b), 28, 0);
        assertThatThrownBy(() -> decodeAll(b))
                .isInstanceOf(MalformedMessageException.class)
                .hasMessageContaining("has length 0, less than its own 4-byte header");
    }

    @Test
    void attributePayloadTooShortForItsType() {
        byte[] b = Fixtures.bytes("newneigh-fdb-static.bin");
        MemorySegment s = MemorySegment.ofArray(b);
        // NDA_LLADDR is 4+6 bytes, padded to 12; the next attribute is NDA_MASTER (u32) at 40
        assertThat(RtAttr.type(s, 40)).isEqualTo(NdMsg.NDA_MASTER);
        Wire.u16(s, 40, 6);
        assertThatThrownBy(() -> decodeAll(b))
                .isInstanceOf(MalformedMessageException.class)
                .hasMessageContaining("attribute type 9 has 2 payload bytes, needs 4");
    }

    @Test
    void nestedAttributeOverrun() {
        byte[] b = Fixtures.bytes("newlink-port-afbridge.bin");
        MemorySegment s = MemorySegment.ofArray(b);
        long protinfo = findAttr(s, 32, b.length, IfInfoMsg.IFLA_PROTINFO);
        assertThat(RtAttr.isNested(s, protinfo)).isTrue();
        long first = RtAttr.payloadOffset(protinfo);
        Wire.u16(s, first, RtAttr.payloadLength(s, protinfo) + 4);
        assertThatThrownBy(() -> decodeAll(b))
                .isInstanceOf(MalformedMessageException.class)
                .hasMessageContaining("RTM_NEWLINK/IFLA_PROTINFO: attribute type");
    }

    @Test
    void fdbMessageWithoutMac() {
        byte[] b = Fixtures.bytes("newneigh-fdb-static.bin");
        MemorySegment s = MemorySegment.ofArray(b);
        Wire.u16(s, 30, 99); // retype NDA_LLADDR to an unknown attribute
        assertThatThrownBy(() -> decodeAll(b))
                .isInstanceOf(MalformedMessageException.class)
                .hasMessageContaining("without a 6-byte NDA_LLADDR");
    }

    @Test
    void nestedFlagIsMaskedFromTheType() {
        byte[] b = Fixtures.bytes("newlink-port-afbridge.bin");
        MemorySegment s = MemorySegment.ofArray(b);
        long protinfo = findAttr(s, 32, b.length, IfInfoMsg.IFLA_PROTINFO);
        assertThat(Wire.u16(s, protinfo + RtAttr.TYPE_OFFSET)).isEqualTo(IfInfoMsg.IFLA_PROTINFO | RtAttr.NLA_F_NESTED);
        assertThat(RtAttr.type(s, protinfo)).isEqualTo(IfInfoMsg.IFLA_PROTINFO);
    }

    private static long findAttr(MemorySegment s, long start, long end, int type) {
        for (long off = start; off < end; off += Wire.align(RtAttr.length(s, off))) {
            if (RtAttr.type(s, off) == type) {
                return off;
            }
        }
        throw new AssertionError("no attribute " + type);
    }
}
