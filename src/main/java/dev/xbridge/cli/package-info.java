/** The {@code xbridge} command line: picocli subcommands with human tables and {@code --json}. */
package dev.xbridge.cli;
