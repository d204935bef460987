package dev.xbridge.bridge;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** PackedFdb against a HashMap of the same keys: every field survives packing and growth. */
class PackedFdbTest {
    record Key(int bridge, int vid, long mac) {}

    record Value(int port, int flags) {}

    @Test
    void holdsWhatAHashMapHolds() {
        SplittableRandom random = new SplittableRandom(7);
        PackedFdb table = new PackedFdb();
        Map<Key, Value> reference = new HashMap<>();
        // Extremes of every field: the top VLAN bits, a MAC of all ones, ifindexes above 2^31.
        List<Key> edges = List.of(new Key(1, 0, 0), new Key(1, 0xffff, 0xffff_ffff_ffffL), new Key(-1, 4094, 1),
                new Key(Integer.MAX_VALUE, 1, 0x0200_0000_0001L));
        for (Key k : edges) {
            table.put(k.bridge(), k.vid(), k.mac(), -2, 0xffff);
            reference.put(k, new Value(-2, 0xffff));
        }
        for (int i = 0; i < 50_000; i++) {
            // Few bridges and VLANs and one MAC vendor prefix, so keys collide in their high bits.
            Key k = new Key(1 + random.nextInt(3), random.nextInt(3), 0x02fb_0000_0000L | random.nextInt(40_000));
            Value v = new Value(random.nextInt(), random.nextInt(8));
            table.put(k.bridge(), k.vid(), k.mac(), v.port(), v.flags());
            reference.put(k, v);
        }
        assertThat(table.size()).isEqualTo(reference.size());
        Map<Key, Value> read = new HashMap<>();
        for (int slot = 0; slot < table.capacity(); slot++) {
            if (table.occupied(slot)) {
                read.put(new Key(table.bridge(slot), table.vid(slot), table.mac(slot)),
                        new Value(table.port(slot), table.flags(slot)));
            }
        }
        assertThat(read).isEqualTo(reference);
        reference.forEach((k, v) -> assertThat(table.find(k.bridge(), k.vid(), k.mac())).isNotNegative());
        assertThat(table.find(4, 0, 0x02fb_0000_0001L)).isEqualTo(-1);
        assertThat(table.find(1, 0, 0x02fb_0001_0000L)).isEqualTo(-1);
    }

    @Test
    void keptIsPerSlotAndAReplacementClearsIt() {
        PackedFdb table = new PackedFdb(4);
        table.put(10, 0, 0xa, 3, 1);
        table.put(10, 0, 0xb, 3, 1);
        int a = table.find(10, 0, 0xa);
        table.keep(a);
        assertThat(table.kept(a)).isTrue();
        assertThat(table.sameAs(a, 3, 1)).isTrue();
        assertThat(table.sameAs(a, 3, 0)).isFalse();
        assertThat(table.sameAs(a, 4, 1)).isFalse();
        assertThat(table.kept(table.find(10, 0, 0xb))).isFalse();
        for (int i = 0; i < 100; i++) { // grows; kept survives the rehash
            table.put(11, 0, i, 1, 0);
        }
        assertThat(table.kept(table.find(10, 0, 0xa))).isTrue();
        table.put(10, 0, 0xa, 5, 0);
        assertThat(table.kept(table.find(10, 0, 0xa))).isFalse();
        assertThat(table.port(table.find(10, 0, 0xa))).isEqualTo(5);
    }
}
