package dev.xbridge.testbed;

import java.util.List;

/**
 * An external program that failed, timed out or could not start. The message
 * names the command line, the exit code and the program's stderr, e.g.
 * {@code "ip link add name p1 type veth peer name eth0: exited 2: RTNETLINK answers: File exists"}.
 */
public final class CommandException extends RuntimeException {
    private final List<String> argv;
    private final Command.Result result;
    private final boolean timedOut;

    CommandException(List<String> argv, String what, Command.Result result, boolean timedOut, Throwable cause) {
        super(message(argv, what, result), cause);
        this.argv = List.copyOf(argv);
        this.result = result;
        this.timedOut = timedOut;
    }

    private static String message(List<String> argv, String what, Command.Result result) {
        StringBuilder sb = new StringBuilder(Command.describe(argv)).append(": ").append(what);
        if (result != null) {
            String err = result.stderr().strip();
            // Some tools (ping, iperf3 -J) report errors on stdout.
            String shown = err.isEmpty() ? result.stdout().strip() : err;
            if (!shown.isEmpty()) {
                sb.append(": ").append(shown.length() > 2000 ? shown.substring(0, 2000) + "..." : shown);
            }
        }
        return sb.toString();
    }

    public List<String> argv() {
        return argv;
    }

    /** What the program left, or null if it never ran. After a timeout, its output so far and exit code -1. */
    public Command.Result result() {
        return result;
    }

    public boolean timedOut() {
        return timedOut;
    }
}
