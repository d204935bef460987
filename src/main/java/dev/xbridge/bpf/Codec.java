package dev.xbridge.bpf;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Writes and reads one map key or value of fixed {@link #size()} at offset 0 of a segment.
 * Numbers in BPF maps are in host byte order unless the datapath says otherwise.
 */
public interface Codec<T> {
    /** Bytes, equal to the map's key or value size (checked by {@link TypedMap} and {@link PerCpuMap}). */
    int size();

    void write(MemorySegment seg, T value);

    T read(MemorySegment seg);

    /** {@code __u8}. */
    static Codec<Byte> u8() {
        return new Fixed<>(1) {
            public void write(MemorySegment seg, Byte v) { seg.set(ValueLayout.JAVA_BYTE, 0, v); }
            public Byte read(MemorySegment seg) { return seg.get(ValueLayout.JAVA_BYTE, 0); }
        };
    }

    /** {@code __u16}, host order. */
    static Codec<Short> u16() {
        return new Fixed<>(2) {
            public void write(MemorySegment seg, Short v) { seg.set(ValueLayout.JAVA_SHORT_UNALIGNED, 0, v); }
            public Short read(MemorySegment seg) { return seg.get(ValueLayout.JAVA_SHORT_UNALIGNED, 0); }
        };
    }

    /** {@code __u32}, host order. */
    static Codec<Integer> u32() {
        return new Fixed<>(4) {
            public void write(MemorySegment seg, Integer v) { seg.set(ValueLayout.JAVA_INT_UNALIGNED, 0, v); }
            public Integer read(MemorySegment seg) { return seg.get(ValueLayout.JAVA_INT_UNALIGNED, 0); }
        };
    }

    /** {@code __u64}, host order. */
    static Codec<Long> u64() {
        return new Fixed<>(8) {
            public void write(MemorySegment seg, Long v) { seg.set(ValueLayout.JAVA_LONG_UNALIGNED, 0, v); }
            public Long read(MemorySegment seg) { return seg.get(ValueLayout.JAVA_LONG_UNALIGNED, 0); }
        };
    }

    /** Raw bytes of exactly {@code size}; writing an array of another length is an error. */
    static Codec<byte[]> bytes(int size) {
        return new Fixed<>(size) {
            public void write(MemorySegment seg, byte[] v) {
                if (v.length != size) {
                    throw new IllegalArgumentException("expected " + size + " bytes, got " + v.length);
                }
                MemorySegment.copy(v, 0, seg, ValueLayout.JAVA_BYTE, 0, size);
            }
            public byte[] read(MemorySegment seg) { return seg.asSlice(0, size).toArray(ValueLayout.JAVA_BYTE); }
        };
    }

    /** Base for codecs whose size is a constant. */
    abstract class Fixed<T> implements Codec<T> {
        private final int size;

        protected Fixed(int size) {
            this.size = size;
        }

        @Override
        public final int size() {
            return size;
        }
    }
}
