package dev.xbridge.netlink;

import dev.xbridge.sys.Errno;
import dev.xbridge.sys.Socket;
import dev.xbridge.sys.SysException;
import java.time.Duration;

/**
 * Listens to NFNLGRP_NFTABLES (nfnetlink, linux/netfilter/nfnetlink.h) in the network namespace
 * of the thread that opened it: nf_tables announces every committed ruleset change there
 * (tables, chains, rules, and a NFT_MSG_NEWGEN per transaction), whether made by nft or by
 * iptables-nft. Legacy x_tables and sysctls announce nothing; callers still poll for those.
 * Only "something changed" matters here, so messages are counted, not decoded.
 */
public final class NftMonitor implements AutoCloseable {
    /** enum nfnetlink_groups: NFNLGRP_NONE, NEWCONNTRACK, CONNTRACK_UPDATE, DESTROY, EXP_NEW, EXP_UPDATE, EXP_DESTROY, NFTABLES */
    static final int NFNLGRP_NFTABLES = 7;

    private final NetlinkSocket socket;

    private NftMonitor(NetlinkSocket socket) {
        this.socket = socket;
    }

    public static NftMonitor open() {
        NetlinkSocket socket = NetlinkSocket.open(NetlinkSocket.NETLINK_NETFILTER);
        try {
            socket.receiveBuffer(1024 * 1024);
            socket.join(NFNLGRP_NFTABLES, "NFNLGRP_NFTABLES");
            return new NftMonitor(socket);
        } catch (RuntimeException e) {
            socket.close();
            throw e;
        }
    }

    /**
     * Waits up to {@code timeout} for a ruleset change and drains every queued notification.
     * True when at least one arrived (an overrun counts: changes were made).
     */
    public boolean awaitChange(Duration timeout) {
        int revents = Socket.poll(socket.fd(), Socket.POLLIN, (int) Math.max(0, Math.min(timeout.toMillis(),
                Integer.MAX_VALUE)));
        if (revents == 0 || revents == -Errno.EINTR.code()) {
            return false;
        }
        if (revents < 0) {
            throw new SysException("poll nfnetlink monitor fd " + socket.fd(), -revents);
        }
        return socket.drain("nfnetlink monitor") > 0;
    }

    @Override
    public void close() {
        socket.close();
    }
}
