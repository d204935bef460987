package dev.xbridge.netlink;

/** An Ethernet address, held as its 48 bits in transmission order (first octet in bits 47..40). */
public record MacAddress(long bits) {
    public static final MacAddress BROADCAST = new MacAddress(0xffff_ffff_ffffL);

    public MacAddress {
        if ((bits & ~0xffff_ffff_ffffL) != 0) {
            throw new IllegalArgumentException("a MAC address has 48 bits: " + Long.toHexString(bits));
        }
    }

    /** Parses {@code 02:00:00:00:00:01} (also {@code -} as separator, any case). */
    public static MacAddress parse(String text) {
        String[] parts = text.trim().split("[:-]", -1);
        if (parts.length != 6) {
            throw new IllegalArgumentException("not a MAC address (need 6 octets): " + text);
        }
        long bits = 0;
        for (String p : parts) {
            if (p.isEmpty() || p.length() > 2) {
                throw new IllegalArgumentException("not a MAC address (bad octet '" + p + "'): " + text);
            }
            try {
                bits = (bits << 8) | Integer.parseInt(p, 16);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("not a MAC address (bad octet '" + p + "'): " + text, e);
            }
        }
        return new MacAddress(bits);
    }

    public static MacAddress of(byte[] octets) {
        if (octets.length != 6) {
            throw new IllegalArgumentException("a MAC address has 6 octets, got " + octets.length);
        }
        long bits = 0;
        for (byte b : octets) {
            bits = (bits << 8) | (b & 0xff);
        }
        return new MacAddress(bits);
    }

    public byte[] bytes() {
        byte[] b = new byte[6];
        for (int i = 0; i < 6; i++) {
            b[i] = (byte) (bits >>> (40 - 8 * i));
        }
        return b;
    }

    /** The I/G bit of the first octet: group (multicast or broadcast) address. */
    public boolean isMulticast() {
        return (bits & 0x0100_0000_0000L) != 0;
    }

    public boolean isBroadcast() {
        return bits == 0xffff_ffff_ffffL;
    }

    /** 01:80:c2:00:00:00..0f, the IEEE 802.1D reserved group addresses the bridge never forwards by default (STP, LACP, ...). */
    public boolean isLinkLocal() {
        return (bits & ~0xfL) == 0x0180_c200_0000L;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(17);
        for (int i = 0; i < 6; i++) {
            if (i > 0) {
                sb.append(':');
            }
            int octet = (int) (bits >>> (40 - 8 * i)) & 0xff;
            sb.append(Character.forDigit(octet >> 4, 16)).append(Character.forDigit(octet & 0xf, 16));
        }
        return sb.toString();
    }
}
