package dev.xbridge.cli;

import dev.xbridge.daemon.FdbRow;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code xbridge fdb}: the FDB as the fast path sees it (compare with {@code bridge fdb show}). */
@Command(name = "fdb", mixinStandardHelpOptions = true,
        description = "Show the FDB entries mirrored into the datapath.")
final class FdbCommand implements Callable<Integer> {
    @Mixin
    DaemonQuery query;

    @Override
    public Integer call() throws Exception {
        List<FdbRow> rows = query.client().fdb();
        if (query.bridge != null) {
            rows = rows.stream().filter(r -> r.bridge().equals(query.bridge)).toList();
        }
        if (query.json) {
            DaemonQuery.printJson(rows);
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
