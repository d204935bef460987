package dev.xbridge.bpf;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * {@code struct __sk_buff} (UAPI linux/bpf.h, 192 bytes since 5.16), the context of
 * a TC program's test run, with the fields a test run may set.
 *
 * <p>The kernel (bpf_prog_test_run_skb, convert___skb_to_skb) refuses a context with
 * nonzero fields other than mark, priority, ingress_ifindex, ifindex, cb, tstamp,
 * wire_len, gso_segs, gso_size and hwtstamp. A nonzero ifindex is resolved <em>in the
 * calling thread's network namespace</em> and becomes skb->dev, so such a run belongs on
 * a thread of {@link dev.xbridge.sys.NetNamespace}.
 */
public final class SkBuff {
    public static final int SIZE = 192;
    public static final long MARK_OFFSET = 8;
    public static final long PRIORITY_OFFSET = 32;
    public static final long INGRESS_IFINDEX_OFFSET = 36;
    public static final long IFINDEX_OFFSET = 40;

    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED;

    private final MemorySegment seg = MemorySegment.ofArray(new byte[SIZE]);

    private SkBuff() {}

    /** An all-zero context. */
    public static SkBuff empty() {
        return new SkBuff();
    }

    /** A frame received on {@code ifindex}: skb->dev and skb->skb_iif both that device, as at TC ingress. */
    public static SkBuff receivedOn(int ifindex) {
        return new SkBuff().ifindex(ifindex).ingressIfindex(ifindex);
    }

    public SkBuff ifindex(int v) { seg.set(U32, IFINDEX_OFFSET, v); return this; }
    public SkBuff ingressIfindex(int v) { seg.set(U32, INGRESS_IFINDEX_OFFSET, v); return this; }
    public SkBuff mark(int v) { seg.set(U32, MARK_OFFSET, v); return this; }
    public SkBuff priority(int v) { seg.set(U32, PRIORITY_OFFSET, v); return this; }

    public int ifindex() { return seg.get(U32, IFINDEX_OFFSET); }
    public int ingressIfindex() { return seg.get(U32, INGRESS_IFINDEX_OFFSET); }

    public byte[] toBytes() {
        return seg.toArray(ValueLayout.JAVA_BYTE);
    }
}
