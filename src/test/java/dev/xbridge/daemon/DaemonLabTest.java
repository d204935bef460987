package dev.xbridge.daemon;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.xbridge.testbed.BridgeLab;
import dev.xbridge.testbed.DaemonProcess;
import dev.xbridge.testing.Requires;
import java.time.Duration;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/** What the end-to-end daemon tests share: a lab, the daemon in its switch namespace, and ways to wait on both. */
abstract class DaemonLabTest {
    static final ObjectMapper JSON = new ObjectMapper();

    BridgeLab lab;
    DaemonProcess daemon;

    @BeforeEach
    void requireRoot() {
        Requires.root();
    }

    @AfterEach
    void cleanUp() {
        if (daemon != null) {
            daemon.close();
        }
        if (lab != null) {
            lab.close();
        }
    }

    Status.PortStatus port(String name) {
        return daemon.status().bridges().stream().flatMap(b -> b.ports().stream())
                .filter(p -> p.name().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("status has no port " + name + ": " + daemon.status()));
    }

    static void await(String what, Duration timeout, BooleanSupplier condition) {
        long end = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > end) {
                throw new AssertionError("timed out after " + timeout.toMillis() + " ms waiting for " + what);
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
    }

    /** {@code count} pings from {@code from} to the address {@code to}, 10 ms apart; loss is a result. */
    static dev.xbridge.testbed.PingResult ping(dev.xbridge.testbed.Host from, String to, int count) {
        var r = from.ns().tryExec(Duration.ofSeconds(30), "ping", "-q", "-n", "-c", Integer.toString(count), "-i",
                "0.01", "-W", "1", to);
        return dev.xbridge.testbed.PingResult.parse(r.stdout());
    }

    /**
     * Seconds since the kernel bridge last forwarded a frame to {@code mac} ({@code bridge -s fdb}:
     * used): br_handle_frame_finish() sets it on every frame it forwards there, and nothing else does.
     */
    long usedSecondsAgo(String mac) {
        try {
            com.fasterxml.jackson.databind.JsonNode entries = JSON.readTree(lab.switchNs()
                    .exec("bridge", "-s", "-j", "fdb", "show", "br", lab.bridge()).stdout());
            for (com.fasterxml.jackson.databind.JsonNode e : entries) {
                if (e.path("mac").asText().equalsIgnoreCase(mac) && e.has("master") && e.has("used")) {
                    return e.path("used").asLong();
                }
            }
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new AssertionError(e);
        }
        throw new AssertionError("no FDB entry for " + mac);
    }

    /** Waits until the daemon mirrors {@code mac} behind {@code port}. */
    void awaitMirrored(String mac, String port) {
        await(mac + " mirrored on " + port, Duration.ofSeconds(10),
                () -> daemon.fdb().stream().anyMatch(r -> r.mac().equals(mac) && r.port().equals(port)));
    }
}
