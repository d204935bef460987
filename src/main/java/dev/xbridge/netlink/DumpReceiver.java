package dev.xbridge.netlink;

import dev.xbridge.sys.Errno;
import dev.xbridge.sys.Socket;
import dev.xbridge.sys.SysException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

/**
 * Receives the datagrams of one dump on a thread of its own, so that the caller decodes one
 * datagram while the kernel builds the next. The kernel builds each dump datagram inside the
 * recv that takes the one before it (netlink_recvmsg() calls netlink_dump()), and for a large
 * FDB that is most of a resync: br_fdb_dump() walks the bridge's list from its head for every
 * datagram. With the two on different CPUs the decoding hides behind the kernel's part.
 *
 * <p>Datagrams go through {@link #DEPTH} reusable buffers: the receiver fills one, the caller
 * {@link #next takes} it and hands it {@link #recycle back}. The receiver stops after the
 * datagram that ends the dump (NLMSG_DONE or NLMSG_ERROR of {@code seq}), a failed recv, or
 * a datagram whose framing it cannot follow (a header shorter than itself or longer than
 * what remains: the caller's decode says what is wrong; the dump is left as it is, since
 * its end could not be found). A consumer that throws does not end the caller's reading
 * ({@link RtNetlink}'s reply reads on to the end); closing before the end (an {@code Error}
 * in the caller) lets the receiver read the rest of the dump and drop it, so the socket is
 * ready for the next request (the kernel refuses a new dump, EBUSY, while one is still
 * running on the socket). Only the receiver reads the socket while this is open, and
 * {@link #close} returns only once it has stopped: waiting is not cut short by an interrupt,
 * which a thread blocked in recv could not heed anyway (the dump is finite); the interrupt is
 * kept for the caller.
 */
final class DumpReceiver implements AutoCloseable {
    static final int DEPTH = 4;
    private static final int BUFFER = 64 * 1024;

    /** A received datagram, or a failed recv: {@code length} is then -errno. */
    record Datagram(MemorySegment segment, long length) {}

    private final NetlinkSocket socket;
    private final int seq;
    private final Arena arena = Arena.ofShared();
    private final BlockingQueue<MemorySegment> free = new ArrayBlockingQueue<>(DEPTH);
    private final BlockingQueue<Datagram> full = new ArrayBlockingQueue<>(DEPTH);
    private final Thread thread;
    private volatile boolean discard;
    private volatile Throwable failure;

    DumpReceiver(NetlinkSocket socket, int seq, String op) {
        this.socket = socket;
        this.seq = seq;
        try {
            for (int i = 0; i < DEPTH; i++) {
                free.add(arena.allocate(BUFFER, 8));
            }
            thread = Thread.ofPlatform().daemon().name("xbridge-dump " + op).unstarted(this::receive);
            thread.start();
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    /**
     * The next datagram, in the order the kernel sent them. A failed recv throws, as does
     * anything that went wrong on the receiver's thread.
     */
    Datagram next(String op) {
        Datagram d = uninterruptibly(full::take);
        if (d.length() < 0) {
            if (failure != null) {
                throw new IllegalStateException("receiving the " + op + " failed", failure);
            }
            throw new SysException("recv " + op, (int) -d.length());
        }
        return d;
    }

    private interface Wait<T> {
        T get() throws InterruptedException;
    }

    /** {@code wait}'s result, waiting again after an interrupt, which is then kept for the caller. */
    private static <T> T uninterruptibly(Wait<T> wait) {
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return wait.get();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Hands a datagram's buffer back for the receiver to fill again. */
    void recycle(Datagram d) {
        free.offer(d.segment());
    }

    private void receive() {
        try {
            while (true) {
                MemorySegment into = free.take();
                // Peeked with the whole buffer: the kernel sizes the dump's next datagrams by the
                // largest recv it has seen (max_recvmsg_len, at most 32 KiB), and fewer, larger
                // datagrams mean fewer walks of the bridge's list.
                long size = socket.peekSize(into, 0);
                if (size == -Errno.EINTR.code()) {
                    free.add(into);
                    continue;
                }
                if (size > into.byteSize()) {
                    into = arena.allocate(Wire.align(size), 8);
                }
                long n = size < 0 ? size : socket.receiveInto(into, 0);
                if (n == -Errno.EINTR.code()) {
                    free.add(into);
                    continue;
                }
                boolean last = n < 0 || ends(into, n);
                if (discard) {
                    free.add(into);
                } else {
                    full.put(new Datagram(into, n));
                }
                if (last) {
                    return;
                }
            }
        } catch (InterruptedException e) {
            // Nothing interrupts this thread: close() waits for it.
        } catch (Throwable e) {
            failure = e; // handed to the caller with the marker below; nothing is left to do here
            uninterruptibly(() -> {
                full.put(new Datagram(MemorySegment.NULL, -Errno.EIO.code()));
                return null;
            });
        }
    }

    /**
     * Whether the datagram holds this dump's NLMSG_DONE or NLMSG_ERROR (its last), walked as the
     * caller walks it ({@link Messages#forEach}); a framing that walk rejects ends it too.
     */
    private boolean ends(MemorySegment s, long length) {
        try {
            return Messages.forEach(s, length, (m, off) -> !isEnd(m, off)) < length; // stopped at the end
        } catch (MalformedMessageException e) {
            return true; // the caller's decode says how: nothing after it can be read
        }
    }

    private boolean isEnd(MemorySegment s, long off) {
        int type = NlMsgHdr.type(s, off);
        return NlMsgHdr.seq(s, off) == seq && (type == NlMsgHdr.NLMSG_DONE || type == NlMsgHdr.NLMSG_ERROR);
    }

    /**
     * Waits for the receiver to finish: at once after the last datagram, else once it has read
     * and dropped the rest of the dump. Then frees the buffers.
     */
    @Override
    public void close() {
        discard = true;
        while (thread.isAlive()) {
            Datagram d = full.poll(); // unblocks a receiver waiting to hand one over
            if (d != null && d.length() >= 0) {
                free.offer(d.segment());
            }
            uninterruptibly(() -> {
                thread.join(10);
                return null;
            });
        }
        arena.close();
    }
}
