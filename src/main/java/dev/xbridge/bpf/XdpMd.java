package dev.xbridge.bpf;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * {@code struct xdp_md} (UAPI linux/bpf.h), the XDP context passed as ctx_in of a test run.
 *
 * <p>For a test run the kernel (bpf_prog_test_run_xdp, xdp_convert_md_to_buff) requires
 * data_meta == 0, data_end == the frame length, data <= data_end (data > 0 reserves
 * metadata in front of the frame), egress_ifindex == 0, and resolves a nonzero
 * ingress_ifindex <em>in the calling thread's network namespace</em> (rx_queue_index
 * must then be below the device's rx queue count). So a run that sets ingress_ifindex
 * belongs on a thread of {@link dev.xbridge.sys.NetNamespace}.
 */
public final class XdpMd {
    public static final int SIZE = 24;
    public static final long DATA_OFFSET = 0;
    public static final long DATA_END_OFFSET = 4;
    public static final long DATA_META_OFFSET = 8;
    public static final long INGRESS_IFINDEX_OFFSET = 12;
    public static final long RX_QUEUE_INDEX_OFFSET = 16;
    public static final long EGRESS_IFINDEX_OFFSET = 20;

    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED;

    private final MemorySegment seg;

    private XdpMd(MemorySegment seg) {
        this.seg = seg;
    }

    /** A context for a frame of {@code frameLength} bytes: data 0, data_end frameLength, all else 0. */
    public static XdpMd forFrame(int frameLength) {
        return new XdpMd(MemorySegment.ofArray(new byte[SIZE])).dataEnd(frameLength);
    }

    /** Reads a context, e.g. {@link RunResult#contextOut()}. */
    public static XdpMd of(byte[] bytes) {
        if (bytes.length < SIZE) {
            throw new IllegalArgumentException("struct xdp_md is " + SIZE + " bytes, got " + bytes.length);
        }
        return new XdpMd(MemorySegment.ofArray(bytes.clone()));
    }

    public byte[] toBytes() {
        return seg.asSlice(0, SIZE).toArray(ValueLayout.JAVA_BYTE);
    }

    public static int data(MemorySegment s) { return s.get(U32, DATA_OFFSET); }
    public static int dataEnd(MemorySegment s) { return s.get(U32, DATA_END_OFFSET); }
    public static int dataMeta(MemorySegment s) { return s.get(U32, DATA_META_OFFSET); }
    public static int ingressIfindex(MemorySegment s) { return s.get(U32, INGRESS_IFINDEX_OFFSET); }
    public static int rxQueueIndex(MemorySegment s) { return s.get(U32, RX_QUEUE_INDEX_OFFSET); }
    public static int egressIfindex(MemorySegment s) { return s.get(U32, EGRESS_IFINDEX_OFFSET); }

    public int data() { return data(seg); }
    public int dataEnd() { return dataEnd(seg); }
    public int dataMeta() { return dataMeta(seg); }
    public int ingressIfindex() { return ingressIfindex(seg); }
    public int rxQueueIndex() { return rxQueueIndex(seg); }
    public int egressIfindex() { return egressIfindex(seg); }

    public XdpMd data(int v) { seg.set(U32, DATA_OFFSET, v); return this; }
    public XdpMd dataEnd(int v) { seg.set(U32, DATA_END_OFFSET, v); return this; }
    public XdpMd dataMeta(int v) { seg.set(U32, DATA_META_OFFSET, v); return this; }
    public XdpMd ingressIfindex(int v) { seg.set(U32, INGRESS_IFINDEX_OFFSET, v); return this; }
    public XdpMd rxQueueIndex(int v) { seg.set(U32, RX_QUEUE_INDEX_OFFSET, v); return this; }
    public XdpMd egressIfindex(int v) { seg.set(U32, EGRESS_IFINDEX_OFFSET, v); return this; }

    @Override
    public String toString() {
        return "xdp_md{data=" + data() + ", data_end=" + dataEnd() + ", data_meta=" + dataMeta()
                + ", ingress_ifindex=" + ingressIfindex() + ", rx_queue_index=" + rxQueueIndex()
                + ", egress_ifindex=" + egressIfindex() + "}";
    }
}
