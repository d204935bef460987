package dev.xbridge.netlink;

import dev.xbridge.sys.Socket;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiPredicate;

/**
 * Captures the binary fixtures in src/test/resources/netlink from the running kernel.
 * Run once as root (see that folder's README): the scenario below fixes names, MACs and flags,
 * and the unit tests assert exactly those values.
 */
public final class FixtureCapture {
    private final Path out;
    private final Netns a;

    private FixtureCapture(Path out, Netns a) {
        this.out = out;
        this.a = a;
    }

    public static void main(String[] args) throws Exception {
        Path out = Path.of(args.length > 0 ? args[0] : "src/test/resources/netlink");
        Files.createDirectories(out);
        Path xdpObj = compileXdp();
        try (Netns a = Netns.create("cap"); Netns b = Netns.create("capb")) {
            new FixtureCapture(out, a).run(b, xdpObj);
        }
    }

    private void run(Netns b, Path xdpObj) throws Exception {
        a.ip("link", "add", "name", "br0", "address", "02:00:00:00:00:b0", "type", "bridge",
                "ageing_time", "1234", "group_fwd_mask", "0x4000", "stp_state", "0");
        a.ip("link", "add", "name", "p1", "address", "02:00:00:00:00:01", "mtu", "1450", "type", "veth",
                "peer", "name", "h1", "netns", b.name);
        a.ip("link", "add", "name", "p2", "address", "02:00:00:00:00:02", "type", "veth", "peer", "name", "h2");
        for (String dev : List.of("br0", "p1", "p2", "h2")) {
            a.ip("link", "set", "dev", dev, "up");
        }
        b.ip("link", "set", "dev", "h1", "up");

        NetlinkSocket mon = a.thread().call(() -> {
            NetlinkSocket s = NetlinkSocket.open();
            s.join(RtMonitor.RTNLGRP_LINK, "link");
            s.join(RtMonitor.RTNLGRP_NEIGH, "neigh");
            return s;
        });
        NetlinkSocket req = a.thread().call(() -> {
            NetlinkSocket s = NetlinkSocket.open();
            s.option(NetlinkSocket.NETLINK_EXT_ACK, 1, "ext ack");
            s.option(NetlinkSocket.NETLINK_GET_STRICT_CHK, 1, "strict");
            return s;
        });
        try {
            a.ip("link", "set", "dev", "p1", "master", "br0");
            a.ip("link", "set", "dev", "p2", "master", "br0");
            List<byte[]> join = drain(mon);
            save("newneigh-fdb-local.bin", pick(join, (s, off) -> NlMsgHdr.type(s, off) == NlMsgHdr.RTM_NEWNEIGH
                    && NdMsg.family(s, off + 16) == Socket.AF_BRIDGE && mac(s, off).equals("02:00:00:00:00:01")));
            save("newlink-port-join.bin", pick(join, (s, off) -> NlMsgHdr.type(s, off) == NlMsgHdr.RTM_NEWLINK
                    && IfInfoMsg.family(s, off + 16) == Socket.AF_BRIDGE && name(s, off).equals("p1")));

            a.exec("bridge", "link", "set", "dev", "p1", "priority", "5", "hairpin", "on", "isolated", "on",
                    "neigh_suppress", "on", "learning", "on", "flood", "off", "mcast_flood", "off", "bcast_flood", "on",
                    "mcast_to_unicast", "on", "backup_port", "p2");
            a.ip("link", "set", "dev", "p1", "type", "bridge_slave", "proxy_arp", "on");
            a.exec("bridge", "link", "set", "dev", "p2", "locked", "on", "learning", "off");
            drain(mon);
            a.exec("bridge", "link", "set", "dev", "p1", "cost", "7");
            save("newlink-port-afbridge.bin", pick(drain(mon), (s, off) -> NlMsgHdr.type(s, off) == NlMsgHdr.RTM_NEWLINK
                    && IfInfoMsg.family(s, off + 16) == Socket.AF_BRIDGE && name(s, off).equals("p1")));

            a.exec("bridge", "fdb", "add", "02:00:00:00:00:0a", "dev", "p1", "master", "static");
            save("newneigh-fdb-static.bin", pick(drain(mon), (s, off) -> NlMsgHdr.type(s, off) == NlMsgHdr.RTM_NEWNEIGH
                    && mac(s, off).equals("02:00:00:00:00:0a")));
            a.exec("bridge", "fdb", "add", "02:00:00:00:00:0b", "dev", "p1", "master", "dynamic");
            save("newneigh-fdb-dynamic.bin", pick(drain(mon), (s, off) -> NlMsgHdr.type(s, off) == NlMsgHdr.RTM_NEWNEIGH
                    && mac(s, off).equals("02:00:00:00:00:0b")));

            save("newlink-bridge.bin", request(req, w -> w.start(NlMsgHdr.RTM_GETLINK, NlMsgHdr.NLM_F_REQUEST, 1)
                    .ifinfomsg(Socket.AF_UNSPEC, 0).string(IfInfoMsg.IFLA_IFNAME, "br0")
                    .u32(IfInfoMsg.IFLA_EXT_MASK, IfInfoMsg.RTEXT_FILTER_SKIP_STATS)));
            save("newlink-veth.bin", request(req, w -> w.start(NlMsgHdr.RTM_GETLINK, NlMsgHdr.NLM_F_REQUEST, 2)
                    .ifinfomsg(Socket.AF_UNSPEC, 0).string(IfInfoMsg.IFLA_IFNAME, "p1")
                    .u32(IfInfoMsg.IFLA_EXT_MASK, IfInfoMsg.RTEXT_FILTER_SKIP_STATS)));
            save("dump-multipart.bin", dump(req, w -> w.start(NlMsgHdr.RTM_GETLINK,
                    NlMsgHdr.NLM_F_REQUEST | NlMsgHdr.NLM_F_DUMP, 3).ifinfomsg(Socket.AF_UNSPEC, 0)
                    .u32(IfInfoMsg.IFLA_EXT_MASK, IfInfoMsg.RTEXT_FILTER_SKIP_STATS)));
            save("dump-fdb.bin", dump(req, w -> w.start(NlMsgHdr.RTM_GETNEIGH,
                    NlMsgHdr.NLM_F_REQUEST | NlMsgHdr.NLM_F_DUMP, 4).ndmsg(Socket.AF_BRIDGE, 0, 0, 0)));
            save("dump-bridge-ports.bin", dump(req, w -> w.start(NlMsgHdr.RTM_GETLINK,
                    NlMsgHdr.NLM_F_REQUEST | NlMsgHdr.NLM_F_DUMP, 5).ifinfomsg(Socket.AF_BRIDGE, 0)));

            int p1 = Integer.parseInt(a.exec("cat", "/sys/class/net/p1/ifindex").trim());
            save("error-extack.bin", request(req, w -> w.start(NlMsgHdr.RTM_NEWNEIGH,
                    NlMsgHdr.NLM_F_REQUEST | NlMsgHdr.NLM_F_ACK | NlMsgHdr.NLM_F_CREATE | NlMsgHdr.NLM_F_EXCL, 6)
                    .ndmsg(Socket.AF_BRIDGE, p1, NdMsg.NUD_NOARP, NdMsg.NTF_MASTER)
                    .bytes(NdMsg.NDA_LLADDR, MacAddress.parse("02:00:00:00:00:0c").bytes())
                    .u16(NdMsg.NDA_VLAN, 4095)));

            drain(mon);
            a.exec("bridge", "fdb", "del", "02:00:00:00:00:0a", "dev", "p1", "master");
            save("delneigh.bin", pick(drain(mon), (s, off) -> NlMsgHdr.type(s, off) == NlMsgHdr.RTM_DELNEIGH
                    && mac(s, off).equals("02:00:00:00:00:0a")));

            a.ip("link", "set", "dev", "p2", "nomaster");
            save("dellink-port-afbridge.bin", pick(drain(mon), (s, off) -> NlMsgHdr.type(s, off) == NlMsgHdr.RTM_DELLINK
                    && IfInfoMsg.family(s, off + 16) == Socket.AF_BRIDGE && name(s, off).equals("p2")));

            a.ip("link", "set", "dev", "h2", "xdpgeneric", "obj", xdpObj.toString(), "sec", "xdp");
            save("newlink-xdp.bin", request(req, w -> w.start(NlMsgHdr.RTM_GETLINK, NlMsgHdr.NLM_F_REQUEST, 7)
                    .ifinfomsg(Socket.AF_UNSPEC, 0).string(IfInfoMsg.IFLA_IFNAME, "h2")
                    .u32(IfInfoMsg.IFLA_EXT_MASK, IfInfoMsg.RTEXT_FILTER_SKIP_STATS)));
            System.out.println("ifindex p1=" + p1 + "\n" + a.ip("-d", "link", "show") + a.exec("bridge", "-d", "link")
                    + a.exec("bridge", "-s", "fdb", "show") + a.ip("netns", "list-id"));
        } finally {
            mon.close();
            req.close();
        }
    }

