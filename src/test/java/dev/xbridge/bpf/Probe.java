package dev.xbridge.bpf;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** The test object src/test/bpf/probe.bpf.c: its value struct in Java, and how to load it. */
final class Probe {
    static final String RESOURCE = "/bpf/probe.bpf.o";

    private Probe() {}

    static BpfObject load() {
        BpfObject obj = BpfObject.openResource(RESOURCE);
        try {
            obj.load();
            return obj;
        } catch (RuntimeException e) {
            obj.close();
            throw e;
        }
    }

    /** struct probe_verdict. */
    record Verdict(int action, short port, byte flags, long hits) {
        static final int SIZE = 16;
        static final long ACTION_OFFSET = 0;
        static final long PORT_OFFSET = 4;
        static final long FLAGS_OFFSET = 6;
        static final long HITS_OFFSET = 8;

        static Verdict of(int action) {
            return new Verdict(action, (short) 0, (byte) 0, 0);
        }

        static final Codec<Verdict> CODEC = new Codec<>() {
            @Override
            public int size() {
                return SIZE;
            }

            @Override
            public void write(MemorySegment seg, Verdict v) {
                seg.set(ValueLayout.JAVA_INT, ACTION_OFFSET, v.action());
                seg.set(ValueLayout.JAVA_SHORT, PORT_OFFSET, v.port());
                seg.set(ValueLayout.JAVA_BYTE, FLAGS_OFFSET, v.flags());
                seg.set(ValueLayout.JAVA_BYTE, FLAGS_OFFSET + 1, (byte) 0);
                seg.set(ValueLayout.JAVA_LONG, HITS_OFFSET, v.hits());
            }

            @Override
            public Verdict read(MemorySegment seg) {
                return new Verdict(seg.get(ValueLayout.JAVA_INT, ACTION_OFFSET), seg.get(ValueLayout.JAVA_SHORT, PORT_OFFSET),
                        seg.get(ValueLayout.JAVA_BYTE, FLAGS_OFFSET), seg.get(ValueLayout.JAVA_LONG, HITS_OFFSET));
            }
        };
    }

    /** A frame whose first byte is the verdicts key; long enough for the program's 2-byte check. */
    static byte[] frame(int firstByte) {
        byte[] f = new byte[64];
        f[0] = (byte) firstByte;
        return f;
    }
}
