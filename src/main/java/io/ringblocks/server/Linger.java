package io.ringblocks.server;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import io.ringblocks.sys.Errno;
import io.ringblocks.sys.LibC;
import io.ringblocks.uring.UserData;

/**
 * Lingering close after a connection-level error frame: the sending side is shut down (the client reads the frame,
 * then end-of-stream), and what the client still sends is received and thrown away until it closes its side,
 * {@link #MAX_BYTES} went by or {@link #TIMEOUT_NANOS} passed; only then is the socket closed. Closing a socket
 * with unread input makes the kernel answer with a reset, and a reset can destroy the error frame in the client's
 * receive queue before the client read it.
 * <p>
 * The discarding receives go into the connection's own receive buffer (its content is dead by then), and one
 * io_uring timeout per lingering connection bounds the wait even for a client that never stops sending.
 * <p>
 * A connection refused at accept (BUSY, over the connection limit) has no connection slot; up to
 * {@link #REJECT_SLOTS} of them linger in a small table of their own, receiving into one shared discard buffer.
 * Beyond that they are closed at once, as before.
 */
final class Linger
{
    static final int OP_RECV = 9;
    static final int OP_TIMEOUT = 10;
    static final int OP_REJECT_RECV = 11;
    static final int OP_REJECT_TIMEOUT = 12;
    /** Refused connections lingering at once per worker; a flood of refusals must not pin descriptors. */
    static final int REJECT_SLOTS = 64;
    /** Long enough for a client to read an error frame it was not waiting for, short enough to free the slot. */
    static final long TIMEOUT_NANOS = 1_000_000_000L;
    /** A client sending faster than this in a second is not going to stop; close (with a reset) at once. */
    static final long MAX_BYTES = 64L << 20;

    /** What lingering asks of the worker's connection I/O. */
    interface Host
    {
        void beginClose(int c, boolean broken);

        void tryFinishClose(int c);

        /** Gives {@code c} a receive buffer of its own if it has none; false when the arena has none left. */
        boolean ensureRecvBuffer(int c);
    }

    private final WorkerContext ctx;
    private final Host host;
    private final Connections conns;
    private final boolean[] active;
    private final boolean[] recvPosted;
    private final long[] deadline;
    private final long[] discarded;
    private final MemorySegment timespec;
    private final int[] rejectFd = new int[REJECT_SLOTS];
    private final int[] rejectGeneration = new int[REJECT_SLOTS];
    private final long[] rejectDeadline = new long[REJECT_SLOTS];
    private final long[] rejectDiscarded = new long[REJECT_SLOTS];
    private final int[] rejectFree = new int[REJECT_SLOTS];
    private int rejectFreeCount;
    private long discardBuffer = IoArena.NONE;
    private int discardClass;

    Linger(final WorkerContext ctx, final Connections conns, final Host host)
    {
        this.ctx = ctx;
        this.host = host;
        this.conns = conns;
        active = new boolean[conns.capacity];
        recvPosted = new boolean[conns.capacity];
        deadline = new long[conns.capacity];
        discarded = new long[conns.capacity];
        // A __kernel_timespec of our own: the ring's shared one is rewritten by every timed wait before submission.
        timespec = Arena.ofAuto().allocate(16, 8);
        timespec.set(ValueLayout.JAVA_LONG, 0, TIMEOUT_NANOS / 1_000_000_000L);
        timespec.set(ValueLayout.JAVA_LONG, 8, TIMEOUT_NANOS % 1_000_000_000L);
        for (int i = 0; i < REJECT_SLOTS; i++)
        {
            rejectFd[i] = -1;
            rejectFree[rejectFreeCount++] = REJECT_SLOTS - 1 - i;
        }
    }

    /** @return true while {@code c} must not be closed yet. */
    boolean active(final int c)
    {
        return active[c];
    }

    /**
     * The connection's last frame (a connection-level error, or the last answer of a stop's drain) was sent: stop
     * reading requests, then linger.
     */
    void begin(final int c)
    {
        active[c] = true;
        discarded[c] = 0;
        deadline[c] = System.nanoTime() + TIMEOUT_NANOS;
        host.beginClose(c, false);
        if (!host.ensureRecvBuffer(c) || LibC.shutdown(conns.fd[c], LibC.SHUT_WR) < 0)
        {
            end(c); // the peer is gone already (or no memory to read into): nothing to wait for
            return;
        }
        ctx.stats.increment(ServerStats.LINGERS);
        try
        {
            ctx.ring().prepTimeout(timespec, 0, 0, UserData.pack(c, OP_TIMEOUT, conns.generation[c]));
            postRecv(c);
        }
        catch (final RuntimeException e)
        {
            end(c); // nothing may wait for a timeout or a receive the ring never took
            throw e;
        }
    }

    /** The flag only once the SQE is prepared; should a later one fail, the timeout still ends the linger. */
    private void postRecv(final int c)
    {
        ctx.ring().prepRecv(conns.fd[c], ctx.arena.address(conns.recvBuffer[c]), ctx.config.recvBufferSize(), 0,
            UserData.pack(c, OP_RECV, conns.generation[c]));
        recvPosted[c] = true;
    }

