package dev.xbridge.netlink;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/** Loads the captured messages in src/test/resources/netlink (see the README there). */
final class Fixtures {
    private Fixtures() {}

    static byte[] bytes(String name) {
        try (InputStream in = Fixtures.class.getResourceAsStream("/netlink/" + name)) {
            if (in == null) {
                throw new IllegalStateException("missing fixture /netlink/" + name);
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Every event the monitor would deliver for the messages in the fixture. */
    static List<RtEvent> events(String name) {
        byte[] b = bytes(name);
        MemorySegment s = MemorySegment.ofArray(b);
        List<RtEvent> out = new ArrayList<>();
        Messages.forEach(s, b.length, (seg, off) -> {
            RtEvent e = RtMonitor.decode(seg, off);
            if (e != null) {
                out.add(e);
            }
            return true;
        });
        return out;
    }

    static RtEvent event(String name) {
        List<RtEvent> all = events(name);
        if (all.size() != 1) {
            throw new IllegalStateException(name + " holds " + all.size() + " events, expected 1");
        }
        return all.get(0);
    }
}
