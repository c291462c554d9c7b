package io.ringblocks.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Socket setup with plain syscalls before a ring takes over: a worker's listener (accept, recv, send and close
 * then all go through the ring) and a load generator's client connections.
 */
public final class Sockets
{
    private Sockets()
    {
    }

    /**
     * Opens a TCP listener on an IPv4 address.
     *
     * @param ipv4      four bytes, network order (e.g. 127.0.0.1).
     * @param port      0 for an ephemeral port.
     * @param backlog   listen(2) backlog.
     * @param reusePort set SO_REUSEPORT so several workers can each own a listener on the same port.
     * @return the listening fd.
     * @throws ErrnoException naming the errno (EADDRINUSE, EACCES...) when the socket cannot be opened.
     */
    public static int listenTcp(final byte[] ipv4, final int port, final int backlog, final boolean reusePort)
    {
        final int fd = LibC.socket(LibC.AF_INET, LibC.SOCK_STREAM | LibC.SOCK_CLOEXEC, 0);
        if (fd < 0)
        {
            throw new ErrnoException("socket", fd);
        }
        try (Arena arena = Arena.ofConfined())
        {
            check(fd, "setsockopt(SO_REUSEADDR)", LibC.setsockoptInt(fd, LibC.SOL_SOCKET, LibC.SO_REUSEADDR, 1));
            if (reusePort)
            {
                check(fd, "setsockopt(SO_REUSEPORT)", LibC.setsockoptInt(fd, LibC.SOL_SOCKET, LibC.SO_REUSEPORT, 1));
            }
            final MemorySegment addr = arena.allocate(LibC.SOCKADDR_IN_SIZE);
            LibC.sockaddrIn(addr, ipv4, port);
            check(fd, "bind(" + (ipv4[0] & 0xFF) + "." + (ipv4[1] & 0xFF) + "." + (ipv4[2] & 0xFF) + "." +
                (ipv4[3] & 0xFF) + ":" + port + ")", LibC.bind(fd, addr));
            check(fd, "listen", LibC.listen(fd, backlog));
            return fd;
        }
    }

    /**
     * Claims TCP address {@code ipv4}:{@code port} among the processes of this host (its network namespace): binds an
     * abstract AF_UNIX socket named after it, which only one process can hold and the kernel drops with it. Listeners
     * with SO_REUSEPORT share a port with any socket of the same user that sets it too, so without a claim two servers
     * starting at once could both pass the exclusive probe bind and split the connections between two stores.
     *
     * @return the claim's descriptor (close it to give the port up), or {@code -errno}: -EADDRINUSE while another
     * process holds the claim.
     */
    public static int claimPort(final byte[] ipv4, final int port)
    {
        final int fd = LibC.socket(LibC.AF_UNIX, LibC.SOCK_STREAM | LibC.SOCK_CLOEXEC, 0);
        if (fd < 0)
        {
            return fd;
        }
        final byte[] name = ("ringblocks-tcp-" + (ipv4[0] & 0xFF) + "." + (ipv4[1] & 0xFF) + "." + (ipv4[2] & 0xFF) +
            "." + (ipv4[3] & 0xFF) + ":" + port).getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        try (Arena arena = Arena.ofConfined())
        {
            // struct sockaddr_un: the family, then a path whose first byte 0 makes the name abstract (no file).
            final MemorySegment addr = arena.allocate(2 + 1 + name.length);
            addr.set(java.lang.foreign.ValueLayout.JAVA_SHORT, 0, (short)LibC.AF_UNIX);
            addr.set(java.lang.foreign.ValueLayout.JAVA_BYTE, 2, (byte)0);
            MemorySegment.copy(name, 0, addr, java.lang.foreign.ValueLayout.JAVA_BYTE, 3, name.length);
            final int rc = LibC.bind(fd, addr);
            if (rc < 0)
            {
                LibC.close(fd);
                return rc;
            }
            return fd;
        }
    }

    /**
     * Connects a TCP socket (blocking connect, TCP_NODELAY) for a client that then does its I/O on a ring.
     *
     * @return the connected fd.
     * @throws ErrnoException naming the errno (ECONNREFUSED...) when it cannot connect.
     */
    public static int connectTcp(final byte[] ipv4, final int port)
    {
        final int fd = LibC.socket(LibC.AF_INET, LibC.SOCK_STREAM | LibC.SOCK_CLOEXEC, 0);
        if (fd < 0)
        {
            throw new ErrnoException("socket", fd);
        }
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment addr = arena.allocate(LibC.SOCKADDR_IN_SIZE);
            LibC.sockaddrIn(addr, ipv4, port);
            check(fd, "connect(" + (ipv4[0] & 0xFF) + "." + (ipv4[1] & 0xFF) + "." + (ipv4[2] & 0xFF) + "." +
                (ipv4[3] & 0xFF) + ":" + port + ")", LibC.connect(fd, addr));
            check(fd, "setsockopt(TCP_NODELAY)", noDelay(fd));
            return fd;
        }
    }

    /** Sets TCP_NODELAY: responses are written whole, so Nagle only adds latency. */
    public static int noDelay(final int fd)
    {
        return LibC.setsockoptInt(fd, LibC.IPPROTO_TCP, LibC.TCP_NODELAY, 1);
    }

    /** @return the port the socket is bound to. */
    public static int localPort(final int fd)
    {
        final int port = LibC.localPort(fd);
        if (port < 0)
        {
            throw new ErrnoException("getsockname", port);
        }
        return port;
    }

    private static void check(final int fd, final String what, final int rc)
    {
        if (rc < 0)
        {
            LibC.close(fd);
            throw new ErrnoException(what, rc);
        }
    }
}
