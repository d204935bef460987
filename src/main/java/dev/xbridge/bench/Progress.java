package dev.xbridge.bench;

import java.io.PrintStream;
import java.util.Locale;

/**
 * A one-line progress bar on stderr ({@code [#####-----] 12/40 2m10s  what now}), redrawn in
 * place. Off when stderr is not a terminal unless forced, so logs and tests stay clean.
 */
public final class Progress {
    private static final int WIDTH = 30;
    private final PrintStream out;
    private final boolean enabled;
    private long total = 1;
    private long done;
    private long started = System.nanoTime();
    private String what = "";

    public Progress(PrintStream out, boolean enabled) {
        this.out = out;
        this.enabled = enabled;
    }

    public static Progress none() {
        return new Progress(System.err, false);
    }

    /** Enabled when the JVM has an interactive terminal. */
    public static Progress onTerminal() {
        java.io.Console c = System.console();
        return new Progress(System.err, c != null && c.isTerminal());
    }

    synchronized void start(long steps) {
        total = Math.max(1, steps);
        done = 0;
        started = System.nanoTime();
        draw();
    }

    synchronized void step(long n) {
        done = Math.min(total, done + n);
        draw();
    }

    synchronized void status(String s) {
        what = s;
        draw();
    }

    synchronized void done() {
        if (enabled) {
            out.print("\r\033[K");
            out.flush();
        }
    }

    /** The line as drawn, for tests. */
    synchronized String line() {
        int filled = (int) (WIDTH * done / total);
        long secs = (System.nanoTime() - started) / 1_000_000_000L;
        return String.format(Locale.ROOT, "[%s%s] %d/%d %dm%02ds  %s", "#".repeat(filled), "-".repeat(WIDTH - filled),
                done, total, secs / 60, secs % 60, what);
    }

    private void draw() {
        if (!enabled) {
            return;
        }
        String l = line();
        out.print("\r\033[K" + (l.length() > 150 ? l.substring(0, 150) : l));
        out.flush();
    }
}
