package io.ringblocks.server;

import java.util.concurrent.atomic.AtomicInteger;

import io.ringblocks.protocol.ResponseHeader;
import io.ringblocks.protocol.ResponseHeaderEncoder;
import io.ringblocks.sys.Errno;
import io.ringblocks.sys.LibC;
import io.ringblocks.uring.Ring;
import io.ringblocks.uring.UserData;
import io.ringblocks.wire.Status;

/**
 * Accepting connections on the worker's own SO_REUSEPORT listener: one multishot accept, re-armed when it ends
 * (after a pause when it ended on an error, so that a failing accept does not spin), the connection limit shared by
 * the workers (over it, or stopping: BUSY and a lingering close), and running out of descriptors (what waits is shed
 * with BUSY through a reserve descriptor, {@link DescriptorReserve}).
 */
final class Acceptor implements AutoCloseable
{
    private static final long BACKOFF_NANOS = 100_000_000L;

    /** What accepting asks of the rest of the worker. */
    interface Host
    {
        /**
         * A connection was accepted into slot {@code c}: set it up and post its first receive.
         *
         * @return false when it cannot be served (no arena memory): it is then refused.
         */
        boolean opened(int c);

        /**
         * The server is at its connection limit: close this worker's longest-idle connection (idle long enough) to
         * make room. @return true when one is being closed.
         */
        boolean evictIdle(long now);
    }

    private final WorkerContext ctx;
    private final Connections conns;
    private final Linger linger;
    private final Host host;
    private final int listenFd;
    private final AtomicInteger connectionCount;
    private Ring ring;
    private DescriptorReserve reserve;
    private int listenPort;
    /** The BUSY frame every refused connection gets, in the arena (sent by Linger and the reserve). */
    private long rejectFrame;
    /** When a paused accept is re-armed; 0 while armed. */
    private long backoffUntil;

    Acceptor(final WorkerContext ctx, final Connections conns, final Linger linger, final int listenFd,
        final AtomicInteger connectionCount, final Host host)
    {
        this.ctx = ctx;
        this.conns = conns;
        this.linger = linger;
        this.listenFd = listenFd;
        this.connectionCount = connectionCount;
        this.host = host;
    }

    /**
     * Worker thread, first thing once the arena exists: the BUSY frame, so that a small arena fails the start on what
     * cannot fit after it, with that part's own message.
     */
    void allocateRejectFrame()
    {
        rejectFrame = ctx.arena.allocate(0);
        if (rejectFrame == IoArena.NONE)
        {
            throw new IllegalStateException("I/O arena too small for the BUSY frame");
        }
        new ResponseHeaderEncoder().wrap(ctx.memory, (int)rejectFrame).encodeConnectionError(Status.BUSY);
    }

    /** Worker thread, once everything a connection needs exists: arms the accept. */
    void start()
    {
        ring = ctx.ring();
        reserve = new DescriptorReserve(ctx.id);
        listenPort = LibC.localPort(listenFd);
        arm();
    }

    private void arm()
    {
        ring.prepMultishotAccept(listenFd, LibC.SOCK_CLOEXEC, UserData.pack(0, Worker.OP_ACCEPT, 0));
    }

    /** @return when a paused accept wants re-arming (the worker wakes for it), or 0 while armed. */
    long backoffUntil()
    {
        return backoffUntil;
    }

    /** Once per duty cycle: re-arms a paused accept when its pause is over (not while stopping). */
    void cycle(final long now, final boolean stopping)
    {
        if (backoffUntil != 0 && now >= backoffUntil && !stopping)
        {
            backoffUntil = 0;
            arm();
        }
    }

    /**
     * The worker stops: no more accepts (a paused one stays paused, or the stop would wake for it at every turn), and
     * the listener leaves the port at once, resetting what waits in its backlog: connections the kernel completed
     * during the stop would otherwise wait unanswered until the process is gone.
     */
    void stop()
    {
        backoffUntil = 0;
        withdraw();
        ring.prepCancel(UserData.pack(0, Worker.OP_ACCEPT, 0), UserData.pack(0, Worker.OP_IGNORE, 0));
    }

    void onAccept(final int res, final int flags, final boolean stopping, final long now)
    {
        if (DescriptorReserve.isExhaustion(res))
        {
            onDescriptorsExhausted(res, flags, stopping, now);
            return;
        }
        if ((flags & Ring.CQE_F_MORE) == 0 && !stopping)
        {
            if (res < 0 && res != -Errno.ECANCELED)
            {
                // EMFILE, ENFILE, ENOMEM...: re-arm after a pause instead of spinning on error completions.
                backoffUntil = now + BACKOFF_NANOS;
            }
            else
            {
                arm();
            }
        }
        if (res < 0)
        {
            if (res != -Errno.ECANCELED && res != -Errno.EINTR && res != -Errno.EAGAIN && !stopping)
            {
                ctx.errors.onError(ctx.name, "accept failed: " + Errno.describe(res)); // at a stop: the withdrawal
            }
            return;
        }
        if (stopping || connectionCount.incrementAndGet() > ctx.config.maxConnections() && !host.evictIdle(now))
        {
            // (An eviction admits the new connection at once: the count is one over until the idle one has closed.)
            if (!stopping)
            {
                connectionCount.decrementAndGet();
            }
            reject(res);
            return;
        }
        final int c = conns.open(res);
        if (c < 0 || !host.opened(c))
        {
            if (c >= 0)
            {
                conns.free(c);
            }
            connectionCount.decrementAndGet();
            reject(res);
            return;
        }
        ctx.stats.increment(ServerStats.ACCEPTED);
    }

    /**
     * EMFILE/ENFILE: a waiting connection stays queued and every new accept would fail the same way (io_uring takes
     * the descriptor before it looks at the queue, so the error also comes with nothing waiting). Shed what waits with
     * BUSY through the reserve descriptor; re-arm at once while there was something to shed, else after a pause, so
     * that an exhausted but quiet worker does not spin on failing accepts.
     */
    private void onDescriptorsExhausted(final int res, final int flags, final boolean stopping, final long now)
    {
        ctx.stats.increment(ServerStats.ACCEPT_FD_EXHAUSTED);
        int shed = 0;
        if ((flags & Ring.CQE_F_MORE) == 0 && !stopping)
        {
            // The multishot accept ended with this error, so nothing else accepts on the listener meanwhile.
            shed = reserve.shed(listenFd, ctx.arena.address(rejectFrame), ResponseHeader.HEADER_LENGTH);
            ctx.stats.add(ServerStats.SHED_CONNECTIONS, shed);
            if (shed > 0)
            {
                arm();
            }
            else
            {
                backoffUntil = now + BACKOFF_NANOS;
            }
        }
        reserve.report(now, res, shed, listenPort);
    }

    /** Over the limit: answer BUSY (opcode 0, request id 0) before reading anything, then close lingeringly. */
    private void reject(final int fd)
    {
        ctx.stats.increment(ServerStats.REJECTED);
        linger.reject(fd, ctx.arena.address(rejectFrame), ResponseHeader.HEADER_LENGTH);
    }

    /**
     * The worker died: its listener leaves the port's SO_REUSEPORT group at once, so the kernel stops handing it
     * connections that nobody would accept (the descriptor stays the server's, closed with the others).
     */
    void withdraw()
    {
        LibC.shutdown(listenFd, LibC.SHUT_RD);
    }

    @Override
    public void close()
    {
        if (reserve != null)
        {
            reserve.close();
        }
    }
}
