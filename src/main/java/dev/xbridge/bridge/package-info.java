/**
 * The kernel's bridges as an immutable model, the datapath's maps, and the
 * per-port hook policy (native XDP or TC), and the reconciler that turns
 * model changes into map writes and attachments.
 * Nothing here decides forwarding: the C datapath does, from what this
 * package mirrors.
 */
package dev.xbridge.bridge;
