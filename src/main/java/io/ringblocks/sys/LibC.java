package io.ringblocks.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.charset.StandardCharsets;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The few libc calls ringblocks makes outside the ring: socket setup, opening and sizing the data file, the
 * eventfd used to wake a worker's ring from another thread, and the anonymous memory of the index overlay. They
 * are hand-bound rather than generated because each one captures {@code errno} (jextract's bindings do not), and
 * every method follows the io_uring convention: a result {@code >= 0} on success, {@code -errno} on failure.
 * <p>
 * None of these is called per request except {@link #eventfdWrite(int, long)}, which wakes a sleeping worker.
 */
public final class LibC
{
    public static final int AF_UNIX = 1;
    public static final int AF_INET = 2;
    public static final int SOCK_STREAM = 1;
    public static final int SOCK_NONBLOCK = 0x800;
    public static final int SOCK_CLOEXEC = 0x80000;
    public static final int SOL_SOCKET = 1;
    public static final int SO_REUSEADDR = 2;
    public static final int SO_SNDBUF = 7;
    public static final int SO_RCVBUF = 8;
    public static final int SO_REUSEPORT = 15;
    public static final int IPPROTO_TCP = 6;
    public static final int TCP_NODELAY = 1;
    /** On a listening socket: stops listening (leaves its SO_REUSEPORT group) and resets what waits to be accepted. */
    public static final int SHUT_RD = 0;
    public static final int SHUT_WR = 1;
    public static final int SHUT_RDWR = 2;

    public static final int O_RDONLY = 0;
    public static final int O_WRONLY = 1;
    public static final int O_RDWR = 2;
    public static final int O_CREAT = 0x40;
    public static final int O_TRUNC = 0x200;
    public static final int O_DIRECT = 0x4000;
    public static final int O_CLOEXEC = 0x80000;
    public static final int O_DIRECTORY = 0x10000;

    public static final int LOCK_SH = 1;
    public static final int LOCK_EX = 2;
    public static final int LOCK_NB = 4;
    public static final int LOCK_UN = 8;

    public static final int F_GETFL = 3;
    public static final int F_SETFL = 4;
    public static final int O_NONBLOCK = 0x800;
    public static final int MSG_DONTWAIT = 0x40;
    /** poll event: the peer shut down its sending side (or the connection is gone). */
    public static final int POLLRDHUP = 0x2000;
    /** ioctl request: bytes waiting to be read from a socket (SIOCINQ). */
    public static final long FIONREAD = 0x541B;
    public static final int MSG_NOSIGNAL = 0x4000;

    public static final int PROT_NONE = 0;
    public static final int PROT_READ = 1;
    public static final int PROT_WRITE = 2;
    public static final int MAP_PRIVATE = 0x02;
    public static final int MAP_ANONYMOUS = 0x20;
    public static final int MAP_NORESERVE = 0x4000;
    public static final int MADV_DONTNEED = 4;

    public static final int EFD_CLOEXEC = 0x80000;
    public static final int EFD_NONBLOCK = 0x800;

    /** struct sockaddr_in: family (u16, host order), port (u16, network order), addr (u32, network order). */
    public static final long SOCKADDR_IN_SIZE = 16;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CAPTURE_LAYOUT = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE_LAYOUT.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final ThreadLocal<MemorySegment> CAPTURE =
        ThreadLocal.withInitial(() -> Arena.global().allocate(CAPTURE_LAYOUT));

    private static final MethodHandle SOCKET = handle("socket", JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT);
    private static final MethodHandle SETSOCKOPT =
        handle("setsockopt", JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT);
    private static final MethodHandle BIND = handle("bind", JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT);
    private static final MethodHandle CONNECT = handle("connect", JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT);
    private static final MethodHandle LISTEN = handle("listen", JAVA_INT, JAVA_INT, JAVA_INT);
    private static final MethodHandle GETSOCKNAME = handle("getsockname", JAVA_INT, JAVA_INT, ADDRESS, ADDRESS);
    private static final MethodHandle SHUTDOWN = handle("shutdown", JAVA_INT, JAVA_INT, JAVA_INT);
    private static final MethodHandle CLOSE = handle("close", JAVA_INT, JAVA_INT);
    private static final MethodHandle OPEN = handle("open", JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT);
    private static final MethodHandle FALLOCATE = handle("fallocate", JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG);
    private static final MethodHandle FTRUNCATE = handle("ftruncate", JAVA_INT, JAVA_INT, JAVA_LONG);
    private static final MethodHandle FDATASYNC = handle("fdatasync", JAVA_INT, JAVA_INT);
    private static final MethodHandle FSYNC = handle("fsync", JAVA_INT, JAVA_INT);
    private static final MethodHandle FLOCK = handle("flock", JAVA_INT, JAVA_INT, JAVA_INT);
    private static final MethodHandle EVENTFD = handle("eventfd", JAVA_INT, JAVA_INT, JAVA_INT);
    private static final MethodHandle WRITE = handle("write", JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG);
    private static final MethodHandle READ = handle("read", JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG);
    private static final MethodHandle PWRITE = handle("pwrite", JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG);
    // Used only when the process is out of descriptors (DescriptorReserve), outside the ring by necessity.
    private static final MethodHandle ACCEPT4 = handle("accept4", JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT);
    private static final MethodHandle SEND = handle("send", JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT);
    // Anonymous memory for the index overlay: pages are touched only when used and MADV_DONTNEED gives them back.
    private static final MethodHandle MMAP =
        handle("mmap", JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG);
    private static final MethodHandle MUNMAP = handle("munmap", JAVA_INT, JAVA_LONG, JAVA_LONG);
    private static final MethodHandle STATX = handle("statx", JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS);
    private static final int AT_EMPTY_PATH = 0x1000;
    private static final int STATX_DIOALIGN = 0x2000;
    /** struct statx: 256 bytes; stx_mask at 0, stx_dio_mem_align at 0x98 (linux/stat.h). */
    private static final long STATX_SIZE = 256;
    private static final long STATX_DIO_MEM_ALIGN = 0x98;
    private static final MethodHandle MADVISE = handle("madvise", JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT);
    private static final MethodHandle MPROTECT = handle("mprotect", JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT);
    // fcntl is variadic: its third argument must be passed the way C passes variadic ints.
    private static final MethodHandle FCNTL = LINKER.downcallHandle(
        LINKER.defaultLookup().find("fcntl").orElseThrow(() -> new IllegalStateException("libc symbol not found: fcntl")),
        FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT),
        Linker.Option.firstVariadicArg(2), Linker.Option.captureCallState("errno"));
    // ioctl is variadic too: the request's argument is a pointer.
    private static final MethodHandle IOCTL = LINKER.downcallHandle(
        LINKER.defaultLookup().find("ioctl").orElseThrow(() -> new IllegalStateException("libc symbol not found: ioctl")),
        FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS),
        Linker.Option.firstVariadicArg(2), Linker.Option.captureCallState("errno"));
    private static final ThreadLocal<MemorySegment> EIGHT_BYTES =
        ThreadLocal.withInitial(() -> Arena.global().allocate(JAVA_LONG));

    private LibC()
    {
    }

    private static MethodHandle handle(final String name, final ValueLayout result, final ValueLayout... args)
    {
        final MemorySegment symbol = LINKER.defaultLookup().find(name)
            .orElseThrow(() -> new IllegalStateException("libc symbol not found: " + name));
        return LINKER.downcallHandle(
            symbol, FunctionDescriptor.of(result, args), Linker.Option.captureCallState("errno"));
    }

    private static int errnoResult(final MemorySegment capture, final long result)
    {
        return result < 0 ? -(int)ERRNO.get(capture, 0L) : (int)result;
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

    public static int socket(final int domain, final int type, final int protocol)
    {
        final MemorySegment c = CAPTURE.get();
        try
        {
            return errnoResult(c, (int)SOCKET.invokeExact(c, domain, type, protocol));
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    public static int setsockoptInt(final int fd, final int level, final int option, final int value)
    {
        final MemorySegment c = CAPTURE.get();
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment v = arena.allocate(JAVA_INT);
            v.set(JAVA_INT, 0, value);
            return errnoResult(c, (int)SETSOCKOPT.invokeExact(c, fd, level, option, v, 4));
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    /**
     * Fills a {@code struct sockaddr_in}.
     *
     * @param sockaddr at least {@link #SOCKADDR_IN_SIZE} bytes.
     * @param ipv4     the address as four bytes in network order.
     * @param port     0 to 65535.
     */
    public static void sockaddrIn(final MemorySegment sockaddr, final byte[] ipv4, final int port)
    {
        if (ipv4.length != 4 || port < 0 || port > 65535)
        {
            throw new IllegalArgumentException("need an IPv4 address and a port in 0..65535, got port " + port);
        }
        sockaddr.fill((byte)0);
        sockaddr.set(ValueLayout.JAVA_SHORT, 0, (short)AF_INET);
        sockaddr.set(ValueLayout.JAVA_BYTE, 2, (byte)(port >>> 8));
        sockaddr.set(ValueLayout.JAVA_BYTE, 3, (byte)port);
        MemorySegment.copy(ipv4, 0, sockaddr, ValueLayout.JAVA_BYTE, 4, 4);
    }

    public static int bind(final int fd, final MemorySegment sockaddr)
    {
        final MemorySegment c = CAPTURE.get();
        try
        {
            return errnoResult(c, (int)BIND.invokeExact(c, fd, sockaddr, (int)sockaddr.byteSize()));
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    public static int connect(final int fd, final MemorySegment sockaddr)
    {
        final MemorySegment c = CAPTURE.get();
        try
        {
            return errnoResult(c, (int)CONNECT.invokeExact(c, fd, sockaddr, (int)sockaddr.byteSize()));
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    public static int listen(final int fd, final int backlog)
    {
        final MemorySegment c = CAPTURE.get();
        try
        {
            return errnoResult(c, (int)LISTEN.invokeExact(c, fd, backlog));
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    /**
     * @return the local port a bound IPv4 socket got, or {@code -errno}.
     */
    public static int localPort(final int fd)
    {
        final MemorySegment c = CAPTURE.get();
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment addr = arena.allocate(SOCKADDR_IN_SIZE);
            final MemorySegment len = arena.allocate(JAVA_INT);
            len.set(JAVA_INT, 0, (int)SOCKADDR_IN_SIZE);
            final int rc = errnoResult(c, (int)GETSOCKNAME.invokeExact(c, fd, addr, len));
            if (rc < 0)
            {
                return rc;
            }
            return ((addr.get(ValueLayout.JAVA_BYTE, 2) & 0xFF) << 8) | (addr.get(ValueLayout.JAVA_BYTE, 3) & 0xFF);
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    public static int shutdown(final int fd, final int how)
    {
        final MemorySegment c = CAPTURE.get();
        try
        {
            return errnoResult(c, (int)SHUTDOWN.invokeExact(c, fd, how));
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    public static int close(final int fd)
    {
        final MemorySegment c = CAPTURE.get();
        try
        {
            return errnoResult(c, (int)CLOSE.invokeExact(c, fd));
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    public static int open(final String path, final int flags, final int mode)
    {
        final MemorySegment c = CAPTURE.get();
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment p = arena.allocateFrom(path, StandardCharsets.UTF_8);
            return errnoResult(c, (int)OPEN.invokeExact(c, p, flags, mode));
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    public static int fallocate(final int fd, final int mode, final long offset, final long length)
    {
        final MemorySegment c = CAPTURE.get();
        try
        {
            return errnoResult(c, (int)FALLOCATE.invokeExact(c, fd, mode, offset, length));
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    public static int ftruncate(final int fd, final long length)
    {
        final MemorySegment c = CAPTURE.get();
        try
        {
            return errnoResult(c, (int)FTRUNCATE.invokeExact(c, fd, length));
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    /** pwrite(2) for slow-path chores off the rings (e.g. zeroing new data-file space). @return bytes or -errno. */
    public static long pwrite(final int fd, final MemorySegment buffer, final long length, final long offset)
    {
        final MemorySegment c = CAPTURE.get();
        try
        {
            final long rc = (long)PWRITE.invokeExact(c, fd, buffer, length, offset);
            return rc < 0 ? errnoResult(c, rc) : rc;
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    public static int fdatasync(final int fd)
    {
        final MemorySegment c = CAPTURE.get();
        try
        {
            return errnoResult(c, (int)FDATASYNC.invokeExact(c, fd));
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    public static int fsync(final int fd)
    {
        final MemorySegment c = CAPTURE.get();
        try
        {
            return errnoResult(c, (int)FSYNC.invokeExact(c, fd));
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    /** flock(2): a lock per open file description, so two opens in one process exclude each other too. */
    public static int flock(final int fd, final int operation)
    {
        final MemorySegment c = CAPTURE.get();
        try
        {
            return errnoResult(c, (int)FLOCK.invokeExact(c, fd, operation));
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    public static int eventfd(final int initval, final int flags)
    {
        final MemorySegment c = CAPTURE.get();
        try
        {
            return errnoResult(c, (int)EVENTFD.invokeExact(c, initval, flags));
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    /**
     * Adds {@code value} to an eventfd counter: the cross-thread wakeup of a worker's ring.
     *
     * @return 8 on success or {@code -errno}.
     */
    public static int eventfdWrite(final int fd, final long value)
    {
        final MemorySegment c = CAPTURE.get();
        final MemorySegment v = EIGHT_BYTES.get();
        v.set(JAVA_LONG, 0, value);
        try
        {
            return errnoResult(c, (long)WRITE.invokeExact(c, fd, v, 8L));
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    /**
     * Reads and resets an eventfd counter (non-blocking eventfds return {@code -EAGAIN} when zero).
     *
     * @return the counter value, or {@code -errno}.
     */
    public static long eventfdRead(final int fd)
    {
        final MemorySegment c = CAPTURE.get();
        final MemorySegment v = EIGHT_BYTES.get();
        try
        {
            final int rc = errnoResult(c, (long)READ.invokeExact(c, fd, v, 8L));
            return rc < 0 ? rc : v.get(JAVA_LONG, 0);
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    /** accept4(fd, NULL, NULL, flags): with a non-blocking listener, {@code -EAGAIN} when nothing is waiting. */
    public static int accept4(final int listenFd, final int flags)
    {
        final MemorySegment c = CAPTURE.get();
        try
        {
            return errnoResult(c, (int)ACCEPT4.invokeExact(c, listenFd, MemorySegment.NULL, MemorySegment.NULL, flags));
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
            return errnoResult(c, (long)SEND.invokeExact(c, fd, address, length, flags));
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
            final int flags = errnoResult(c, (int)FCNTL.invokeExact(c, fd, F_GETFL, 0));
            if (flags < 0)
            {
                return flags;
            }
            return errnoResult(c,
                (int)FCNTL.invokeExact(c, fd, F_SETFL, on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK));
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    /**
     * statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN): the memory alignment direct I/O on {@code fd} needs. A filesystem
     * may accept an O_DIRECT open and still write through the page cache (ext4 with {@code data=journal}, encrypted or
     * verity files); since Linux 6.1 it says so here with an alignment of 0.
     *
     * @return the alignment (> 0), 0 when the file does no direct I/O, or -1 when the kernel or filesystem does not
     * tell.
     */
    public static int directIoAlignment(final int fd)
    {
        final MemorySegment c = CAPTURE.get();
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment buf = arena.allocate(STATX_SIZE, 8);
            final MemorySegment empty = arena.allocateFrom("", StandardCharsets.UTF_8);
            final int rc = errnoResult(c, (int)STATX.invokeExact(c, fd, empty, AT_EMPTY_PATH, STATX_DIOALIGN, buf));
            if (rc < 0 || (buf.get(JAVA_INT, 0) & STATX_DIOALIGN) == 0)
            {
                return -1;
            }
            return buf.get(JAVA_INT, STATX_DIO_MEM_ALIGN);
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    /**
     * ioctl(fd, FIONREAD): the bytes a socket holds unread.
     *
     * @return the byte count, or {@code -errno}.
     */
    public static int unreadBytes(final int fd)
    {
        final MemorySegment c = CAPTURE.get();
        final MemorySegment count = EIGHT_BYTES.get();
        try
        {
            count.set(JAVA_INT, 0, 0);
            final int res = errnoResult(c, (int)IOCTL.invokeExact(c, fd, FIONREAD, count));
            return res < 0 ? res : count.get(JAVA_INT, 0);
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    /**
     * mmap(2) with a null hint, e.g. {@code mmap(length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)}.
     *
     * @return the address of the mapping (user-space addresses are positive), or {@code -errno}.
     */
    public static long mmap(final long length, final int prot, final int flags, final int fd, final long offset)
    {
        final MemorySegment c = CAPTURE.get();
        try
        {
            final long address = (long)MMAP.invokeExact(c, 0L, length, prot, flags, fd, offset);
            return address == -1L ? -(int)ERRNO.get(c, 0L) : address; // MAP_FAILED
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    /**
     * Private anonymous read-write memory, backed by the kernel only where it is touched.
     *
     * @param length bytes to map.
     * @param what   names the mapping in the exception.
     * @return its address.
     * @throws IllegalStateException naming the errno when it cannot be mapped.
     */
    public static long mapAnonymous(final long length, final String what)
    {
        final long address = mmap(length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (address < 0)
        {
            throw new IllegalStateException("cannot map " + length + " bytes of " + what + ": " +
                Errno.describe((int)address));
        }
        return address;
    }

    public static int munmap(final long address, final long length)
    {
        final MemorySegment c = CAPTURE.get();
        try
        {
            return errnoResult(c, (int)MUNMAP.invokeExact(c, address, length));
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    /** mprotect(2). @return 0 or -errno. */
    public static int mprotect(final long address, final long length, final int prot)
    {
        final MemorySegment c = CAPTURE.get();
        try
        {
            return errnoResult(c, (int)MPROTECT.invokeExact(c, address, length, prot));
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    /**
     * Reserves {@code length} bytes of address space, inaccessible until {@link #mprotect} opens parts of it: no
     * memory is committed for it, even where the kernel does not overcommit (vm.overcommit_memory = 2).
     *
     * @return its address.
     * @throws IllegalStateException naming the errno when it cannot be reserved (e.g. ENOMEM under ulimit -v).
     */
    public static long reserveAddressSpace(final long length, final String what)
    {
        final long address = mmap(length, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (address < 0)
        {
            throw new IllegalStateException("cannot reserve " + length + " bytes of address space for " + what +
                ": " + Errno.describe((int)address) + " (a limit on the address space, ulimit -v?)");
        }
        return address;
    }

    /** madvise(2); {@link #MADV_DONTNEED} on private anonymous memory frees the pages, which read as zero again. */
    public static int madvise(final long address, final long length, final int advice)
    {
        final MemorySegment c = CAPTURE.get();
        try
        {
            return errnoResult(c, (int)MADVISE.invokeExact(c, address, length, advice));
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }
}
