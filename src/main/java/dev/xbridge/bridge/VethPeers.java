package dev.xbridge.bridge;

import dev.xbridge.netlink.Link;
import dev.xbridge.netlink.RtNetlink;
import dev.xbridge.sys.Ethtool;
import dev.xbridge.sys.NamespaceVisitor;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.logging.Logger;

/**
 * Reaches the far end of veth ports. The peer usually sits in a container's
 * namespace, which rtnetlink names only by an nsid (IFLA_LINK_NETNSID). The
 * namespace itself is found by asking the kernel for the nsid of each
 * candidate namespace file (RTM_GETNSID with NETNSA_FD): /run/netns/* (ip
 * netns, CNI) and /proc/PID/ns/net (Docker, Podman, libvirt).
 *
 * <p>The only setting xbridge changes on a peer is GRO: a veth accepts
 * XDP_REDIRECTed frames (veth_xdp_xmit) only while its peer runs NAPI, which
 * GRO turns on. Every change is remembered and undone by {@link #restore}.
 */
public final class VethPeers implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(VethPeers.class.getName());

    private final RtNetlink rt;
    /** Enters a peer's namespace only for the length of a call, so no container namespace outlives its container. */
    private final NamespaceVisitor visitor = new NamespaceVisitor();
    private final Map<Integer, Path> nsidPaths = new HashMap<>();
    /** Peers whose GRO xbridge turned on, by port ifindex. */
    private final Map<Integer, Peer> groChanged = new HashMap<>();

    public VethPeers(RtNetlink rt) {
        this.rt = rt;
    }

    /** Probes the peer of a veth port; never throws, a failure is a missing peer with the reason. */
    public Peer probe(Port port, KernelState state) {
        Link link = port.link();
        if (link.link() == 0) {
            return Peer.missing("the kernel reports no peer (IFLA_LINK)");
        }
        try {
            if (link.linkNetnsId().isEmpty()) {
                Optional<Link> peer = state.link(link.link());
                if (peer.isEmpty()) {
                    return Peer.missing("peer ifindex " + link.link() + " not found in this namespace");
                }
                return features("", peer.get());
            }
            int nsid = link.linkNetnsId().getAsInt();
            Optional<Path> ns = namespace(nsid);
            if (ns.isEmpty()) {
                return Peer.missing("no namespace file found for nsid " + nsid
                        + " (looked in /run/netns and /proc/*/ns/net)");
            }
            Path where = ns.get();
            return visitor.call(where, () -> {
                try (RtNetlink there = RtNetlink.open()) {
                    Optional<Link> peer = there.link(link.link());
                    if (peer.isEmpty()) {
                        return Peer.missing("peer ifindex " + link.link() + " not found in " + where);
                    }
                    return features(where.toString(), peer.get());
                }
            });
        } catch (RuntimeException e) {
            return Peer.missing(e.getMessage());
        }
    }

    private static Peer features(String namespace, Link link) {
        String name = link.name();
        Map<String, Ethtool.NamedFeature> named = Ethtool.features(name);
        return new Peer(true, namespace, name,
                Ethtool.get(name, Ethtool.Feature.TX_CHECKSUM),
                Ethtool.get(name, Ethtool.Feature.TSO),
                Ethtool.get(name, Ethtool.Feature.GSO),
                active(named, Peer.TX_VLAN_INSERT),
                active(named, Peer.TX_STAG_INSERT),
                Ethtool.get(name, Ethtool.Feature.GRO),
                null, link.mtu(), link.xdpProgId());
    }

    /** A feature this kernel has no name for is one the peer cannot have on. */
    private static boolean active(Map<String, Ethtool.NamedFeature> named, String feature) {
        Ethtool.NamedFeature f = named.get(feature);
        return f != null && f.active();
    }

    /** Turns GRO on at the peer of {@code port} if it is off, remembering to undo it. */
    public void ensureGro(int port, Peer peer) {
        if (!peer.found() || peer.gro() || groChanged.containsKey(port)) {
            return;
        }
        setGro(peer, true);
        groChanged.put(port, peer);
        LOG.info(() -> "turned GRO on at " + peer.where() + " so it can receive redirected frames");
    }

    /** Forgets a GRO change without undoing it: someone else has changed the setting since. */
    public void forget(int port) {
        groChanged.remove(port);
    }

    /** Undoes what {@link #ensureGro} changed for {@code port}; quiet if the peer is gone. */
    public void restore(int port) {
        Peer peer = groChanged.remove(port);
        if (peer == null) {
            return;
        }
        try {
            setGro(peer, false);
            LOG.info(() -> "restored GRO off at " + peer.where());
        } catch (RuntimeException e) {
            LOG.info(() -> "could not restore GRO at " + peer.where() + " (gone?): " + e.getMessage());
        }
    }

    public boolean changedGro(int port) {
        return groChanged.containsKey(port);
    }

    private void setGro(Peer peer, boolean on) {
        if (peer.namespace().isEmpty()) {
            Ethtool.set(peer.name(), Ethtool.Feature.GRO, on);
            return;
        }
        visitor.call(Path.of(peer.namespace()), () -> {
            Ethtool.set(peer.name(), Ethtool.Feature.GRO, on);
            return null;
        });
    }

    /** A namespace file whose nsid, seen from here, is {@code nsid}; checked again on every use. */
    private Optional<Path> namespace(int nsid) {
        Path known = nsidPaths.get(nsid);
        if (known != null && Files.exists(known) && nsidOf(known) == nsid) {
            return Optional.of(known);
        }
        nsidPaths.remove(nsid);
        for (Path candidate : candidates()) {
            int id = nsidOf(candidate);
            if (id >= 0) {
                nsidPaths.put(id, candidate);
            }
            if (id == nsid) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }

    private int nsidOf(Path path) {
        return rt.nsidOfFile(path.toString());
    }

    /** Namespace files, one per namespace (deduplicated by inode), named ones first. */
    private static List<Path> candidates() {
        List<Path> out = new ArrayList<>();
        Set<Object> inodes = new HashSet<>();
        addAll(Path.of("/run/netns"), "*", out, inodes);
        try (DirectoryStream<Path> procs = Files.newDirectoryStream(Path.of("/proc"), "[0-9]*")) {
            for (Path pid : procs) {
                add(pid.resolve("ns/net"), out, inodes);
            }
        } catch (IOException e) {
            LOG.fine(() -> "cannot list /proc: " + e);
        }
        return out;
    }

    private static void addAll(Path dir, String glob, List<Path> out, Set<Object> inodes) {
        if (!Files.isDirectory(dir)) {
            return;
        }
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, glob)) {
            for (Path f : files) {
                add(f, out, inodes);
            }
        } catch (IOException e) {
            LOG.fine(() -> "cannot list " + dir + ": " + e);
        }
    }

    private static void add(Path f, List<Path> out, Set<Object> inodes) {
        try {
            Object ino = Files.getAttribute(f, "unix:ino");
            Object dev = Files.getAttribute(f, "unix:dev");
            if (inodes.add(dev + ":" + ino)) {
                out.add(f);
            }
        } catch (IOException | RuntimeException e) {
            // a process that exited meanwhile, or a file we may not read
        }
    }

    @Override
    public void close() {
        for (Integer port : List.copyOf(groChanged.keySet())) {
            restore(port);
        }
        visitor.close();
    }
}
