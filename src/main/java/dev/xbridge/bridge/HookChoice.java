package dev.xbridge.bridge;

import java.util.Locale;

/** What an operator asks for a port or a bridge ({@code --hook NAME=CHOICE}). */
public enum HookChoice {
    /** xbridge decides per port: native XDP where frames arrive finished, TC elsewhere. */
    AUTO,
    /** Native XDP, even where the peer's offloads make it lose frames (warned). */
    XDP,
    /** TC ingress: exact with any offloads and MTU. */
    TC,
    /** Leave the port to the kernel bridge; it still receives fast-pathed frames from other ports. */
    OFF;

    public String key() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses {@code auto}, {@code xdp}, {@code tc} or {@code off}, with an error that lists them. */
    public static HookChoice parse(String s) {
        for (HookChoice c : values()) {
            if (c.key().equals(s.trim().toLowerCase(Locale.ROOT))) {
                return c;
            }
        }
        throw new IllegalArgumentException("unknown hook '" + s + "': use auto, xdp, tc or off");
    }
}
