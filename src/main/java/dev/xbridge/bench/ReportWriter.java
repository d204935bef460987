package dev.xbridge.bench;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;


/** The {@link Report} as a human table, as JSON, and as an SVG bar chart. */
public final class ReportWriter {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final String[] COLORS = {"#8c8c8c", "#2f6fbf", "#3fa34d", "#d98a1c", "#b5651d"};

    private ReportWriter() {}

    public static String json(Report r) {
        try {
            return JSON.writeValueAsString(r);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write the report as JSON: " + e.getMessage(), e);
        }
    }

    public static String table(Report r) {
        StringBuilder sb = new StringBuilder();
        Report.Environment e = r.environment();
        sb.append(String.format(Locale.ROOT, "xbridge bench (%s): kernel %s, %d CPUs, %d trials of %.1f s, bridge-nf-call-* %s%n",
                e.preset(), e.kernel(), e.cpus(), e.trials(), e.trialSeconds(), e.bridgeNf() ? "on" : "off"));
        e.pinning().forEach((role, where) -> sb.append("  ").append(role).append(": ").append(where).append('\n'));
        sb.append('\n');
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"SCENARIO", "FDB", "PATH", "Mpps min/med/max", "Gbit/s", "OFFERED", "LOSS%", "GEN CPU%", "xKERNEL med/best", "%BARE med/best", "NS/FRAME med/best", "IN TRAFFIC ns", "COPIED%"});
        for (Report.ScenarioResult s : r.scenarios()) {
            boolean first = true;
            for (Report.PathResult p : s.paths()) {
                String name = first ? s.name() : "";
                String fdb = first ? Scenario.count(s.fdbEntries()) : "";
                first = false;
                if (!p.ok()) {
                    rows.add(new String[] {name, fdb, p.path(), p.status()});
                    continue;
                }
                rows.add(new String[] {name, fdb, p.path(),
                        f3(p.mpps().min()) + " / " + f3(p.mpps().median()) + " / " + f3(p.mpps().max()),
                        f2(p.gbps().median()), f3(p.offeredMpps().median()), f1(p.lossPercent().median()),
                        p.generatorBusyPercent() == null || p.generatorBusyPercent().n() == 0 ? "-"
                                : String.format(Locale.ROOT, "%.0f", p.generatorBusyPercent().median()),
                        p.vsKernel() == null ? "-" : f2(p.vsKernel()) + " / " + orDash(p.vsKernelBest(), ReportWriter::f2),
                        p.vsBare() == null ? "-" : percent(p.vsBare()) + " / " + orDash(p.vsBareBest(), ReportWriter::percent),
                        p.programNs() == null || p.programNs().n() == 0 ? "-"
                                : String.format(Locale.ROOT, "%.0f / %.0f", p.programNs().median(), p.programNs().min()),
                        p.trafficNs() == null || p.trafficNs().n() == 0 ? "-"
                                : String.format(Locale.ROOT, "%.0f / %.0f%s", p.trafficNs().median(), p.trafficNs().min(),
                                        "bench_inject".equals(p.trafficProgram()) ? " *" : ""),
                        p.copiedPercent() == null || p.copiedPercent().n() == 0 ? "-"
                                : String.format(Locale.ROOT, "%.3f", p.copiedPercent().median())});
            }
        }
        sb.append(align(rows));
        sb.append("  %BARE: of the bare redirect at the same hook (bare tc redirect for xbridge tc, bare redirect for the rest)\n");
        sb.append("  med/best: of medians / of best trials (a slow spell of the host only ever lowers a trial); NS/FRAME best is the least\n");
        sb.append("  NS/FRAME: BPF_PROG_RUN of one frame, repeated; IN TRAFFIC: the kernel's timing of the program in the scenario's traffic\n");
        sb.append("    (BPF_ENABLE_STATS, one more trial a round, not counted in Mpps), med / least; injected at p1, an XDP forwarder\n");
        sb.append("    runs as the generator's tail call, and the figure (*) is bench_inject's with the forwarder in it\n");
        sb.append("  COPIED%: frames whose forwarding decision was not in the daemon's flow cache and was copied there, median of trials (near 0: every flow stayed cached)\n");
        if (!r.tcp().isEmpty()) {
            sb.append("\nTCP (iperf3, default offloads)\n");
            List<String[]> t = new ArrayList<>();
            t.add(new String[] {"PATH", "Gbit/s min/med/max", "RETRANSMITS"});
            for (Report.TcpResult x : r.tcp()) {
                t.add(x.status().equals("ok")
                        ? new String[] {x.path(), f2(x.gbps().min()) + " / " + f2(x.gbps().median()) + " / " + f2(x.gbps().max()),
                                Long.toString(x.retransmits())}
                        : new String[] {x.path(), x.status()});
            }
            sb.append(align(t));
        }
        Report.ControlPlaneResult c = r.controlPlane();
        if (c != null) {
            sb.append("\nControl plane\n");
            sb.append(String.format(Locale.ROOT, "  fdb change -> datapath map (%d add + %d del): p50 %s, p99 %s, max %s%n",
                    c.changes(), c.changes(), us(c.allP50Micros()), us(c.allP99Micros()), us(c.allMaxMicros())));
            sb.append(String.format(Locale.ROOT, "    add p50 %s p99 %s; del p50 %s p99 %s%n", us(c.addP50Micros()),
                    us(c.addP99Micros()), us(c.delP50Micros()), us(c.delP99Micros())));
            sb.append(String.format(Locale.ROOT, "  sync of %s entries at start: %.3f s (median ready after %.2f s, %.2f s with an empty FDB; %d starts each)%n",
                    Scenario.count(c.syncEntries()), c.syncSeconds(), c.readyWithEntriesSeconds(), c.readyEmptySeconds(),
                    ControlPlane.STARTS));
            if (c.rssBytes() != null) {
                sb.append(String.format(Locale.ROOT, "  daemon RSS with %s entries: %.0f MB (ready after %.1f s)%n",
                        Scenario.count(c.rssEntries()), c.rssBytes() / 1048576.0, c.readyLargeSeconds()));
            }
            sb.append(String.format(Locale.ROOT, "  daemon CPU idle: %.2f%% of a core%s; under %.0f FDB changes/s: %.1f%%%n",
                    c.idleCpuPercent(), c.idleCpuPercentLarge() == null ? ""
                            : String.format(Locale.ROOT, " (%.2f%% with %s entries)", c.idleCpuPercentLarge(),
                                    Scenario.count(c.rssEntries())), c.churnChangesPerSecond(), c.churnCpuPercent()));
            sb.append("  measured by: ").append(c.method()).append('\n');
        }
        for (String n : r.notes()) {
            sb.append("note: ").append(n).append('\n');
        }
        return sb.toString();
    }

    /**
     * Horizontal bars, one group per scenario, one bar per measured path: the median Mpps,
     * with a whisker from min to max and the value written after it.
     */
    public static String svg(Report r) {
        int bar = 16;
        int gap = 4;
        int groupGap = 18;
        int left = 220;
        int width = 900;
        int plot = width - left - 90;
        double max = r.scenarios().stream().flatMap(s -> s.paths().stream()).filter(Report.PathResult::ok)
                .mapToDouble(p -> p.mpps().max()).max().orElse(1);
        max = niceCeiling(max);
        StringBuilder body = new StringBuilder();
        int y = 50;
        for (Report.ScenarioResult s : r.scenarios()) {
            List<Report.PathResult> ok = s.paths().stream().filter(Report.PathResult::ok).toList();
            if (ok.isEmpty()) {
                continue;
            }
            int groupHeight = ok.size() * (bar + gap);
            body.append(text(10, y + groupHeight / 2 + 4, s.name() + " (fdb " + Scenario.count(s.fdbEntries()) + ")", "start", 12));
            for (Report.PathResult p : ok) {
                int color = PathKind.valueOf(Bench.kindOf(p.path())).ordinal();
                double w = plot * p.mpps().median() / max;
                body.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"><title>%s: %.3f Mpps</title></rect>%n",
                        left, y, w, bar, COLORS[color], esc(p.path()), p.mpps().median()));
                double x0 = left + plot * p.mpps().min() / max;
                double x1 = left + plot * p.mpps().max() / max;
                body.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" stroke=\"#000\"/>%n",
                        x0, x1, y + bar / 2, y + bar / 2));
                body.append(text((int) (left + Math.max(w, x1 - left)) + 6, y + bar - 3, String.format(Locale.ROOT, "%.2f", p.mpps().median()), "start", 11));
                y += bar + gap;
            }
            y += groupGap;
        }
        StringBuilder sb = new StringBuilder();
        int height = y + 30;
        sb.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\">%n",
                width, height, width, height));
        sb.append("<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n");
        sb.append(text(10, 20, "xbridge bench: received Mpps, median of " + r.environment().trials()
                + " trials (line: min to max), kernel " + r.environment().kernel(), "start", 14));
        int lx = left;
        for (PathKind k : PathKind.values()) {
            sb.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"28\" width=\"12\" height=\"12\" fill=\"%s\"/>%n", lx, COLORS[k.ordinal()]));
            sb.append(text(lx + 16, 38, k.label(), "start", 11));
            lx += 130;
        }
        for (int i = 0; i <= 4; i++) {
            double v = max * i / 4;
            double x = left + plot * i / 4.0;
            sb.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"46\" y2=\"%d\" stroke=\"#ddd\"/>%n", x, x, y));
            sb.append(text((int) x, y + 16, String.format(Locale.ROOT, "%.2f", v), "middle", 11));
        }
        sb.append(body);
        sb.append("</svg>\n");
        return sb.toString();
    }

    static double niceCeiling(double v) {
        if (v <= 0) {
            return 1;
        }
        double p = Math.pow(10, Math.floor(Math.log10(v)));
        for (double m : new double[] {1, 2, 2.5, 5, 10}) {
            if (m * p >= v) {
                return m * p;
            }
        }
        return 10 * p;
    }

    private static String text(int x, int y, String s, String anchor, int size) {
        return String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"%s\" font-size=\"%d\">%s</text>%n", x, y, anchor, size, esc(s));
    }

    static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }

    private static String align(List<String[]> rows) {
        int cols = rows.stream().mapToInt(a -> a.length).max().orElse(0);
        int[] w = new int[cols];
        for (String[] row : rows) {
            // a short row (a status message) spans to the end and does not widen columns
            if (row.length < cols) {
                continue;
            }
            for (int i = 0; i < row.length; i++) {
                w[i] = Math.max(w[i], row[i].length());
            }
        }
        StringBuilder sb = new StringBuilder();
        for (String[] row : rows) {
            StringBuilder line = new StringBuilder("  ");
            for (int i = 0; i < row.length; i++) {
                line.append(i == row.length - 1 ? row[i] : String.format("%-" + w[i] + "s  ", row[i]));
            }
            sb.append(line.toString().stripTrailing()).append('\n');
        }
        return sb.toString();
    }

    private static String us(Double micros) {
        if (micros == null) {
            return "-";
        }
        return micros >= 1000 ? String.format(Locale.ROOT, "%.2f ms", micros / 1000) : String.format(Locale.ROOT, "%.0f us", micros);
    }

    private static String percent(double share) {
        return String.format(Locale.ROOT, "%.0f%%", 100 * share);
    }

    private static String orDash(Double v, java.util.function.DoubleFunction<String> format) {
        return v == null ? "-" : format.apply(v);
    }

    private static String f1(double v) {
        return String.format(Locale.ROOT, "%.1f", v);
    }

    private static String f2(double v) {
        return String.format(Locale.ROOT, "%.2f", v);
    }

    private static String f3(double v) {
        return String.format(Locale.ROOT, "%.3f", v);
    }

}
