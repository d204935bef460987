package dev.xbridge.netlink;

import static org.assertj.core.api.Assertions.assertThat;

import dev.xbridge.testing.Requires;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Qdisc and filter dumps and RTNLGRP_TC notifications against the real kernel, in a fresh
 * namespace: veth p1/h1 and p2/h2. Only what this kernel has: htb, tbf, ingress, clsact, u32,
 * mirred (no flower, matchall, gact or netem).
 */
class TcLiveTest {
    Netns ns;

    @BeforeEach
    void scenario() {
        Requires.root();
        ns = Netns.create("tc");
        ns.ip("link", "add", "name", "p1", "type", "veth", "peer", "name", "h1");
        ns.ip("link", "add", "name", "p2", "type", "veth", "peer", "name", "h2");
        for (String dev : List.of("p1", "h1", "p2", "h2")) {
            ns.ip("link", "set", "dev", dev, "up");
        }
    }

    @AfterEach
    void cleanup() {
        if (ns != null) {
            ns.close();
        }
    }

    private <T> T inNs(Function<RtNetlink, T> work) {
        return ns.thread().call(() -> {
            try (RtNetlink nl = RtNetlink.open()) {
                return work.apply(nl);
            }
        });
    }

    private int ifindex(String dev) {
        return Integer.parseInt(ns.exec("cat", "/sys/class/net/" + dev + "/ifindex").trim());
    }

    private List<TcObject> filters(int ifindex, int block) {
        return inNs(nl -> nl.filters(ifindex, block));
    }

    private List<String> qdiscs(String dev) {
        int index = ifindex(dev);
        return inNs(nl -> nl.qdiscs().stream().filter(q -> q.ifindex() == index).map(TcObject::describe).toList());
    }

    @Test
    void qdiscDumpShowsDefaultsThenWhatWasAdded() {
        assertThat(qdiscs("p1")).containsExactly("qdisc noqueue 0: root");
        // tc reads class ids in hex: 1:10 is 0x00010010
        ns.exec("tc", "qdisc", "add", "dev", "p1", "root", "handle", "1:", "htb", "default", "10");
        ns.exec("tc", "class", "add", "dev", "p1", "parent", "1:", "classid", "1:10", "htb", "rate", "100mbit");
        ns.exec("tc", "qdisc", "add", "dev", "p1", "parent", "1:10", "handle", "20:", "tbf", "rate", "50mbit",
                "burst", "10kb", "latency", "20ms");
        ns.exec("tc", "qdisc", "add", "dev", "p1", "ingress");
        ns.exec("tc", "qdisc", "add", "dev", "p2", "clsact");
        assertThat(qdiscs("p1")).containsExactlyInAnyOrder("qdisc htb 1: root", "qdisc tbf 20: parent 1:10",
                "qdisc ingress ffff: parent ffff:fff1");
        assertThat(qdiscs("p2")).containsExactlyInAnyOrder("qdisc noqueue 0: root", "qdisc clsact ffff: parent ffff:fff1");
    }

    @Test
    void filterDumpsAreByDeviceAndBlock() {
        int p1 = ifindex("p1");
        int p2 = ifindex("p2");
        assertThat(filters(p1, TcMsg.INGRESS_BLOCK)).as("no qdisc holds an ingress block yet").isEmpty();
        ns.exec("tc", "qdisc", "add", "dev", "p1", "ingress");
        ns.exec("tc", "filter", "add", "dev", "p1", "ingress", "pref", "7", "protocol", "ip", "u32",
                "match", "u32", "0", "0", "action", "mirred", "egress", "mirror", "dev", "h2");
        ns.exec("tc", "qdisc", "add", "dev", "p2", "clsact");
        ns.exec("tc", "filter", "add", "dev", "p2", "egress", "protocol", "all", "u32",
                "match", "u32", "0", "0", "action", "mirred", "egress", "mirror", "dev", "h1");

        List<TcObject> in1 = filters(p1, TcMsg.INGRESS_BLOCK);
        assertThat(in1).isNotEmpty().allSatisfy(f -> {
            assertThat(f.ifindex()).isEqualTo(p1);
            assertThat(f.kind()).isEqualTo("u32");
            assertThat(f.priority()).isEqualTo(7);
            assertThat(f.protocol()).isEqualTo(0x0800);
            assertThat(f.parent()).isEqualTo(TcMsg.INGRESS_BLOCK);
        });
        assertThat(in1).anyMatch(f -> f.handle() == 0x80000800);
        assertThat(filters(p2, TcMsg.INGRESS_BLOCK)).as("p2's clsact ingress block is empty").isEmpty();
        List<TcObject> out2 = filters(p2, TcMsg.EGRESS_BLOCK);
        assertThat(out2).isNotEmpty().allSatisfy(f -> {
            assertThat(f.kind()).isEqualTo("u32");
            assertThat(f.priority()).as("tc's automatic first priority").isEqualTo(49152);
            assertThat(f.protocol()).isEqualTo(0x0003);
            assertThat(f.parent()).isEqualTo(TcMsg.EGRESS_BLOCK);
        });

        ns.exec("tc", "filter", "del", "dev", "p1", "ingress", "pref", "7");
        assertThat(filters(p1, TcMsg.INGRESS_BLOCK)).isEmpty();
    }

