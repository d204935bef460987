package dev.xbridge.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

/**
 * Device offload switches and driver name through the legacy SIOCETHTOOL ioctl
 * (linux/ethtool.h): {@code struct ifreq} whose ifr_data points at {@code struct ethtool_value
 * {u32 cmd; u32 data;}} or {@code struct ethtool_drvinfo}.
 *
 * <p>The ioctl acts on the device of that name in the namespace of the socket it is issued
 * on. The overloads without a socket open an AF_INET datagram socket in the calling thread's
 * namespace; the ones taking {@code fd} reuse a socket opened elsewhere (e.g. on a
 * {@link NetNamespace} thread).
 */
public final class Ethtool {
    /** linux/sockios.h */
    static final long SIOCETHTOOL = 0x8946;
    static final int ETHTOOL_GDRVINFO = 0x3;
    /** struct ifreq: char ifr_name[IFNAMSIZ]; then a union holding void *ifr_data; 40 bytes on x86-64. */
    static final int IFREQ_SIZE = 40;
    static final int IFNAMSIZ = 16;
    static final int IFREQ_DATA_OFFSET = 16;
    /** struct ethtool_value */
    static final int VALUE_CMD_OFFSET = 0;
    static final int VALUE_DATA_OFFSET = 4;
    static final int VALUE_SIZE = 8;
    /** struct ethtool_drvinfo: u32 cmd; char driver[32]; char version[32]; ... 196 bytes. */
    static final int DRVINFO_DRIVER_OFFSET = 4;
    static final int DRVINFO_DRIVER_SIZE = 32;
    static final int DRVINFO_SIZE = 196;

    /** An offload switch with its ETHTOOL_G* / ETHTOOL_S* command numbers. */
    public enum Feature {
        /** All tx checksum offloads (NETIF_F_CSUM_MASK), "tx-checksumming" in {@code ethtool -k}. */
        TX_CHECKSUM(0x16, 0x17, "tx-checksumming"),
        SG(0x18, 0x19, "scatter-gather"),
        TSO(0x1e, 0x1f, "tcp-segmentation-offload"),
        GSO(0x23, 0x24, "generic-segmentation-offload"),
        GRO(0x2b, 0x2c, "generic-receive-offload");

        final int getCmd;
        final int setCmd;
        private final String ethtoolName;

        Feature(int getCmd, int setCmd, String ethtoolName) {
            this.getCmd = getCmd;
            this.setCmd = setCmd;
            this.ethtoolName = ethtoolName;
        }

        /** The name {@code ethtool -k} prints for it. */
        public String ethtoolName() {
            return ethtoolName;
        }
    }

    private Ethtool() {}

    public static String driver(String ifname) {
        int fd = openSocket();
        try {
            return driver(fd, ifname);
        } finally {
            Libc.close(fd);
        }
    }

    /** ETHTOOL_GDRVINFO's driver name, e.g. "veth". */
    public static String driver(int fd, String ifname) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment info = arena.allocate(DRVINFO_SIZE, 8);
            info.set(ValueLayout.JAVA_INT, 0, ETHTOOL_GDRVINFO);
            ioctl(fd, ifname, info, arena, "ETHTOOL_GDRVINFO");
            byte[] name = info.asSlice(DRVINFO_DRIVER_OFFSET, DRVINFO_DRIVER_SIZE).toArray(ValueLayout.JAVA_BYTE);
            int n = 0;
            while (n < name.length && name[n] != 0) {
                n++;
            }
            return new String(name, 0, n, StandardCharsets.US_ASCII);
        }
    }

    public static boolean get(String ifname, Feature f) {
        int fd = openSocket();
        try {
            return get(fd, ifname, f);
        } finally {
            Libc.close(fd);
        }
    }

    public static boolean get(int fd, String ifname, Feature f) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment value = arena.allocate(VALUE_SIZE, 4);
            value.set(ValueLayout.JAVA_INT, VALUE_CMD_OFFSET, f.getCmd);
            ioctl(fd, ifname, value, arena, "get " + f);
            return value.get(ValueLayout.JAVA_INT, VALUE_DATA_OFFSET) != 0;
        }
    }

    public static void set(String ifname, Feature f, boolean on) {
        int fd = openSocket();
        try {
            set(fd, ifname, f, on);
        } finally {
            Libc.close(fd);
        }
    }

    /**
     * Switches one offload. The kernel may adjust dependent features (netdev_fix_features: e.g.
     * TSO needs tx checksum and SG), so read back what you depend on.
     */
    public static void set(int fd, String ifname, Feature f, boolean on) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment value = arena.allocate(VALUE_SIZE, 4);
            value.set(ValueLayout.JAVA_INT, VALUE_CMD_OFFSET, f.setCmd);
            value.set(ValueLayout.JAVA_INT, VALUE_DATA_OFFSET, on ? 1 : 0);
            ioctl(fd, ifname, value, arena, "set " + f + "=" + (on ? "on" : "off"));
        }
    }

    /** An AF_INET datagram socket in the calling thread's namespace, for these ioctls. */
    public static int openSocket() {
        return Libc.socket(Socket.AF_INET, Socket.SOCK_DGRAM | Socket.SOCK_CLOEXEC, 0);
    }

    private static void ioctl(int fd, String ifname, MemorySegment data, Arena arena, String what) {
        byte[] name = ifname.getBytes(StandardCharsets.US_ASCII);
        if (name.length >= IFNAMSIZ || name.length == 0) {
            throw new IllegalArgumentException("not an interface name (1..15 bytes): '" + ifname + "'");
        }
        MemorySegment ifr = arena.allocate(IFREQ_SIZE, 8);
        MemorySegment.copy(name, 0, ifr, ValueLayout.JAVA_BYTE, 0, name.length);
        ifr.set(ValueLayout.ADDRESS, IFREQ_DATA_OFFSET, data);
        int err = Libc.ioctl(fd, SIOCETHTOOL, ifr);
        if (err != 0) {
            throw new SysException("SIOCETHTOOL " + what + " on " + ifname, err);
        }
    }
}
