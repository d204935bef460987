package dev.xbridge.testbed;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Throughput between two hosts with iperf3: a one-shot server in one host,
 * a client in the other, the client's {@code -J} report parsed. Bounded in
 * time: a stalled transfer (e.g. TCP over XDP redirect with offloads on,
 * see docs/PLATFORM.md) gives a result with an error instead of hanging.
 */
public final class Iperf {
    public static final int PORT = 5201;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration SERVER_START = Duration.ofSeconds(5);
    /** Past the test itself: connect, then the exchange of results at the end. */
    private static final Duration SLACK = Duration.ofSeconds(10);

    private Iperf() {}

    /**
     * One measurement. {@code error} is null when iperf3 completed; otherwise
     * it says why (iperf3's own error, or a timeout) and the rates are 0.
     *
     * @param bitsPerSecond what the receiver got
     * @param retransmits TCP retransmissions on the sender, 0 for UDP
     * @param lostPercent UDP datagrams lost, 0 for TCP
     * @param json the client's whole report, for the benchmark's record
     */
    public record Result(double bitsPerSecond, long retransmits, double lostPercent, String error, String json) {
        public boolean ok() {
            return error == null;
        }

        public double gigabitsPerSecond() {
            return bitsPerSecond / 1e9;
        }
    }

    /** TCP from {@code client} to {@code server} for {@code duration}. */
    public static Result tcp(Host server, Host client, Duration duration) {
        return run(server, client, duration);
    }

    /** UDP from {@code client} to {@code server} at {@code bitsPerSecond} (iperf3 {@code -b}), with datagrams of {@code length} bytes. */
    public static Result udp(Host server, Host client, Duration duration, long bitsPerSecond, int length) {
        return run(server, client, duration, "-u", "-b", Long.toString(bitsPerSecond), "-l", Integer.toString(length));
    }

    /**
     * A client run with {@code extraClientArgs} added (e.g. {@code "-P", "4"}
     * or {@code "-R"}). The server is started here and killed when done.
     */
    public static Result run(Host server, Host client, Duration duration, String... extraClientArgs) {
        long seconds = Math.max(1, (duration.toMillis() + 999) / 1000);
        Process serverProcess = server.ns().start("iperf3", "-s", "-1", "-B", server.ip(), "-p", Integer.toString(PORT));
        try {
            awaitListening(server, serverProcess);
            List<String> argv = new ArrayList<>(List.of("iperf3", "-c", server.ip(), "-p", Integer.toString(PORT),
                    "-t", Long.toString(seconds), "-J", "--connect-timeout", "3000"));
            argv.addAll(List.of(extraClientArgs));
            Command.Result r;
            try {
                r = client.ns().tryExec(Duration.ofSeconds(seconds).plus(SLACK), argv.toArray(String[]::new));
            } catch (CommandException e) {
                if (!e.timedOut()) {
                    throw e;
                }
                String partial = e.result() == null ? "" : e.result().stdout();
                return new Result(0, 0, 0, "iperf3 did not finish within " + (seconds + SLACK.toSeconds()) + " s", partial);
            }
            return parse(r.stdout(), r.exitCode(), r.stderr());
        } finally {
            Command.kill(serverProcess);
        }
    }

    /** Parses a client's {@code -J} report. */
    static Result parse(String json, int exitCode, String stderr) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            return new Result(0, 0, 0, "iperf3 exited " + exitCode + " without a JSON report: " + stderr.strip(), json);
        }
        if (root == null || !root.isObject()) {
            return new Result(0, 0, 0, "iperf3 exited " + exitCode + " without a JSON report: " + stderr.strip(), json);
        }
        String error = root.path("error").asText(null);
        if (error != null || exitCode != 0) {
            return new Result(0, 0, 0, "iperf3: " + (error != null ? error : "exited " + exitCode), json);
        }
        JsonNode end = root.path("end");
        // TCP has sum_sent/sum_received; UDP has sum (with lost_percent), and since 3.10 the other two as well.
        JsonNode received = end.path("sum_received");
        JsonNode rate = received.isMissingNode() ? end.path("sum") : received;
        return new Result(rate.path("bits_per_second").asDouble(), end.path("sum_sent").path("retransmits").asLong(),
                end.path("sum").path("lost_percent").asDouble(), null, json);
    }

    private static void awaitListening(Host server, Process serverProcess) {
        long end = System.nanoTime() + SERVER_START.toNanos();
        while (System.nanoTime() < end) {
            if (!serverProcess.isAlive()) {
                throw new IllegalStateException("iperf3 server in " + server.ns() + " exited " + serverProcess.exitValue());
            }
            Command.Result ss = server.ns().tryExec("ss", "-Hltn", "sport = :" + PORT);
            if (ss.ok() && !ss.stdout().isBlank()) {
                return;
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted waiting for iperf3 server", e);
            }
        }
        throw new IllegalStateException("iperf3 server in " + server.ns() + " not listening after " + SERVER_START.toMillis() + " ms");
    }
}
