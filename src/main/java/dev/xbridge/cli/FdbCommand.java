package dev.xbridge.cli;

import dev.xbridge.daemon.ControlClient;
import dev.xbridge.daemon.FdbRow;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code xbridge fdb}: the FDB as the fast path sees it (compare with {@code bridge fdb show}). */
@Command(name = "fdb", mixinStandardHelpOptions = true,
        description = "Show the FDB entries mirrored into the datapath.")
final class FdbCommand implements Callable<Integer> {
    @Option(names = "--json", description = "Print JSON.")
    boolean json;

    @Option(names = "--bridge", paramLabel = "NAME", description = "Only this bridge.")
    String bridge;

    @Option(names = "--socket", paramLabel = "PATH", description = "Control socket of the daemon.")
    Path socket;

    @Override
    public Integer call() throws Exception {
        List<FdbRow> rows = new ControlClient(socket != null ? socket : ControlClient.defaultSocket()).fdb();
        if (bridge != null) {
            rows = rows.stream().filter(r -> r.bridge().equals(bridge)).toList();
        }
        if (json) {
            System.out.println(StatusCommand.JSON.writeValueAsString(rows));
            return 0;
        }
        Table t = new Table("BRIDGE", "MAC", "VLAN", "PORT", "KIND", "AGING SAMPLE");
        for (FdbRow r : rows) {
            t.row(r.bridge(), r.mac(), r.vlan() == 0 ? "-" : r.vlan(), r.port(), r.kind(),
                    r.sampledMillisAgo() < 0 ? "never" : r.sampledMillisAgo() + " ms ago");
        }
        System.out.print(t);
        return 0;
    }
}
