package dev.xbridge.testbed;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** What {@code ping} counted: echo requests sent and replies received. */
public record PingResult(int transmitted, int received) {
    // "3 packets transmitted, 3 received, 0% packet loss" (iputils); "+N errors" may follow "received".
    private static final Pattern SUMMARY = Pattern.compile("(\\d+) packets transmitted, (\\d+) (?:packets )?received");

    public int lost() {
        return transmitted - received;
    }

    public boolean allReceived() {
        return transmitted > 0 && received == transmitted;
    }

    /** Parses ping's summary line; throws if there is none. */
    public static PingResult parse(String pingOutput) {
        Matcher m = SUMMARY.matcher(pingOutput);
        if (!m.find()) {
            throw new IllegalArgumentException("no ping summary in: " + pingOutput.strip());
        }
        return new PingResult(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)));
    }
}
