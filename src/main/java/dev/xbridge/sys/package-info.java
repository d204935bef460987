/**
 * Thin libc bindings over {@code java.lang.foreign}: errno capture, sockets,
 * namespaces and ioctls. Every other package that talks to the kernel goes
 * through here, so errno handling exists exactly once.
 */
package dev.xbridge.sys;