    void onRecv(final int c, final int gen, final int res)
    {
        if (conns.generation[c] != gen || !recvPosted[c])
        {
            return;
        }
        recvPosted[c] = false;
        if (!active[c])
        {
            host.tryFinishClose(c);
            return;
        }
        if (res == -Errno.EINTR || res == -Errno.EAGAIN || res == -Errno.ENOBUFS)
        {
            postRecv(c);
            return;
        }
        if (res > 0)
        {
            discarded[c] += res;
            if (discarded[c] < MAX_BYTES && System.nanoTime() < deadline[c])
            {
                postRecv(c);
                return;
            }
            ctx.stats.increment(ServerStats.LINGERS_CUT);
        }
        end(c); // end of stream (the client read the frame and closed), an error, or the bound
    }

    void onTimeout(final int c, final int gen)
    {
        if (conns.generation[c] != gen || !active[c])
        {
            return;
        }
        ctx.stats.increment(ServerStats.LINGERS_CUT);
        end(c);
        if (recvPosted[c])
        {
            try
            {
                ctx.ring().prepCancel(UserData.pack(c, OP_RECV, gen), UserData.pack(0, Worker.OP_IGNORE, 0));
            }
            catch (final RuntimeException e)
            {
                LibC.shutdown(conns.fd[c], LibC.SHUT_RDWR); // ends the receive as well, and its completion the close
                throw e;
            }
        }
    }

    private void end(final int c)
    {
        active[c] = false;
        host.tryFinishClose(c);
    }

    /** @return true while a discarding receive is in flight on {@code c} (the fd must stay open until it ends). */
    boolean recvPosted(final int c)
    {
        return recvPosted[c];
    }

    // ---------------------------------------------------------------- refused connections

    /** Sends {@code frame} (BUSY) on a connection that gets no slot, then closes it, lingeringly when there is room. */
    void reject(final int fd, final long frameAddress, final int frameLength)
    {
        try
        {
            ctx.ring().reserve(4); // a linked chain split by a submit between its SQEs would not run in order
            ctx.ring().prepSend(fd, frameAddress, frameLength, 0, UserData.pack(0, Worker.OP_IGNORE, 0));
        }
        catch (final RuntimeException e)
        {
            LibC.close(fd); // no SQE of it exists (the reserved room cannot fail the preps after this one)
            throw e;
        }
        ctx.ring().setLastSqeFlags(io.ringblocks.uring.Ring.SQE_IO_HARDLINK); // the rest runs even if the send fails
        if (rejectFreeCount == 0 || !haveDiscardBuffer())
        {
            ctx.ring().prepClose(fd, UserData.pack(0, Worker.OP_IGNORE, 0));
            return;
        }
        final int s = rejectFree[--rejectFreeCount];
        rejectFd[s] = fd;
        rejectGeneration[s] = UserData.nextGeneration(rejectGeneration[s]);
        rejectDeadline[s] = System.nanoTime() + TIMEOUT_NANOS;
        rejectDiscarded[s] = 0;
        ctx.stats.increment(ServerStats.LINGERS);
        ctx.ring().prepShutdown(fd, LibC.SHUT_WR, UserData.pack(0, Worker.OP_IGNORE, 0));
        ctx.ring().setLastSqeFlags(io.ringblocks.uring.Ring.SQE_IO_HARDLINK);
        postRejectRecv(s);
        ctx.ring().prepTimeout(timespec, 0, 0, UserData.pack(s, OP_REJECT_TIMEOUT, rejectGeneration[s]));
    }

    private boolean haveDiscardBuffer()
    {
        if (discardBuffer == IoArena.NONE)
        {
            discardClass = IoArena.classFor(ctx.config.recvBufferSize());
            discardBuffer = ctx.arena.allocate(discardClass);
        }
        return discardBuffer != IoArena.NONE;
    }

    private void postRejectRecv(final int s)
    {
        ctx.ring().prepRecv(rejectFd[s], ctx.arena.address(discardBuffer), ctx.config.recvBufferSize(), 0,
            UserData.pack(s, OP_REJECT_RECV, rejectGeneration[s]));
    }

    void onRejectRecv(final int s, final int gen, final int res)
    {
        if (rejectGeneration[s] != gen || rejectFd[s] < 0)
        {
            return;
        }
        if (res > 0 || res == -Errno.EINTR || res == -Errno.EAGAIN || res == -Errno.ENOBUFS)
        {
            rejectDiscarded[s] += Math.max(res, 0);
            if (rejectDiscarded[s] < MAX_BYTES && System.nanoTime() < rejectDeadline[s])
            {
                postRejectRecv(s);
                return;
            }
            ctx.stats.increment(ServerStats.LINGERS_CUT);
        }
        ctx.ring().prepClose(rejectFd[s], UserData.pack(0, Worker.OP_IGNORE, 0));
        freeReject(s);
    }

    void onRejectTimeout(final int s, final int gen)
    {
        if (rejectGeneration[s] != gen || rejectFd[s] < 0)
        {
            return;
        }
        // Move the deadline so the cancelled receive's completion closes the socket.
        rejectDeadline[s] = Long.MIN_VALUE / 2;
        ctx.ring().prepCancel(UserData.pack(s, OP_REJECT_RECV, gen), UserData.pack(0, Worker.OP_IGNORE, 0));
    }

    private void freeReject(final int s)
    {
        rejectFd[s] = -1;
        rejectGeneration[s] = UserData.nextGeneration(rejectGeneration[s]);
        rejectFree[rejectFreeCount++] = s;
    }

    /** The worker is exiting: refused sockets still lingering are closed now (their receives die with the ring). */
    void closeRejected()
    {
        for (int s = 0; s < REJECT_SLOTS; s++)
        {
            if (rejectFd[s] >= 0)
            {
                LibC.close(rejectFd[s]);
                freeReject(s);
            }
        }
    }
}