    private static Path compileXdp() throws IOException {
        Path dir = Files.createTempDirectory("xbt-xdp");
        Path c = dir.resolve("pass.c");
        Files.writeString(c, "#include <linux/bpf.h>\n__attribute__((section(\"xdp\"), used))\n"
                + "int pass(struct xdp_md *ctx) { return XDP_PASS; }\nchar _license[] __attribute__((section(\"license\"), used)) = \"GPL\";\n");
        Path o = dir.resolve("pass.o");
        Netns.run("clang", "-O2", "-g", "-target", "bpf", "-I/usr/include/x86_64-linux-gnu", "-c", c.toString(), "-o", o.toString());
        return o;
    }

    interface Build {
        void build(MessageWriter w);
    }

    /** Sends one request and returns the first answer datagram. */
    private static byte[] request(NetlinkSocket s, Build b) {
        MessageWriter w = new MessageWriter(s.allocate(1024));
        b.build(w);
        s.send(w.segment(), w.finish(), "capture");
        long n = s.receive(0);
        return s.buffer().asSlice(0, n).toArray(ValueLayout.JAVA_BYTE);
    }

    /** Sends a dump request and returns every answer datagram concatenated, up to NLMSG_DONE. */
    private static byte[] dump(NetlinkSocket s, Build b) throws IOException {
        MessageWriter w = new MessageWriter(s.allocate(1024));
        b.build(w);
        s.send(w.segment(), w.finish(), "capture");
        var bytes = new java.io.ByteArrayOutputStream();
        boolean[] done = {false};
        while (!done[0]) {
            long n = s.receive(0);
            bytes.write(s.buffer().asSlice(0, n).toArray(ValueLayout.JAVA_BYTE));
            Messages.forEach(s.buffer(), n, (seg, off) -> {
                done[0] |= NlMsgHdr.type(seg, off) == NlMsgHdr.NLMSG_DONE;
                return true;
            });
        }
        return bytes.toByteArray();
    }

