package dev.xbridge.netlink;

import dev.xbridge.sys.Socket;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiPredicate;

/**
 * Captures the tc fixtures in src/test/resources/netlink (the {@code *qdisc*} and
 * {@code *tfilter*} files) from the running kernel; run once as root like
 * {@link FixtureCapture} (see that folder's README for the scenario).
 */
public final class TcFixtureCapture {
    private TcFixtureCapture() {}

    public static void main(String[] args) throws Exception {
        Path out = Path.of(args.length > 0 ? args[0] : "src/test/resources/netlink");
        Path bpf = compileTcPass();
        try (Netns a = Netns.create("tcap")) {
            a.ip("link", "add", "name", "p1", "type", "veth", "peer", "name", "h1");
            a.ip("link", "set", "dev", "p1", "up");
            a.ip("link", "set", "dev", "h1", "up");
            NetlinkSocket mon = a.thread().call(() -> {
                NetlinkSocket s = NetlinkSocket.open();
                s.join(RtMonitor.RTNLGRP_TC, "tc");
                return s;
            });
            NetlinkSocket req = a.thread().call(() -> {
                NetlinkSocket s = NetlinkSocket.open();
                s.option(NetlinkSocket.NETLINK_EXT_ACK, 1, "ext ack");
                s.option(NetlinkSocket.NETLINK_GET_STRICT_CHK, 1, "strict");
                return s;
            });
            try {
                int p1 = Integer.parseInt(a.exec("cat", "/sys/class/net/p1/ifindex").trim());
                a.exec("tc", "qdisc", "add", "dev", "p1", "clsact");
                drain(mon);
                a.exec("tc", "filter", "add", "dev", "p1", "ingress", "pref", "10", "protocol", "ip", "u32",
                        "match", "u32", "0", "0", "action", "mirred", "egress", "mirror", "dev", "h1");
                save(out, "newtfilter-u32.bin", pick(drain(mon), (s, off) -> NlMsgHdr.type(s, off) == NlMsgHdr.RTM_NEWTFILTER));
                a.exec("tc", "filter", "add", "dev", "p1", "ingress", "pref", "20", "handle", "0x7862", "bpf", "da",
                        "obj", bpf.toString(), "sec", "tc");
                a.exec("tc", "qdisc", "add", "dev", "h1", "root", "handle", "8001:", "tbf", "rate", "1gbit", "burst",
                        "100kb", "latency", "50ms");
                save(out, "newqdisc-tbf.bin", pick(drain(mon), (s, off) -> NlMsgHdr.type(s, off) == NlMsgHdr.RTM_NEWQDISC));
                save(out, "dump-qdisc.bin", dump(req, w -> w.start(NlMsgHdr.RTM_GETQDISC,
                        NlMsgHdr.NLM_F_REQUEST | NlMsgHdr.NLM_F_DUMP, 1).tcmsg(Socket.AF_UNSPEC, 0, 0)));
                save(out, "dump-tfilter-ingress.bin", dump(req, w -> w.start(NlMsgHdr.RTM_GETTFILTER,
                        NlMsgHdr.NLM_F_REQUEST | NlMsgHdr.NLM_F_DUMP, 2).tcmsg(Socket.AF_UNSPEC, p1, TcMsg.INGRESS_BLOCK)));
                a.exec("tc", "qdisc", "del", "dev", "h1", "root");
                save(out, "delqdisc-tbf.bin", pick(drain(mon), (s, off) -> NlMsgHdr.type(s, off) == NlMsgHdr.RTM_DELQDISC));
                System.out.println("ifindex p1=" + p1 + "\n" + a.exec("tc", "qdisc", "show")
                        + a.exec("tc", "filter", "show", "dev", "p1", "ingress"));
            } finally {
                mon.close();
                req.close();
            }
        }
    }

    private static Path compileTcPass() throws IOException {
        Path dir = Files.createTempDirectory("xbt-tc");
        Path c = dir.resolve("pass.c");
        Files.writeString(c, "#include <linux/bpf.h>\n__attribute__((section(\"tc\"), used))\n"
                + "int pass(struct __sk_buff *skb) { return -1; }\n"
                + "char _license[] __attribute__((section(\"license\"), used)) = \"GPL\";\n");
        Path o = dir.resolve("pass.o");
        Netns.run("clang", "-O2", "-g", "-target", "bpf", "-I/usr/include/x86_64-linux-gnu", "-c", c.toString(), "-o", o.toString());
        return o;
    }

    interface Build {
        void build(MessageWriter w);
    }

    private static byte[] dump(NetlinkSocket s, Build b) throws IOException {
        MessageWriter w = new MessageWriter(s.allocate(1024));
        b.build(w);
        s.send(w.segment(), w.finish(), "capture");
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        boolean[] done = {false};
        while (!done[0]) {
            long n = s.receive(0);
            bytes.write(s.buffer().asSlice(0, n).toArray(ValueLayout.JAVA_BYTE));
            Messages.forEach(s.buffer(), n, (seg, off) -> {
                done[0] |= NlMsgHdr.type(seg, off) == NlMsgHdr.NLMSG_DONE || NlMsgHdr.type(seg, off) == NlMsgHdr.NLMSG_ERROR;
                return true;
            });
        }
        return bytes.toByteArray();
    }

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

    private static void save(Path out, String file, byte[] bytes) throws IOException {
        Files.write(out.resolve(file), bytes);
        System.out.println("wrote " + file + " (" + bytes.length + " bytes)");
    }
}
