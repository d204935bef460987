package dev.xbridge.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;

/**
 * Device offload switches and driver name through the legacy SIOCETHTOOL ioctl
 * (linux/ethtool.h): {@code struct ifreq} whose ifr_data points at {@code struct ethtool_value
 * {u32 cmd; u32 data;}} or {@code struct ethtool_drvinfo}. Single features by the name
 * {@code ethtool -k} prints (e.g. tx-vlan-hw-insert) go through ETHTOOL_GFEATURES /
 * ETHTOOL_SFEATURES, whose bit i is the i-th string of the ETH_SS_FEATURES string set.
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
    static final int ETHTOOL_GSTRINGS = 0x1b;
    static final int ETHTOOL_GSSET_INFO = 0x37;
    static final int ETHTOOL_GFEATURES = 0x3a;
    static final int ETHTOOL_SFEATURES = 0x3b;
    /** enum ethtool_stringset: ETH_SS_TEST = 0, STATS, PRIV_FLAGS, NTUPLE_FILTERS, FEATURES. */
    static final int ETH_SS_FEATURES = 4;
    static final int ETH_GSTRING_LEN = 32;
    /** struct ethtool_sset_info {u32 cmd; u32 reserved; u64 sset_mask; u32 data[];} */
    static final int SSET_INFO_MASK_OFFSET = 8;
    static final int SSET_INFO_DATA_OFFSET = 16;
    /** struct ethtool_gstrings {u32 cmd; u32 string_set; u32 len; u8 data[];} */
    static final int GSTRINGS_SET_OFFSET = 4;
    static final int GSTRINGS_LEN_OFFSET = 8;
    static final int GSTRINGS_DATA_OFFSET = 12;
    /**
     * struct ethtool_gfeatures {u32 cmd; u32 size; struct ethtool_get_features_block
     * {u32 available, requested, active, never_changed;} features[];} and struct ethtool_sfeatures
     * {u32 cmd; u32 size; struct ethtool_set_features_block {u32 valid, requested;} features[];}:
     * {@code size} counts 32-feature blocks.
     */
    static final int FEATURES_SIZE_OFFSET = 4;
    static final int FEATURES_BLOCKS_OFFSET = 8;
    static final int GET_BLOCK_SIZE = 16;
    static final int GET_BLOCK_AVAILABLE = 0;
    static final int GET_BLOCK_ACTIVE = 8;
    static final int SET_BLOCK_SIZE = 8;
    static final int SET_BLOCK_VALID = 0;
    static final int SET_BLOCK_REQUESTED = 4;

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
        return withSocket(fd -> driver(fd, ifname));
    }

    /** ETHTOOL_GDRVINFO's driver name, e.g. "veth". */
    public static String driver(int fd, String ifname) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment info = arena.allocate(DRVINFO_SIZE, 8);
            info.set(ValueLayout.JAVA_INT, 0, ETHTOOL_GDRVINFO);
            ioctl(fd, ifname, info, arena, "ETHTOOL_GDRVINFO");
            return cString(info.asSlice(DRVINFO_DRIVER_OFFSET, DRVINFO_DRIVER_SIZE));
        }
    }

    public static boolean get(String ifname, Feature f) {
        return withSocket(fd -> get(fd, ifname, f));
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
        withSocket(fd -> {
            set(fd, ifname, f, on);
            return null;
        });
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

    /**
     * One named feature as ETHTOOL_GFEATURES reports it.
     *
     * @param name as {@code ethtool -k} prints it, e.g. "tx-vlan-hw-insert" (NETIF_F_HW_VLAN_CTAG_TX)
     * @param active whether it is on now (dev->features)
     * @param changeable whether it can be switched on this device (dev->hw_features)
     */
    public record NamedFeature(String name, boolean active, boolean changeable) {}

    /** Every named feature of {@code ifname} by name, in bit order. */
    public static Map<String, NamedFeature> features(String ifname) {
        return withSocket(fd -> features(fd, ifname));
    }

    /**
     * Every named feature of {@code ifname}: ETHTOOL_GSSET_INFO for the size of the
     * ETH_SS_FEATURES set, ETHTOOL_GSTRINGS for the names (bit i is the i-th name; empty
     * names are unused bits) and ETHTOOL_GFEATURES for the bits.
     */
    public static Map<String, NamedFeature> features(int fd, String ifname) {
        List<String> names = featureNames(fd, ifname);
        int words = (names.size() + 31) / 32;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment g = arena.allocate(FEATURES_BLOCKS_OFFSET + (long) words * GET_BLOCK_SIZE, 8);
            g.set(ValueLayout.JAVA_INT, 0, ETHTOOL_GFEATURES);
            g.set(ValueLayout.JAVA_INT, FEATURES_SIZE_OFFSET, words);
            ioctl(fd, ifname, g, arena, "ETHTOOL_GFEATURES");
            int needed = g.get(ValueLayout.JAVA_INT, FEATURES_SIZE_OFFSET);
            if (needed > words) {
                // The kernel copied only the blocks we asked for; the string set and the bitmap disagree.
                throw new IllegalStateException("ETHTOOL_GFEATURES on " + ifname + " has " + needed
                        + " blocks of features, but ETH_SS_FEATURES names only " + names.size() + " features");
            }
            Map<String, NamedFeature> out = new LinkedHashMap<>();
            for (int bit = 0; bit < names.size(); bit++) {
                String name = names.get(bit);
                if (name.isEmpty()) {
                    continue;
                }
                long block = FEATURES_BLOCKS_OFFSET + (long) (bit / 32) * GET_BLOCK_SIZE;
                int mask = 1 << (bit % 32);
                boolean active = (g.get(ValueLayout.JAVA_INT, block + GET_BLOCK_ACTIVE) & mask) != 0;
                boolean changeable = (g.get(ValueLayout.JAVA_INT, block + GET_BLOCK_AVAILABLE) & mask) != 0;
                out.put(name, new NamedFeature(name, active, changeable));
            }
            return out;
        }
    }

    /**
     * Whether the named feature is on. A name this kernel does not have is a feature no
     * device here can have on, so it reads as off.
     */
    public static boolean active(int fd, String ifname, String name) {
        NamedFeature f = features(fd, ifname).get(name);
        return f != null && f.active();
    }

    public static void set(String ifname, String name, boolean on) {
        withSocket(fd -> {
            set(fd, ifname, name, on);
            return null;
        });
    }

    /**
     * Switches one named feature with ETHTOOL_SFEATURES, as {@code ethtool -K IFNAME NAME on|off}
     * does. The kernel silently ignores bits the device cannot change (ETHTOOL_F_UNSUPPORTED) and
     * may keep a feature from following the request (ETHTOOL_F_WISH: netdev_fix_features), so
     * both are checked here: an unknown or fixed feature, or one that did not follow, throws.
     */
    public static void set(int fd, String ifname, String name, boolean on) {
        List<String> names = featureNames(fd, ifname);
        int bit = names.indexOf(name);
        if (bit < 0 || name.isEmpty()) {
            throw new IllegalArgumentException("no feature named '" + name + "' on this kernel (ETH_SS_FEATURES)");
        }
        NamedFeature before = features(fd, ifname).get(name);
        if (!before.changeable()) {
            throw new IllegalStateException(name + " is fixed " + (before.active() ? "on" : "off") + " on " + ifname);
        }
        int words = (names.size() + 31) / 32;
        try (Arena arena = Arena.ofConfined()) {
            // ETHTOOL_SFEATURES insists on exactly ETHTOOL_DEV_FEATURE_WORDS blocks (EINVAL otherwise).
            MemorySegment s = arena.allocate(FEATURES_BLOCKS_OFFSET + (long) words * SET_BLOCK_SIZE, 8);
            s.set(ValueLayout.JAVA_INT, 0, ETHTOOL_SFEATURES);
            s.set(ValueLayout.JAVA_INT, FEATURES_SIZE_OFFSET, words);
            long block = FEATURES_BLOCKS_OFFSET + (long) (bit / 32) * SET_BLOCK_SIZE;
            int mask = 1 << (bit % 32);
            s.set(ValueLayout.JAVA_INT, block + SET_BLOCK_VALID, mask);
            s.set(ValueLayout.JAVA_INT, block + SET_BLOCK_REQUESTED, on ? mask : 0);
            ioctl(fd, ifname, s, arena, "ETHTOOL_SFEATURES " + name + "=" + (on ? "on" : "off"));
        }
        if (active(fd, ifname, name) != on) {
            throw new IllegalStateException(name + " on " + ifname + " stayed " + (on ? "off" : "on")
                    + " (the kernel's feature fix-ups keep it; a feature it depends on?)");
        }
    }

    /** The ETH_SS_FEATURES string set: index = feature bit, "" for an unused bit. */
    static List<String> featureNames(int fd, String ifname) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment info = arena.allocate(SSET_INFO_DATA_OFFSET + 4, 8);
            info.set(ValueLayout.JAVA_INT, 0, ETHTOOL_GSSET_INFO);
            info.set(ValueLayout.JAVA_LONG, SSET_INFO_MASK_OFFSET, 1L << ETH_SS_FEATURES);
            ioctl(fd, ifname, info, arena, "ETHTOOL_GSSET_INFO");
            if ((info.get(ValueLayout.JAVA_LONG, SSET_INFO_MASK_OFFSET) & (1L << ETH_SS_FEATURES)) == 0) {
                throw new SysException("ETHTOOL_GSSET_INFO ETH_SS_FEATURES on " + ifname, Errno.EOPNOTSUPP.code());
            }
            int count = info.get(ValueLayout.JAVA_INT, SSET_INFO_DATA_OFFSET);
            MemorySegment strings = arena.allocate(GSTRINGS_DATA_OFFSET + (long) count * ETH_GSTRING_LEN, 8);
            strings.set(ValueLayout.JAVA_INT, 0, ETHTOOL_GSTRINGS);
            strings.set(ValueLayout.JAVA_INT, GSTRINGS_SET_OFFSET, ETH_SS_FEATURES);
            strings.set(ValueLayout.JAVA_INT, GSTRINGS_LEN_OFFSET, count);
            ioctl(fd, ifname, strings, arena, "ETHTOOL_GSTRINGS ETH_SS_FEATURES");
            int len = Math.min(count, strings.get(ValueLayout.JAVA_INT, GSTRINGS_LEN_OFFSET));
            List<String> names = new ArrayList<>(len);
            for (int i = 0; i < len; i++) {
                names.add(cString(strings.asSlice(GSTRINGS_DATA_OFFSET + (long) i * ETH_GSTRING_LEN, ETH_GSTRING_LEN)));
            }
            return names;
        }
    }

    private static String cString(MemorySegment bytes) {
        byte[] b = bytes.toArray(ValueLayout.JAVA_BYTE);
        int n = 0;
        while (n < b.length && b[n] != 0) {
            n++;
        }
        return new String(b, 0, n, StandardCharsets.US_ASCII);
    }

    /** Runs {@code work} with a socket from {@link #openSocket()}, closed after. */
    private static <T> T withSocket(IntFunction<T> work) {
        int fd = openSocket();
        try {
            return work.apply(fd);
        } finally {
            Libc.close(fd);
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
