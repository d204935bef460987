package dev.xbridge.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.xbridge.daemon.ControlClient;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The options of the commands that ask the running daemon: {@code status}, {@code fdb}. */
final class DaemonQuery {
    @Option(names = "--json", description = "Print JSON.")
    boolean json;

    @Option(names = "--bridge", paramLabel = "NAME", description = "Only this bridge.")
    String bridge;

    @Option(names = "--socket", paramLabel = "PATH",
            description = "Control socket of the daemon (default: the daemon of this network namespace).")
    Path socket;

    ControlClient client() {
        return new ControlClient(socket != null ? socket : ControlClient.defaultSocket());
    }

    /** Prints {@code value} as indented JSON. */
    static void printJson(Object value) throws JsonProcessingException {
        System.out.println(StatusCommand.json().writeValueAsString(value));
    }
}
