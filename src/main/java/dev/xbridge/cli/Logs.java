package dev.xbridge.cli;

import java.time.LocalTime;
import java.time.format.DateTimeFormatter;
import java.util.logging.ConsoleHandler;
import java.util.logging.Formatter;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/** One-line log records on stderr: {@code 12:00:01.234 INFO attached XDP to p1}. */
final class Logs {
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("HH:mm:ss.SSS");

    private Logs() {}

    static void configure(boolean verbose) {
        Logger root = Logger.getLogger("");
        for (var h : root.getHandlers()) {
            root.removeHandler(h);
        }
        ConsoleHandler handler = new ConsoleHandler();
        handler.setFormatter(new Formatter() {
            @Override
            public String format(LogRecord r) {
                return LocalTime.now().format(TIME) + " " + r.getLevel().getName() + " " + formatMessage(r)
                        + System.lineSeparator();
            }
        });
        Level level = verbose ? Level.FINE : Level.WARNING;
        handler.setLevel(level);
        root.addHandler(handler);
        root.setLevel(level);
        Logger.getLogger("dev.xbridge").setLevel(verbose ? Level.FINE : Level.INFO);
        handler.setLevel(verbose ? Level.FINE : Level.INFO);
    }
}
