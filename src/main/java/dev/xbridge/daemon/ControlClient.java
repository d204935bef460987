package dev.xbridge.daemon;

import com.fasterxml.jackson.core.type.TypeReference;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Asks a running daemon over its control socket. */
public final class ControlClient {
    private final Path path;

    public ControlClient(Path path) {
        this.path = path;
    }

    /**
     * The default socket of the daemon in the calling process's network
     * namespace: one daemon per namespace, found by the namespace's inode.
     */
    public static Path defaultSocket() {
        try {
            String link = Files.readSymbolicLink(Path.of("/proc/self/ns/net")).toString();
            String inode = link.substring(link.indexOf('[') + 1, link.indexOf(']'));
            return Path.of("/run/xbridge", "netns-" + inode + ".sock");
        } catch (IOException e) {
            throw new IllegalStateException("cannot read /proc/self/ns/net: " + e.getMessage(), e);
        }
    }

    public Status status() {
        return ask("status", new TypeReference<Status>() {});
    }

    public List<FdbRow> fdb() {
        return ask("fdb", new TypeReference<List<FdbRow>>() {});
    }

    private <T> T ask(String request, TypeReference<T> type) {
        if (!Files.exists(path)) {
            throw new NotRunningException("xbridge is not running in this network namespace (no control socket at "
                    + path + "); start it with: xbridge run");
        }
        try (SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            c.connect(UnixDomainSocketAddress.of(path));
            c.write(ByteBuffer.wrap((request + "\n").getBytes(StandardCharsets.UTF_8)));
            c.shutdownOutput();
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
            while (c.read(buf) >= 0) {
                out.write(buf.array(), 0, buf.position());
                buf.clear();
            }
            return ControlServer.JSON.readValue(out.toByteArray(), type);
        } catch (java.net.ConnectException e) {
            throw new NotRunningException("xbridge is not running in this network namespace (stale control socket "
                    + path + ", connection refused); start it with: xbridge run");
        } catch (java.nio.file.AccessDeniedException | SecurityException e) {
            throw new IllegalStateException("permission denied on " + path + ": run as root", e);
        } catch (IOException e) {
            String msg = e.getMessage() == null ? e.toString() : e.getMessage();
            if (msg.contains("Permission denied")) {
                throw new IllegalStateException("permission denied on control socket " + path + ": run as root", e);
            }
            throw new IllegalStateException("control socket " + path + ": " + msg, e);
        }
    }

    /** True when a daemon answers on {@code path}. */
    static boolean answers(Path path) {
        try (SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            c.connect(UnixDomainSocketAddress.of(path));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** No daemon in this namespace. */
    public static final class NotRunningException extends RuntimeException {
        public NotRunningException(String message) {
            super(message);
        }
    }
}
