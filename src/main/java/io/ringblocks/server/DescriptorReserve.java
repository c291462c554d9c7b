package io.ringblocks.server;

import io.ringblocks.sys.Errno;
import io.ringblocks.sys.LibC;

/**
 * What a worker does when accept fails for lack of file descriptors (EMFILE, ENFILE): the connection stays in the
 * listen queue, and without help the client would wait for nothing while every retry fails again. The worker keeps
 * one descriptor in reserve ({@code /dev/null}); out of descriptors, it closes the reserve, accepts the waiting
 * connections itself (non-blocking, a bounded number per call), answers each with the BUSY frame the connection limit
 * sends, closes it, and takes the reserve again. The log line is rate-limited. Worker thread only.
 */
final class DescriptorReserve implements AutoCloseable
{
    static final int ENFILE = 23;
    /** Connections shed per call, so that a flood cannot hold the worker away from its other connections. */
    static final int MAX_PER_CALL = 64;
    static final long LOG_INTERVAL_NANOS = 10_000_000_000L;

    private static final System.Logger LOG = System.getLogger("ringblocks");

    private final int worker;
    private int reserveFd;
    private boolean logged;
    private long nextLog;
    private long unreportedEvents;
    private long unreportedShed;

    DescriptorReserve(final int worker)
    {
        this.worker = worker;
        reserveFd = openReserve();
        // Out of descriptors, a class not yet loaded may be impossible to load (a class file is a file): link the
        // shedding path's native calls and classes now.
        LibC.accept4(-1, 0);
        LibC.send(-1, 0, 0, 0);
        LibC.nonBlocking(-1, false);
        format(0, -Errno.EMFILE, 0, 0, 0);
    }

    private static int openReserve()
    {
        return LibC.open("/dev/null", LibC.O_RDONLY | LibC.O_CLOEXEC, 0);
    }

    static boolean isExhaustion(final int res)
    {
        return res == -Errno.EMFILE || res == -ENFILE;
    }

    /**
     * Answers connections waiting on {@code listenFd} with the {@code frameLength} bytes at {@code frameAddress} and
     * closes them. Only while the ring has no accept armed on the listener (it is made non-blocking meanwhile).
     *
     * @return how many were answered.
     */
    int shed(final int listenFd, final long frameAddress, final int frameLength)
    {
        if (reserveFd < 0)
        {
            reserveFd = openReserve(); // lost to another thread last time: perhaps a descriptor is free again
            if (reserveFd < 0)
            {
                return 0;
            }
        }
        LibC.close(reserveFd);
        reserveFd = -1;
        if (LibC.nonBlocking(listenFd, true) < 0)
        {
            reserveFd = openReserve();
            return 0;
        }
        int shed = 0;
        while (shed < MAX_PER_CALL)
        {
            final int fd = LibC.accept4(listenFd, LibC.SOCK_NONBLOCK | LibC.SOCK_CLOEXEC);
            if (fd == -Errno.EAGAIN)
            {
                break; // nothing more waiting
            }
            if (fd == -Errno.EINTR || fd == -Errno.ECONNABORTED)
            {
                continue;
            }
            if (fd < 0)
            {
                break; // another thread took the freed descriptor
            }
            LibC.send(fd, frameAddress, frameLength, LibC.MSG_DONTWAIT | LibC.MSG_NOSIGNAL);
            LibC.close(fd);
            shed++;
        }
        LibC.nonBlocking(listenFd, false);
        reserveFd = openReserve();
        return shed;
    }

    /** Logs the exhaustion at most once per {@link #LOG_INTERVAL_NANOS}, with what happened since the last line. */
    void report(final long now, final int res, final int shed, final int port)
    {
        final String line = reportLine(now, res, shed, port);
        if (line != null)
        {
            LOG.log(System.Logger.Level.WARNING, line);
        }
    }

    /** @return the line to log now, or null while the last one is younger than the interval. */
    String reportLine(final long now, final int res, final int shed, final int port)
    {
        unreportedEvents++;
        unreportedShed += shed;
        if (logged && now - nextLog < 0)
        {
            return null;
        }
        logged = true;
        nextLog = now + LOG_INTERVAL_NANOS;
        final String line = format(worker, res, unreportedShed, unreportedEvents, port);
        unreportedEvents = 0;
        unreportedShed = 0;
        return line;
    }

    private static String format(final int worker, final int res, final long shed, final long events, final int port)
    {
        return "worker " + worker + ": out of file descriptors (" + Errno.name(res) + ") accepting on port " + port +
            ": answered " + shed + " connections BUSY and closed them (" + events + " failed accepts since the " +
            "last report); raise the open-files limit (ulimit -n) or lower --max-connections";
    }

    @Override
    public void close()
    {
        if (reserveFd >= 0)
        {
            LibC.close(reserveFd);
            reserveFd = -1;
        }
    }
}
