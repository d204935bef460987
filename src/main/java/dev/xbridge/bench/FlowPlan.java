package dev.xbridge.bench;

import dev.xbridge.netlink.MacAddress;

/**
 * What the generator sends: {@code flows} distinct UDP flows, spread over {@code receivers}
 * receiving hosts, in frames of {@code frameSize} bytes on the wire (with the 4-byte FCS a
 * veth does not carry, as RFC 2544 counts them: "64 B" is 60 bytes in memory).
 *
 * <p>Flow f has source MAC {@code 02:5e:01:00:FH:FL}, destination MAC {@code 02:5e:02:RR:FH:FL}
 * (RR = f mod receivers, FH:FL = f), IPv4 {@code 198.18.(128+FH).FL -> 198.19.FH.FL} and UDP
 * {@code 1024+f -> 9}. bench.bpf.c {@code bench_gen} rewrites the template (flow 0) with the
 * same rule; the two are tested against each other through BPF_PROG_RUN.
 */
public record FlowPlan(int flows, int receivers, int frameSize) {
    public static final int FCS = 4;
    public static final int MIN_FRAME = 64;
    /** Largest untagged frame at MTU 1500, FCS included. */
    public static final int MAX_FRAME = 1518;
    public static final int MAX_FLOWS = 65536;
    static final int ETH_HLEN = 14;
    static final int IP_HLEN = 20;
    static final int UDP_HLEN = 8;
    static final int UDP_DST_PORT = 9; // discard
    static final int UDP_SRC_BASE = 1024;

    public FlowPlan {
        if (flows < 1 || flows > MAX_FLOWS) {
            throw new IllegalArgumentException("flows must be 1.." + MAX_FLOWS + " (the MACs hold the flow in 16 bits): " + flows);
        }
        if (receivers < 1 || receivers > 253) {
            throw new IllegalArgumentException("receivers must be 1..253: " + receivers);
        }
        if (frameSize < MIN_FRAME || frameSize > MAX_FRAME) {
            throw new IllegalArgumentException("frame size must be " + MIN_FRAME + ".." + MAX_FRAME
                    + " bytes (Ethernet, FCS included; the hosts' MTU is 1500): " + frameSize);
        }
        if (flows > 1 && UDP_SRC_BASE + flows - 1 > 0xffff) {
            throw new IllegalArgumentException("too many flows for distinct UDP ports: " + flows);
        }
    }

    /** Bytes in memory (no FCS). */
    public int length() {
        return frameSize - FCS;
    }

    public MacAddress sourceMac(int flow) {
        check(flow);
        return MacAddress.of(new byte[] {0x02, 0x5e, 0x01, 0x00, (byte) (flow >> 8), (byte) flow});
    }

    public MacAddress destinationMac(int flow) {
        check(flow);
        return MacAddress.of(new byte[] {0x02, 0x5e, 0x02, (byte) receiverOf(flow), (byte) (flow >> 8), (byte) flow});
    }

    /** The receiver index, 0-based, that flow {@code flow} goes to. */
    public int receiverOf(int flow) {
        check(flow);
        return flow % receivers;
    }

    /** Source IPv4 as an int, big-endian order of octets. */
    public int sourceIp(int flow) {
        check(flow);
        return (198 << 24) | (18 << 16) | ((128 + (flow >> 8)) << 8) | (flow & 0xff);
    }

    public int destinationIp(int flow) {
        check(flow);
        return (198 << 24) | (19 << 16) | ((flow >> 8) << 8) | (flow & 0xff);
    }

    public int sourcePort(int flow) {
        check(flow);
        return UDP_SRC_BASE + flow;
    }

    /** The frame of flow {@code flow}: Ethernet, IPv4 (valid header checksum), UDP (checksum 0: none, RFC 768), zero payload. */
    public byte[] frame(int flow) {
        byte[] b = new byte[length()];
        System.arraycopy(destinationMac(flow).bytes(), 0, b, 0, 6);
        System.arraycopy(sourceMac(flow).bytes(), 0, b, 6, 6);
        put16(b, 12, 0x0800);
        int ip = ETH_HLEN;
        int ipLen = length() - ETH_HLEN;
        b[ip] = 0x45;
        put16(b, ip + 2, ipLen);
        put16(b, ip + 6, 0x4000); // DF
        b[ip + 8] = 64;
        b[ip + 9] = 17;
        put32(b, ip + 12, sourceIp(flow));
        put32(b, ip + 16, destinationIp(flow));
        put16(b, ip + 10, ipv4Checksum(b, ip, IP_HLEN));
        int udp = ip + IP_HLEN;
        put16(b, udp, sourcePort(flow));
        put16(b, udp + 2, UDP_DST_PORT);
        put16(b, udp + 4, ipLen - IP_HLEN);
        return b;
    }

    /** The template the generator starts from: flow 0. */
    public byte[] template() {
        return frame(0);
    }

    /** RFC 1071 Internet checksum of {@code len} bytes at {@code off} (the checksum field must hold 0, or the sum checks to 0). */
    public static int ipv4Checksum(byte[] b, int off, int len) {
        long sum = 0;
        for (int i = 0; i + 1 < len; i += 2) {
            sum += ((b[off + i] & 0xff) << 8) | (b[off + i + 1] & 0xff);
        }
        if ((len & 1) != 0) {
            sum += (b[off + len - 1] & 0xff) << 8;
        }
        while ((sum >> 16) != 0) {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        return (int) (~sum & 0xffff);
    }

    private void check(int flow) {
        if (flow < 0 || flow >= flows) {
            throw new IllegalArgumentException("flow " + flow + " outside 0.." + (flows - 1));
        }
    }

    private static void put16(byte[] b, int off, int v) {
        b[off] = (byte) (v >> 8);
        b[off + 1] = (byte) v;
    }

    private static void put32(byte[] b, int off, int v) {
        put16(b, off, v >>> 16);
        put16(b, off + 2, v & 0xffff);
    }
}
