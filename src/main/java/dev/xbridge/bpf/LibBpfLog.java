package dev.xbridge.bpf;

import static dev.xbridge.sys.Native.C_INT;
import static dev.xbridge.sys.Native.C_LONG;
import static dev.xbridge.sys.Native.C_POINTER;

import dev.xbridge.sys.Native;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.ArrayDeque;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * libbpf's print callback (libbpf_set_print), routed into Java.
 *
 * <p>libbpf calls it on the thread that made the libbpf call, so a load can
 * collect the messages (the verifier log among them) in a thread-local
 * {@link Capture} and put their tail into its exception. Everything else goes
 * to the logger {@code dev.xbridge.bpf.libbpf}: LIBBPF_WARN at FINE,
 * LIBBPF_INFO at FINER, LIBBPF_DEBUG at FINEST, formatted only when loggable.
 */
final class LibBpfLog {
    static final Logger LOG = Logger.getLogger("dev.xbridge.bpf.libbpf");

    // enum libbpf_print_level
    private static final int LIBBPF_WARN = 0;
    private static final int LIBBPF_INFO = 1;

    // x86_64 SysV: va_list is __va_list_tag[1], so the callback receives a pointer to a
    // 24-byte struct, and va_copy is a plain copy of those 24 bytes. That lets us size the
    // message with one vsnprintf on a copy and format it with a second on the original.
    private static final boolean X86_64 = switch (System.getProperty("os.arch")) {
        case "amd64", "x86_64" -> true;
        default -> false;
    };
    private static final long VA_LIST_SIZE = 24;
    private static final long FALLBACK_BUFFER = 64 * 1024;

    private static final MethodHandle VSNPRINTF = Native.downcall(Native.LIBC, "vsnprintf",
            FunctionDescriptor.of(C_INT, C_POINTER, C_LONG, C_POINTER, C_POINTER));
    private static final ThreadLocal<Capture> CAPTURE = new ThreadLocal<>();

    private LibBpfLog() {}

    static void install() {
        try {
            MethodHandle target = MethodHandles.lookup().findStatic(LibBpfLog.class, "print",
                    MethodType.methodType(int.class, int.class, MemorySegment.class, MemorySegment.class));
            MemorySegment stub = Native.LINKER.upcallStub(target,
                    FunctionDescriptor.of(C_INT, C_INT, C_POINTER, C_POINTER), Arena.global());
            // The previous callback (libbpf's stderr printer) is not chained: all output comes here.
            var unused = (MemorySegment) LibBpf.SET_PRINT.invokeExact(stub);
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /** Starts collecting this thread's libbpf messages (WARN and INFO) until the capture is closed. */
    static Capture capture() {
        Capture c = new Capture(CAPTURE.get());
        CAPTURE.set(c);
        return c;
    }

    private static int print(int level, MemorySegment format, MemorySegment args) {
        // An exception escaping an upcall ends the JVM; a lost log line is the lesser harm.
        try {
            Capture capture = CAPTURE.get();
            Level julLevel = switch (level) {
                case LIBBPF_WARN -> Level.FINE;
                case LIBBPF_INFO -> Level.FINER;
                default -> Level.FINEST;
            };
            boolean capturing = capture != null && level <= LIBBPF_INFO;
            boolean logging = LOG.isLoggable(julLevel);
            if (!capturing && !logging) {
                return 0;
            }
            String message = format(format, args);
            if (capturing) {
                capture.add(message);
            }
            if (logging) {
                LOG.log(julLevel, message.stripTrailing());
            }
        } catch (Throwable ignored) {
            // see above
        }
        return 0;
    }

    private static String format(MemorySegment format, MemorySegment args) throws Throwable {
        try (Arena arena = Arena.ofConfined()) {
            if (!X86_64) {
                MemorySegment buf = arena.allocate(FALLBACK_BUFFER);
                int n = (int) VSNPRINTF.invokeExact(buf, FALLBACK_BUFFER, format, args);
                return n < 0 ? "" : buf.getString(0);
            }
            MemorySegment copy = arena.allocate(VA_LIST_SIZE, 8);
            copy.copyFrom(args.reinterpret(VA_LIST_SIZE));
            int n = (int) VSNPRINTF.invokeExact(MemorySegment.NULL, 0L, format, copy);
            if (n < 0) {
                return "";
            }
            MemorySegment buf = arena.allocate(n + 1L);
            var unused = (int) VSNPRINTF.invokeExact(buf, n + 1L, format, args);
            return buf.getString(0);
        }
    }

    /** The last {@value #KEPT_LINES} lines libbpf printed on one thread while open. */
    static final class Capture implements AutoCloseable {
        static final int KEPT_LINES = 200;
        private final Capture outer;
        private final ArrayDeque<String> lines = new ArrayDeque<>();
        private final StringBuilder partial = new StringBuilder();

        private Capture(Capture outer) {
            this.outer = outer;
        }

        private void add(String message) {
            int start = 0;
            for (int nl = message.indexOf('\n'); nl >= 0; nl = message.indexOf('\n', start)) {
                partial.append(message, start, nl);
                keep(partial.toString());
                partial.setLength(0);
                start = nl + 1;
            }
            partial.append(message, start, message.length());
        }

        private void keep(String line) {
            if (lines.size() == KEPT_LINES) {
                lines.removeFirst();
            }
            lines.addLast(line);
        }

        /** The last {@code n} lines, newline-separated. */
        String tail(int n) {
            if (!partial.isEmpty()) {
                keep(partial.toString());
                partial.setLength(0);
            }
            return String.join("\n", lines.stream().skip(Math.max(0, lines.size() - n)).toList());
        }

        @Override
        public void close() {
            if (outer == null) {
                CAPTURE.remove();
            } else {
                CAPTURE.set(outer);
            }
        }
    }
}
