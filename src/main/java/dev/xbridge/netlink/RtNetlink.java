package dev.xbridge.netlink;

import static dev.xbridge.netlink.NlMsgHdr.*;

import dev.xbridge.sys.Errno;
import dev.xbridge.sys.Libc;
import dev.xbridge.sys.Socket;
import dev.xbridge.sys.SysException;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * A request/response rtnetlink socket in the network namespace of the thread that called
 * {@link #open()}; it stays in that namespace whichever thread uses it later. Not thread-safe.
 *
 * <p>Every request carries a fresh sequence number and waits for its own answer: the kernel's
 * ack (NLMSG_ERROR with error 0) or NLMSG_DONE for dumps, even when decoding part of it
 * failed (the failure is thrown once the answer has ended). Answers to other sequence numbers
 * (left over from a request abandoned by a failed recv, a datagram whose framing could not be
 * followed, or an {@code Error}) are skipped. A refusal becomes a {@link NetlinkException}
 * with the errno and the extended-ack text; a dump marked NLM_F_DUMP_INTR becomes a
 * {@link DumpInterruptedException} after it has been read to the end.
 */
public final class RtNetlink implements AutoCloseable {
    // linux/net_namespace.h
    static final int NETNSA_NSID = 1;
    static final int NETNSA_FD = 3;
    static final int NETNSA_NSID_NOT_ASSIGNED = -1;

    private final NetlinkSocket socket;
    private final MessageWriter request;
    private int seq;

    private RtNetlink(NetlinkSocket socket) {
        this.socket = socket;
        this.request = new MessageWriter(socket.allocate(4096));
        this.seq = (int) (System.nanoTime() & 0x3fffffff);
    }

    /** Opens a NETLINK_ROUTE socket in the calling thread's network namespace. */
    public static RtNetlink open() {
        NetlinkSocket socket = NetlinkSocket.open();
        try {
            // Error messages with NLMSGERR_ATTR_MSG text, and without the echoed request (NETLINK_CAP_ACK).
            socket.option(NetlinkSocket.NETLINK_EXT_ACK, 1, "NETLINK_EXT_ACK");
            socket.option(NetlinkSocket.NETLINK_CAP_ACK, 1, "NETLINK_CAP_ACK");
            // Strict checking: the kernel rejects unknown header fields and attributes in our requests
            // instead of silently ignoring them, so a wrong request fails loudly.
            socket.option(NetlinkSocket.NETLINK_GET_STRICT_CHK, 1, "NETLINK_GET_STRICT_CHK");
            return new RtNetlink(socket);
        } catch (RuntimeException e) {
            socket.close();
            throw e;
        }
    }

    /** All links (RTM_GETLINK dump, AF_UNSPEC), with IFLA_LINKINFO and bridge/port details. */
    public List<Link> links() {
        List<Link> out = new ArrayList<>();
        links(out::add);
        return out;
    }

    /** The same dump as {@link #links()}, handed to {@code each} link by link (used by tests). */
    void links(Consumer<Link> each) {
        start(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP)
                .ifinfomsg(Socket.AF_UNSPEC, 0)
                .u32(IfInfoMsg.IFLA_EXT_MASK, IfInfoMsg.RTEXT_FILTER_SKIP_STATS);
        exchange("RTM_GETLINK dump", (s, off) -> {
            if (NlMsgHdr.type(s, off) == RTM_NEWLINK) {
                each.accept(Link.decode(s, off));
            }
        });
    }

    /**
     * The bridge ports as the bridge reports them (RTM_GETLINK dump, AF_BRIDGE): each with
     * IFLA_MASTER and IFLA_PROTINFO, family AF_BRIDGE.
     */
    public List<Link> bridgePorts() {
        List<Link> out = new ArrayList<>();
        start(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP).ifinfomsg(Socket.AF_BRIDGE, 0);
        exchange("RTM_GETLINK AF_BRIDGE dump", (s, off) -> {
            if (NlMsgHdr.type(s, off) == RTM_NEWLINK) {
                Link l = Link.decode(s, off);
                if (l.port() != null) {
                    out.add(l);
                }
            }
        });
        return out;
    }

    public Optional<Link> link(String name) {
        start(RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK)
                .ifinfomsg(Socket.AF_UNSPEC, 0)
                .string(IfInfoMsg.IFLA_IFNAME, name)
                .u32(IfInfoMsg.IFLA_EXT_MASK, IfInfoMsg.RTEXT_FILTER_SKIP_STATS);
        return getLink("RTM_GETLINK " + name);
    }

    public Optional<Link> link(int index) {
        start(RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK)
                .ifinfomsg(Socket.AF_UNSPEC, index)
                .u32(IfInfoMsg.IFLA_EXT_MASK, IfInfoMsg.RTEXT_FILTER_SKIP_STATS);
        return getLink("RTM_GETLINK ifindex " + index);
    }

    private Optional<Link> getLink(String op) {
        List<Link> out = new ArrayList<>(1);
        try {
            exchange(op, (s, off) -> {
                if (NlMsgHdr.type(s, off) == RTM_NEWLINK) {
                    out.add(Link.decode(s, off));
                }
            });
        } catch (NetlinkException e) {
            if (e.errno() == Errno.ENODEV) {
                return Optional.empty();
            }
            throw e;
        }
        return out.stream().findFirst();
    }

    /**
     * Every AF_BRIDGE neighbour entry (RTM_GETNEIGH dump): the bridges' FDBs and the ports' own
     * NTF_SELF address lists. Callers keep {@link FdbEntry#isBridgeEntry()} for the FDB.
     */
    public List<FdbEntry> fdb() {
        List<FdbEntry> out = new ArrayList<>();
        fdb(out::add);
        return out;
    }

    /**
     * The same dump as {@link #fdb()}, handed to {@code each} entry by entry as the kernel's
     * datagrams arrive, so no list of the whole FDB is held. An interrupted dump
     * (NLM_F_DUMP_INTR) throws {@link DumpInterruptedException} only after every entry has
     * been handed over: a caller that cannot use a torn view discards what it built.
     *
     * <p>The kernel builds each datagram of this dump inside the recv of the one before, and
     * for a large FDB that is most of the time it takes (docs/bench.md): a second thread
     * receives while this one decodes ({@link DumpReceiver}). If {@code each} throws, the
     * rest of the dump is read and dropped before the exception reaches the caller, as for
     * every request ({@link Reply}).
     */
    public void fdb(Consumer<FdbEntry> each) {
        start(RTM_GETNEIGH, NLM_F_REQUEST | NLM_F_DUMP).ndmsg(Socket.AF_BRIDGE, 0, 0, 0);
        exchangeOverlapped("RTM_GETNEIGH AF_BRIDGE dump", (s, off) -> {
            if (NlMsgHdr.type(s, off) == RTM_NEWNEIGH
                    && NlMsgHdr.length(s, off) > NlMsgHdr.SIZE
                    && NdMsg.family(s, off + NlMsgHdr.SIZE) == Socket.AF_BRIDGE) {
                each.accept(FdbEntry.decode(s, off));
            }
        });
    }

    /**
     * The bridge VLAN database (RTM_GETVLAN dump, AF_BRIDGE; Linux 5.10+): every VLAN of every
     * bridge port and bridge in the namespace, or of {@code ifindex} only when it is not 0.
     * Kernels built without bridge VLAN filtering answer EOPNOTSUPP.
     */
    public List<PortVlan> vlans(int ifindex) {
        List<PortVlan> out = new ArrayList<>();
        start(RTM_GETVLAN, NLM_F_REQUEST | NLM_F_DUMP).brVlanMsg(Socket.AF_BRIDGE, ifindex);
        exchange("RTM_GETVLAN dump" + (ifindex == 0 ? "" : " ifindex " + ifindex), (s, off) -> {
            if (NlMsgHdr.type(s, off) == RTM_NEWVLAN) {
                out.addAll(PortVlan.decode(s, off));
            }
        });
        return out;
    }

    /**
     * Every qdisc in the namespace (RTM_GETQDISC dump): each device's root, its children, and
     * its ingress or clsact qdisc. The kernel does not filter this dump by device.
     */
    public List<TcObject> qdiscs() {
        List<TcObject> out = new ArrayList<>();
        start(RTM_GETQDISC, NLM_F_REQUEST | NLM_F_DUMP).tcmsg(Socket.AF_UNSPEC, 0, 0);
        exchange("RTM_GETQDISC dump", (s, off) -> {
            if (NlMsgHdr.type(s, off) == RTM_NEWQDISC) {
                out.add(TcObject.decode(s, off));
            }
        });
        return out;
    }

    /**
     * The filters of one block of device {@code ifindex} (RTM_GETTFILTER dump), in every chain,
     * e.g. {@link TcMsg#INGRESS_BLOCK}. Each classifier instance comes as one message with
     * handle 0 followed by one per node. Empty when the device has no qdisc with that block.
     */
    public List<TcObject> filters(int ifindex, int parent) {
        List<TcObject> out = new ArrayList<>();
        start(RTM_GETTFILTER, NLM_F_REQUEST | NLM_F_DUMP).tcmsg(Socket.AF_UNSPEC, ifindex, parent);
        exchange("RTM_GETTFILTER dump ifindex " + ifindex + " parent " + TcMsg.handleText(parent), (s, off) -> {
            if (NlMsgHdr.type(s, off) == RTM_NEWTFILTER) {
                out.add(TcObject.decode(s, off));
            }
        });
        return out;
    }

    /**
     * Adds an entry to the FDB of the bridge {@code portIndex} belongs to (NTF_MASTER), like
     * {@code bridge fdb add MAC dev PORT master [static|dynamic] [vlan VID]}: NUD_NOARP for a
     * static entry, NUD_REACHABLE for a dynamic one (which then ages). {@code replace} picks
     * NLM_F_REPLACE over NLM_F_EXCL (EEXIST if present).
     */
    public void addFdb(int portIndex, MacAddress mac, int vlan, boolean isStatic, boolean replace) {
        int flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | (replace ? NLM_F_REPLACE : NLM_F_EXCL);
        int state = isStatic ? NdMsg.NUD_NOARP : NdMsg.NUD_REACHABLE;
        neigh(RTM_NEWNEIGH, flags, portIndex, state, NdMsg.NTF_MASTER, mac, vlan);
        exchange("RTM_NEWNEIGH fdb add " + mac + vlanText(vlan) + " on ifindex " + portIndex, null);
    }

    /** Deletes an entry from the bridge's FDB (RTM_DELNEIGH, NTF_MASTER). */
    public void deleteFdb(int portIndex, MacAddress mac, int vlan) {
        neigh(RTM_DELNEIGH, NLM_F_REQUEST | NLM_F_ACK, portIndex, 0, NdMsg.NTF_MASTER, mac, vlan);
        exchange("RTM_DELNEIGH fdb del " + mac + vlanText(vlan) + " on ifindex " + portIndex, null);
    }

    /**
     * RTM_NEWNEIGH with NTF_USE|NTF_MASTER: the kernel runs br_fdb_update() for the port, as if
     * a frame from {@code mac} had arrived there, which refreshes an entry's ageing time.
     */
    public void refreshFdb(int portIndex, MacAddress mac, int vlan) {
        // br_fdb_add() rejects a state without NUD_PERMANENT|NUD_NOARP|NUD_REACHABLE even for NTF_USE.
        neigh(RTM_NEWNEIGH, NLM_F_REQUEST | NLM_F_ACK, portIndex, NdMsg.NUD_REACHABLE,
                NdMsg.NTF_USE | NdMsg.NTF_MASTER, mac, vlan);
        exchange("RTM_NEWNEIGH NTF_USE fdb refresh " + mac + vlanText(vlan) + " on ifindex " + portIndex, null);
    }

    /**
     * The nsid this namespace uses for the namespace behind {@code netnsFd} (RTM_GETNSID with
     * NETNSA_FD), or -1 if none is assigned.
     */
    public int nsidOf(int netnsFd) {
        start(RTM_GETNSID, NLM_F_REQUEST | NLM_F_ACK).rtgenmsg(Socket.AF_UNSPEC).u32(NETNSA_FD, netnsFd);
        int[] nsid = {NETNSA_NSID_NOT_ASSIGNED};
        exchange("RTM_GETNSID fd " + netnsFd, (s, off) -> {
            if (NlMsgHdr.type(s, off) == RTM_NEWNSID) {
                AttrTable a = Messages.attrs(s, off, 1, 8);
                nsid[0] = a.u32(NETNSA_NSID, NETNSA_NSID_NOT_ASSIGNED);
            }
        });
        return nsid[0] < 0 ? -1 : nsid[0];
    }

    /**
     * {@link #nsidOf} for a namespace file (/run/netns/NAME, /proc/PID/ns/net): -1 when none is
     * assigned, or when the file cannot be opened or asked about (a process that exited).
     */
    public int nsidOfFile(String path) {
        int fd;
        try {
            fd = Libc.open(path, Libc.O_RDONLY | Libc.O_CLOEXEC);
        } catch (RuntimeException e) {
            return -1;
        }
        try {
            return nsidOf(fd);
        } catch (RuntimeException e) {
            return -1;
        } finally {
            Libc.close(fd);
        }
    }

    /** The port id the kernel bound this socket to. */
    public int portId() {
        return socket.portId();
    }

    @Override
    public void close() {
        socket.close();
    }

    private static String vlanText(int vlan) {
        return vlan == 0 ? "" : " vlan " + vlan;
    }

    private void neigh(int type, int flags, int ifindex, int state, int ntf, MacAddress mac, int vlan) {
        start(type, flags).ndmsg(Socket.AF_BRIDGE, ifindex, state, ntf).bytes(NdMsg.NDA_LLADDR, mac.bytes());
        if (vlan != 0) {
            request.u16(NdMsg.NDA_VLAN, vlan);
        }
    }

    private MessageWriter start(int type, int flags) {
        seq = (seq + 1) & 0x7fffffff;
        return request.start(type, flags, seq);
    }

    interface Sink {
        void accept(MemorySegment s, long off);
    }

    /** Sends the request being built; its answer is to be fed to the reply returned. */
    private Reply send(String op, Sink sink) {
        int length = request.finish();
        socket.send(request.segment(), length, op);
        return new Reply(seq, sink);
    }

    /** Sends the request being built and reads answers until its ack, error or NLMSG_DONE. */
    private void exchange(String op, Sink sink) {
        Reply reply = send(op, sink);
        try {
            while (!reply.done) {
                long n = socket.receive(0);
                if (n == -Errno.EINTR.code()) {
                    continue;
                }
                if (n < 0) {
                    throw new SysException("recv " + op, (int) -n);
                }
                Messages.forEach(socket.buffer(), n, reply);
            }
        } catch (RuntimeException e) {
            throw reply.after(e);
        }
        reply.check(op);
    }

    /**
     * As {@link #exchange}, with the answer received on a second thread while this one decodes
     * ({@link DumpReceiver}): for the dumps whose kernel side is long.
     */
    private void exchangeOverlapped(String op, Sink sink) {
        Reply reply = send(op, sink);
        try (DumpReceiver receiver = new DumpReceiver(socket, reply.seq, op)) {
            while (!reply.done) {
                DumpReceiver.Datagram d = receiver.next(op);
                Messages.forEach(d.segment(), d.length(), reply);
                receiver.recycle(d);
            }
        } catch (RuntimeException e) {
            throw reply.after(e);
        }
        reply.check(op);
    }

    /**
     * The state of one request's answer, fed message by message. Package-private for unit tests.
     *
     * <p>If the sink throws (a message it cannot decode, or a caller's consumer that gives up),
     * the answer is still read to its end, with the sink called no more, and {@link #check}
     * throws what it threw. The kernel refuses another dump on the socket (EBUSY) until it has
     * built the last datagram of the one running, which it does only as that one is read: a
     * dump left unread would make one failure cost the next dump too, under an error that does
     * not name the cause.
     */
    static final class Reply implements Messages.Handler {
        private final int seq;
        private final Sink sink;
        boolean done;
        boolean interrupted;
        int errno;
        String extAck = "";
        /** The first exception the sink threw; later messages are only walked for the end. */
        RuntimeException failure;

        Reply(int seq, Sink sink) {
            this.seq = seq;
            this.sink = sink;
        }

        @Override
        public boolean onMessage(MemorySegment s, long off) {
            if (NlMsgHdr.seq(s, off) != seq) {
                return true; // an answer to an earlier, abandoned request
            }
            int flags = NlMsgHdr.flags(s, off);
            if ((flags & NLM_F_DUMP_INTR) != 0) {
                interrupted = true;
            }
            int len = NlMsgHdr.length(s, off);
            switch (NlMsgHdr.type(s, off)) {
                case NLMSG_ERROR -> {
                    if (len < NlMsgHdr.SIZE + 4) {
                        throw new MalformedMessageException("NLMSG_ERROR of " + len + " bytes has no error code");
                    }
                    int error = NlMsgErr.error(s, off + NlMsgHdr.SIZE);
                    if (error != 0) {
                        errno = -error;
                        extAck = extAck(s, off);
                    }
                    done = true;
                }
                case NLMSG_DONE -> {
                    // The payload is the dump's final status (netlink_dump_done), negative on failure.
                    if (len >= NlMsgHdr.SIZE + 4) {
                        int error = Wire.u32(s, off + NlMsgHdr.SIZE);
                        if (error < 0) {
                            errno = -error;
                            extAck = tlvMessage(s, off, off + NlMsgHdr.SIZE + 4);
                        }
                    }
                    done = true;
                }
                case NLMSG_NOOP, NLMSG_OVERRUN -> {}
                default -> {
                    if (sink != null && failure == null) {
                        try {
                            sink.accept(s, off);
                        } catch (RuntimeException e) {
                            failure = e;
                        }
                    }
                }
            }
            return !done;
        }

        /**
         * What to throw when reading the answer fails with {@code e}: the sink's earlier
         * exception, if there was one, with {@code e} suppressed in it; else {@code e}.
         */
        RuntimeException after(RuntimeException e) {
            if (failure == null || failure == e) {
                return e;
            }
            failure.addSuppressed(e);
            return failure;
        }

        /**
         * Throws what went wrong: the sink's exception first (with the kernel's error or the
         * dump's interruption, if any, suppressed in it), then an error, then an interrupted dump.
         */
        void check(String op) {
            if (errno != 0) {
                throw after(new NetlinkException(op, errno, extAck));
            }
            if (interrupted) {
                throw after(new DumpInterruptedException(op));
            }
            if (failure != null) {
                throw failure;
            }
        }
    }

    /** NLMSGERR_ATTR_MSG of an NLMSG_ERROR message at {@code off}, or "". */
    static String extAck(MemorySegment s, long off) {
        int flags = NlMsgHdr.flags(s, off);
        long err = off + NlMsgHdr.SIZE;
        long tlvs;
        if ((flags & NLM_F_CAPPED) != 0) {
            tlvs = err + NlMsgErr.SIZE;
        } else {
            if (NlMsgHdr.length(s, off) < NlMsgHdr.SIZE + NlMsgErr.SIZE) {
                return "";
            }
            tlvs = err + 4 + Wire.align(NlMsgErr.requestLength(s, err) & 0xffffffffL);
        }
        return tlvMessage(s, off, tlvs);
    }

    private static String tlvMessage(MemorySegment s, long off, long tlvs) {
        if ((NlMsgHdr.flags(s, off) & NLM_F_ACK_TLVS) == 0) {
            return "";
        }
        long end = off + NlMsgHdr.length(s, off);
        if (tlvs >= end) {
            return "";
        }
        return AttrTable.parse(s, tlvs, end, 8, "extended ack").string(NlMsgErr.NLMSGERR_ATTR_MSG, "");
    }
}
