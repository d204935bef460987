package dev.xbridge.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * Downcall plumbing shared by every binding: symbol lookup and errno capture
 * through {@link Linker.Option#captureCallState(String...)}.
 *
 * <p>A handle made by {@link #downcallErrno} takes a capture segment as its
 * first argument; {@link #errno(MemorySegment)} reads it after the call. The
 * JVM may clobber the thread's errno between two Java statements, which is
 * why errno is never read with a separate {@code __errno_location()} call.
 */
public final class Native {
    public static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CAPTURE_LAYOUT = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO =
            CAPTURE_LAYOUT.varHandle(java.lang.foreign.MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option CAPTURE_ERRNO = Linker.Option.captureCallState("errno");

    /** libc symbols (socket, setns, ioctl, ...). */
    public static final SymbolLookup LIBC = LINKER.defaultLookup();

    private Native() {}

    /** A downcall to {@code symbol} in {@code lookup} without errno capture. */
    public static MethodHandle downcall(SymbolLookup lookup, String symbol, FunctionDescriptor fd) {
        MemorySegment address = lookup.find(symbol)
                .orElseThrow(() -> new UnsatisfiedLinkError("symbol not found: " + symbol));
        return LINKER.downcallHandle(address, fd);
    }

    /** A downcall whose first argument is a capture segment from {@link #allocateCapture}. */
    public static MethodHandle downcallErrno(SymbolLookup lookup, String symbol, FunctionDescriptor fd) {
        MemorySegment address = lookup.find(symbol)
                .orElseThrow(() -> new UnsatisfiedLinkError("symbol not found: " + symbol));
        return LINKER.downcallHandle(address, fd, CAPTURE_ERRNO);
    }

    public static MethodHandle libc(String symbol, FunctionDescriptor fd) {
        return downcallErrno(LIBC, symbol, fd);
    }

    /**
     * A libc function declared variadic ({@code open(path, flags, ...)},
     * {@code ioctl(fd, request, ...)}): the arguments from {@code firstVariadic}
     * on follow the variadic calling convention (on x86-64, %al carries the
     * number of vector registers used).
     */
    public static MethodHandle libcVariadic(String symbol, FunctionDescriptor fd, int firstVariadic) {
        MemorySegment address = LIBC.find(symbol)
                .orElseThrow(() -> new UnsatisfiedLinkError("symbol not found: " + symbol));
        return LINKER.downcallHandle(address, fd, CAPTURE_ERRNO, Linker.Option.firstVariadicArg(firstVariadic));
    }

    public static MemorySegment allocateCapture(Arena arena) {
        return arena.allocate(CAPTURE_LAYOUT);
    }

    public static int errno(MemorySegment capture) {
        return (int) ERRNO.get(capture, 0L);
    }

    public static final ValueLayout.OfInt C_INT = ValueLayout.JAVA_INT;
    public static final ValueLayout.OfLong C_LONG = ValueLayout.JAVA_LONG;
    public static final java.lang.foreign.AddressLayout C_POINTER = ValueLayout.ADDRESS;

    /** Rethrows a Throwable from {@code MethodHandle.invokeExact} unchanged when unchecked. */
    public static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            return r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException(t);
    }
}
