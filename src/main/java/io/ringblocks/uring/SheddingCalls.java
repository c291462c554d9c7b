package io.ringblocks.uring;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The libc calls a worker makes outside its ring when the process is out of file descriptors: the ring's accept
 * fails with EMFILE, so the worker frees a reserve descriptor, accepts the waiting connection itself, answers it
 * with one non-blocking send and closes it. Same convention as {@link LibC}: {@code >= 0} or {@code -errno}.
 */
public final class SheddingCalls
{
    public static final int F_GETFL = 3;
    public static final int F_SETFL = 4;
    public static final int O_NONBLOCK = 0x800;
    public static final int MSG_DONTWAIT = 0x40;
    public static final int MSG_NOSIGNAL = 0x4000;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CAPTURE_LAYOUT = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE_LAYOUT.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final ThreadLocal<MemorySegment> CAPTURE =
        ThreadLocal.withInitial(() -> java.lang.foreign.Arena.global().allocate(CAPTURE_LAYOUT));

    private static final MethodHandle ACCEPT4 = handle("accept4", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS,
        ADDRESS, JAVA_INT));
    private static final MethodHandle SEND = handle("send", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG,
        JAVA_LONG, JAVA_INT));
    // fcntl is variadic: its third argument must be passed the way C passes variadic ints.
    private static final MethodHandle FCNTL = LINKER.downcallHandle(
        LINKER.defaultLookup().find("fcntl").orElseThrow(() -> new IllegalStateException("libc symbol not found: fcntl")),
        FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT),
        Linker.Option.firstVariadicArg(2), Linker.Option.captureCallState("errno"));

    private SheddingCalls()
    {
    }

    private static MethodHandle handle(final String name, final FunctionDescriptor descriptor)
    {
        final MemorySegment symbol = LINKER.defaultLookup().find(name)
            .orElseThrow(() -> new IllegalStateException("libc symbol not found: " + name));
        return LINKER.downcallHandle(symbol, descriptor, Linker.Option.captureCallState("errno"));
    }

    private static int result(final MemorySegment capture, final long rc)
    {
        return rc < 0 ? -(int)ERRNO.get(capture, 0L) : (int)rc;
    }

    private static RuntimeException rethrow(final Throwable t)
    {
        if (t instanceof RuntimeException re)
        {
            return re;
        }
        if (t instanceof Error e)
        {
            throw e;
        }
        return new IllegalStateException(t);
    }

    /** accept4(fd, NULL, NULL, flags): with a non-blocking listener, {@code -EAGAIN} when nothing is waiting. */
    public static int accept4(final int listenFd, final int flags)
    {
        final MemorySegment c = CAPTURE.get();
        try
        {
            return result(c, (int)ACCEPT4.invokeExact(c, listenFd, MemorySegment.NULL, MemorySegment.NULL, flags));
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    /** send(fd, address, length, flags) from native memory. */
    public static int send(final int fd, final long address, final long length, final int flags)
    {
        final MemorySegment c = CAPTURE.get();
        try
        {
            return result(c, (long)SEND.invokeExact(c, fd, address, length, flags));
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    /** Sets or clears O_NONBLOCK. */
    public static int nonBlocking(final int fd, final boolean on)
    {
        final MemorySegment c = CAPTURE.get();
        try
        {
            final int flags = result(c, (int)FCNTL.invokeExact(c, fd, F_GETFL, 0));
            if (flags < 0)
            {
                return flags;
            }
            return result(c, (int)FCNTL.invokeExact(c, fd, F_SETFL, on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK));
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }
}
