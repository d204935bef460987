package dev.xbridge.bpf;

/**
 * Output of BPF_PROG_RUN.
 *
 * @param retval        the program's return value (an XDP verdict for XDP; 0 for live-frame runs)
 * @param dataOut       the frame after the program, or an empty array when none was requested
 * @param contextOut    the context after the run, or null when none was passed in
 * @param durationNanos mean nanoseconds per repetition, as the kernel measured it
 */
public record RunResult(int retval, byte[] dataOut, byte[] contextOut, long durationNanos) {}
