package dev.xbridge.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of {@code ./xbridge}. */
@Command(name = "xbridge", mixinStandardHelpOptions = true, version = "xbridge 0.1.0",
        description = "Transparent eBPF fast path for the Linux bridge.",
        subcommands = {RunCommand.class, StatusCommand.class, FdbCommand.class, DoctorCommand.class,
                DemoCommand.class, BenchCommand.class, CheckCommand.class, CommandLine.HelpCommand.class})
public final class Main {
    /** Exit code when no daemon runs in this namespace. */
    public static final int EXIT_NOT_RUNNING = 3;

    public static void main(String[] args) {
        Logs.configure(false);
        CommandLine cli = new CommandLine(new Main());
        cli.setExecutionExceptionHandler((ex, cmd, parse) -> {
            cmd.getErr().println("xbridge " + cmd.getCommandName() + ": " + message(ex));
            if (System.getenv("XBRIDGE_DEBUG") != null) {
                ex.printStackTrace(cmd.getErr());
            }
            return ex instanceof dev.xbridge.daemon.ControlClient.NotRunningException ? EXIT_NOT_RUNNING : 1;
        });
        System.exit(cli.execute(args));
    }

    static String message(Throwable t) {
        return t.getMessage() == null ? t.toString() : t.getMessage();
    }
}