    /** Every datagram the monitor socket receives until it has been quiet for 300 ms. */
    private static List<byte[]> drain(NetlinkSocket s) {
        List<byte[]> got = new ArrayList<>();
        while (Socket.poll(s.fd(), Socket.POLLIN, 300) > 0) {
            long n = s.receive(Socket.MSG_DONTWAIT);
            if (n > 0) {
                got.add(s.buffer().asSlice(0, n).toArray(ValueLayout.JAVA_BYTE));
            }
        }
        return got;
    }

    /** The first single message in {@code datagrams} matching {@code p}. */
    private static byte[] pick(List<byte[]> datagrams, BiPredicate<MemorySegment, Long> p) {
        for (byte[] d : datagrams) {
            MemorySegment s = MemorySegment.ofArray(d);
            byte[][] found = {null};
            Messages.forEach(s, d.length, (seg, off) -> {
                if (found[0] == null && p.test(seg, off)) {
                    found[0] = seg.asSlice(off, NlMsgHdr.length(seg, off)).toArray(ValueLayout.JAVA_BYTE);
                }
                return true;
            });
            if (found[0] != null) {
                return found[0];
            }
        }
        throw new IllegalStateException("no matching message among " + datagrams.size() + " datagrams");
    }

    private static String mac(MemorySegment s, long off) {
        AttrTable a = Messages.attrs(s, off, NdMsg.SIZE, 32);
        byte[] m = a.bytes(NdMsg.NDA_LLADDR);
        return m == null || m.length != 6 ? "" : MacAddress.of(m).toString();
    }

    private static String name(MemorySegment s, long off) {
        return Messages.attrs(s, off, IfInfoMsg.SIZE, 80).string(IfInfoMsg.IFLA_IFNAME, "");
    }

    private void save(String file, byte[] bytes) throws IOException {
        Files.write(out.resolve(file), bytes);
        System.out.println("wrote " + file + " (" + bytes.length + " bytes)");
    }

}
