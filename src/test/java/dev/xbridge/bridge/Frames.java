package dev.xbridge.bridge;

import dev.xbridge.netlink.MacAddress;
import java.nio.ByteBuffer;

/** Crafted Ethernet frames for datapath tests. */
final class Frames {
    static final int ETH_P_IP = 0x0800;
    static final int ETH_P_8021Q = 0x8100;
    static final int ETH_P_8021AD = 0x88a8;

    private Frames() {}

    /** dst, src, ethertype, then {@code payload} bytes of a counting pattern; at least 60 bytes like a real frame. */
    static byte[] ethernet(MacAddress dst, MacAddress src, int ethertype, int payload) {
        int len = Math.max(60, 14 + payload);
        ByteBuffer b = ByteBuffer.allocate(len);
        b.put(dst.bytes()).put(src.bytes()).putShort((short) ethertype);
        for (int i = 14; i < len; i++) {
            b.put((byte) i);
        }
        return b.array();
    }

    static byte[] ipv4(MacAddress dst, MacAddress src) {
        return ethernet(dst, src, ETH_P_IP, 46);
    }

    /** A frame with one VLAN tag of {@code tpid}. */
    static byte[] tagged(MacAddress dst, MacAddress src, int tpid, int vid) {
        byte[] f = ethernet(dst, src, tpid, 50);
        f[14] = (byte) (vid >> 8);
        f[15] = (byte) vid;
        f[16] = 0x08;
        f[17] = 0x00;
        return f;
    }
}
