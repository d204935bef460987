package dev.xbridge.daemon;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.xbridge.bridge.Bridge;
import dev.xbridge.bridge.FdbKey;
import dev.xbridge.bridge.FdbValue;
import dev.xbridge.bridge.KernelState;
import dev.xbridge.netlink.MacAddress;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.logging.Logger;

/**
 * The daemon's control socket: a Unix socket that answers one request per
 * connection ({@code status} or {@code fdb}, one line) with one JSON
 * document. Only root may connect (mode 0600).
 */
public final class ControlServer implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(ControlServer.class.getName());
    static final ObjectMapper JSON = new ObjectMapper();

    private final Path path;
    private final ServerSocketChannel server;
    private final Thread thread;
    private final Daemon daemon;
    private volatile boolean closed;

    private ControlServer(Path path, ServerSocketChannel server, Daemon daemon) {
        this.path = path;
        this.server = server;
        this.daemon = daemon;
        this.thread = Thread.ofPlatform().daemon().name("xbridge-control").start(this::serve);
    }

    /** Binds {@code path}; a leftover socket of a dead daemon is replaced, a live one is an error. */
    static ControlServer start(Path path, Daemon daemon) {
        try {
            Files.createDirectories(path.getParent());
            if (Files.exists(path)) {
                if (ControlClient.answers(path)) {
                    throw new IllegalStateException("another xbridge daemon is running in this network namespace"
                            + " (control socket " + path + " answers); stop it first");
                }
                Files.delete(path);
            }
            ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
            server.bind(UnixDomainSocketAddress.of(path));
            Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rw-------"));
            return new ControlServer(path, server, daemon);
        } catch (IOException e) {
            throw new IllegalStateException("cannot open control socket " + path + ": " + e.getMessage(), e);
        }
    }

    private void serve() {
        while (!closed) {
            try (SocketChannel client = server.accept()) {
                String request = readLine(client);
                if (request.isEmpty()) {
                    continue; // a liveness probe: connect and close
                }
                Object answer = switch (request) {
                    case "status" -> daemon.status();
                    case "fdb" -> fdb();
                    default -> Map.of("error", "unknown request '" + request + "'; expected status or fdb");
                };
                // Streamed, not one byte[]: a million-row answer is ~100 MB of JSON.
                JSON.writeValue(java.nio.channels.Channels.newOutputStream(client), answer);
            } catch (IOException | RuntimeException e) {
                if (!closed) {
                    LOG.warning("control request failed: " + e);
                }
            }
        }
    }

    /**
     * Every entry of the FDB map as a row. Read in batches and decoded in place
     * (Datapath.scanFdb): with 1,000,000 entries, the map copy that
     * {@code fdbEntries()} builds would not fit the daemon's bounded heap next to the rows.
     */
    private List<FdbRow> fdb() {
        KernelState state = daemon.reconciler().state();
        long now = System.nanoTime();
        List<FdbRow> rows = new ArrayList<>();
        daemon.datapath().scanFdb(4096, (keys, values, n) -> {
            for (int i = 0; i < n; i++) {
                long ko = (long) i * FdbKey.SIZE;
                long vo = (long) i * FdbValue.SIZE;
                int bridgeIndex = FdbKey.bridge(keys, ko);
                int portIndex = FdbValue.port(values, vo);
                int flags = FdbValue.flags(values, vo);
                long sampledNanos = values.get(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, vo + FdbValue.SAMPLED_OFFSET);
                String bridge = state.bridge(bridgeIndex).map(Bridge::name).orElse("#" + bridgeIndex);
                String port = portIndex == 0 ? bridge : state.link(portIndex).map(l -> l.name()).orElse("#" + portIndex);
                String kind = FdbRow.kind(flags);
                long sampled = sampledNanos == 0 ? -1 : (now - sampledNanos) / 1_000_000;
                rows.add(new FdbRow(bridge, new MacAddress(FdbKey.macBits(keys, ko)).toString(), FdbKey.vid(keys, ko), port,
                        kind, sampled));
            }
        });
        rows.sort((a, b) -> (a.bridge() + a.mac()).compareTo(b.bridge() + b.mac()));
        return rows;
    }

    /** One request line, or what arrived within {@link #REQUEST_DEADLINE_MILLIS}: a silent client cannot stall status. */
    private static String readLine(SocketChannel c) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(256);
        c.configureBlocking(false);
        try (java.nio.channels.Selector selector = java.nio.channels.Selector.open()) {
            c.register(selector, java.nio.channels.SelectionKey.OP_READ);
            long deadline = System.currentTimeMillis() + REQUEST_DEADLINE_MILLIS;
            while (buf.hasRemaining()) {
                long left = deadline - System.currentTimeMillis();
                if (left <= 0 || selector.select(left) == 0) {
                    break;
                }
                selector.selectedKeys().clear();
                if (c.read(buf) < 0) {
                    break;
                }
                if (buf.position() > 0 && buf.get(buf.position() - 1) == '\n') {
                    break;
                }
            }
        }
        c.configureBlocking(true);
        return new String(buf.array(), 0, buf.position(), StandardCharsets.UTF_8).trim();
    }

    static final long REQUEST_DEADLINE_MILLIS = 2000;

    @Override
    public void close() {
        closed = true;
        try {
            server.close();
        } catch (IOException e) {
            LOG.fine("closing control socket: " + e);
        }
        try {
            thread.join(REQUEST_DEADLINE_MILLIS + 1000); // a request in flight finishes before the maps close
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            Files.deleteIfExists(path);
        } catch (IOException e) {
            LOG.warning("cannot remove control socket " + path + ": " + e.getMessage());
        }
    }
}