    @Test
    void aSharedBlocksFiltersAreDumpedThroughEachDeviceAndAnnouncedByBlock() {
        int p1 = ifindex("p1");
        ns.exec("tc", "qdisc", "add", "dev", "p1", "ingress_block", "22", "clsact");
        ns.thread().run(() -> {
            try (RtMonitor mon = RtMonitor.open()) {
                List<RtEvent> seen = new ArrayList<>();
                ns.exec("tc", "filter", "add", "block", "22", "protocol", "ip", "u32",
                        "match", "u32", "0", "0", "action", "mirred", "egress", "mirror", "dev", "h2");
                TcObject e = await(mon, seen, t -> t.type() == NlMsgHdr.RTM_NEWTFILTER);
                assertThat(e.ifindex()).as("no device: the block").isEqualTo(TcMsg.TCM_IFINDEX_MAGIC_BLOCK);
                assertThat(e.parent()).as("tcm_block_index").isEqualTo(22);
            }
        });
        assertThat(filters(p1, TcMsg.INGRESS_BLOCK)).isNotEmpty().allMatch(f -> f.kind().equals("u32"));
    }

    @Test
    void theMonitorSeesQdiscsAndFiltersComeAndGo() {
        int p1 = ifindex("p1");
        ns.thread().run(() -> {
            try (RtMonitor mon = RtMonitor.open()) {
                List<RtEvent> seen = new ArrayList<>();
                ns.exec("tc", "qdisc", "add", "dev", "p1", "clsact");
                await(mon, seen, e -> e.type() == NlMsgHdr.RTM_NEWQDISC && e.ifindex() == p1 && e.kind().equals("clsact"));
                ns.exec("tc", "filter", "add", "dev", "p1", "ingress", "protocol", "ip", "u32",
                        "match", "u32", "0", "0", "action", "mirred", "egress", "mirror", "dev", "h2");
                await(mon, seen, e -> e.type() == NlMsgHdr.RTM_NEWTFILTER && e.ifindex() == p1
                        && e.parent() == TcMsg.INGRESS_BLOCK && e.kind().equals("u32"));
                ns.exec("tc", "filter", "del", "dev", "p1", "ingress");
                await(mon, seen, e -> e.type() == NlMsgHdr.RTM_DELTFILTER && e.ifindex() == p1);
                ns.exec("tc", "qdisc", "add", "dev", "p1", "root", "tbf", "rate", "1gbit", "burst", "100kb",
                        "latency", "50ms");
                await(mon, seen, e -> e.type() == NlMsgHdr.RTM_NEWQDISC && e.kind().equals("tbf")
                        && e.parent() == TcMsg.TC_H_ROOT);
                ns.exec("tc", "qdisc", "del", "dev", "p1", "root");
                await(mon, seen, e -> e.type() == NlMsgHdr.RTM_DELQDISC && e.kind().equals("tbf"));
            }
        });
    }

    private static TcObject await(RtMonitor mon, List<RtEvent> seen, Predicate<TcObject> p) {
        long deadline = System.nanoTime() + Duration.ofSeconds(3).toNanos();
        while (System.nanoTime() < deadline) {
            for (int i = 0; i < seen.size(); i++) {
                if (seen.get(i) instanceof RtEvent.TcChanged t && p.test(t.tc())) {
                    seen.remove(i);
                    return t.tc();
                }
            }
            mon.poll(Duration.ofMillis(200), seen::add);
        }
        throw new AssertionError("no matching tc event within 3 s; saw " + seen);
    }
}
