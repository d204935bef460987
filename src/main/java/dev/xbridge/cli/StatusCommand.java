package dev.xbridge.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.xbridge.daemon.Status;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code xbridge status}: bridges, ports, hooks and counters of the running daemon. */
@Command(name = "status", mixinStandardHelpOptions = true,
        description = "Show bridges, ports, hook and mode, fast/slow path counters, and why a port is not accelerated.")
final class StatusCommand implements Callable<Integer> {
    /**
     * Indented JSON for --json. In a holder, so that picocli's instantiating every subcommand
     * does not set up Jackson (some 370 classes) for commands that print no JSON: a quarter
     * of a CLI start under TCG, where one takes 25 s.
     */
    static ObjectMapper json() {
        return Json.MAPPER;
    }

    private static final class Json {
        static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    }

    @Mixin
    DaemonQuery query;

    @Override
    public Integer call() throws Exception {
        Status status = query.client().status();
        if (query.bridge != null) {
            List<Status.BridgeStatus> only = status.bridges().stream().filter(b -> b.name().equals(query.bridge)).toList();
            if (only.isEmpty()) {
                throw new IllegalArgumentException("no bridge named '" + query.bridge + "'; bridges: "
                        + status.bridges().stream().map(Status.BridgeStatus::name).collect(Collectors.joining(", ")));
            }
            status = status.withBridges(only);
        }
        if (query.json) {
            DaemonQuery.printJson(status);
            return 0;
        }
        System.out.println("xbridge daemon pid " + status.pid() + ", up since " + status.started() + "; "
                + status.events() + " kernel events, " + status.resyncs() + " resyncs"
                + (status.fdbRepairs() == 0 ? "" : ", " + status.fdbRepairs() + " FDB repairs (" + status.fdbRepairWrites()
                        + " entries written)"));
        if (status.datapath() != null) {
            System.out.println(status.datapath().describe());
        }
        for (Status.BridgeStatus b : status.bridges()) {
            System.out.println();
            System.out.println("bridge " + b.name() + (b.up() ? " (up" : " (down") + ", ageing " + b.ageingSeconds() + " s)");
            Table t = new Table("PORT", "STATE", "HOOK", "MODE", "FAST", "COPIED", "SLOW", "DROP", "EGRESS", "REASON");
            for (Status.PortStatus p : b.ports()) {
                t.row(p.name(), p.state(), p.hook(), p.mode().isEmpty() ? "-" : p.mode(), p.fastPackets(),
                        p.flowCopies(), p.slowPackets(), p.droppedPackets(), p.egress() ? "yes" : "no",
                        p.reason());
            }
            System.out.print(t.toString().indent(2));
            for (Status.PortStatus p : b.ports()) {
                if (p.vlans() != null) {
                    System.out.println("  " + p.name() + " VLANs: " + p.vlans());
                }
            }
            for (Status.PortStatus p : b.ports()) {
                if (!p.passed().isEmpty()) {
                    System.out.println("  " + p.name() + " slow path: " + format(p.passed()));
                }
            }
        }
        return 0;
    }

    private static String format(Map<String, Long> passed) {
        return passed.entrySet().stream()
                .map(e -> e.getKey().replaceFirst("^pass_", "") + "=" + e.getValue())
                .collect(Collectors.joining(" "));
    }
}
