/**
 * {@code xbridge bench}: a testbed of hosts on a bridge in namespaces, a traffic generator
 * and sinks in BPF ({@code src/main/bpf/bench.bpf.c}), the paths under test (kernel bridge,
 * xbridge hooks, bare devmap redirect), control-plane measurements of the daemon, and the
 * report (table, JSON, SVG). Uses testbed, bpf and netlink; nothing depends on it but cli.
 */
package dev.xbridge.bench;
