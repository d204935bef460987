/**
 * Network-namespace topologies for tests, {@code xbridge demo} and
 * {@code xbridge bench}: a "switch" namespace holding a Linux bridge and hosts
 * in their own namespaces, each wired to a bridge port by a veth pair, built
 * and observed with the same tools an operator would use (iproute2, ethtool,
 * ping, iperf3). Everything it creates has a unique name and is deleted on
 * close, even after a failure.
 */
package dev.xbridge.testbed;
