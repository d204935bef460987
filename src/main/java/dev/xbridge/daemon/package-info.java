/**
 * The xbridge daemon: the event loop that follows rtnetlink, the aging
 * refresh that keeps fast-pathed FDB entries alive in the kernel, and the
 * control socket that serves status.
 */
package dev.xbridge.daemon;
