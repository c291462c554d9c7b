package io.ringblocks.server;

import java.util.concurrent.atomic.AtomicInteger;

import io.ringblocks.sys.Errno;
import io.ringblocks.sys.LibC;
import io.ringblocks.uring.UserData;

/**
 * How a worker's connection ends: it stops being read (CLOSING), waits until nothing of it is in the ring or in
 * flight (its receive, its send, its requests, a linger, a stop's drain, a hang-up watch), then one CLOSE SQE
 * (CLOSED), whose completion frees the slot. Every path that ends a connection comes here: errors, timeouts, the
 * peer's end of stream, a stop.
 */
final class ConnectionClose
{
    private final WorkerContext ctx;
    private final Connections conns;
    private final Sender sender;
    private final Receiver receiver;
    private final Linger linger;
    private final StopDrain drain;
    private final PartialBodies bodies;
    private final AtomicInteger connectionCount;

    ConnectionClose(final WorkerContext ctx, final Connections conns, final Sender sender, final Receiver receiver,
        final Linger linger, final StopDrain drain, final PartialBodies bodies, final AtomicInteger connectionCount)
    {
        this.ctx = ctx;
        this.conns = conns;
        this.sender = sender;
        this.receiver = receiver;
        this.linger = linger;
        this.drain = drain;
        this.bodies = bodies;
        this.connectionCount = connectionCount;
    }

    /**
     * Stops reading from {@code c}. With {@code broken} the socket is unusable, so queued responses are dropped;
     * otherwise in-flight requests still get their answers before the fd is closed.
     */
    void begin(final int c, final boolean broken)
    {
        if (conns.state[c] == Connections.OPEN)
        {
            conns.state[c] = Connections.CLOSING;
            try
            {
                if (conns.recvPosted[c])
                {
                    ctx.ring().prepCancel(UserData.pack(c, Worker.OP_RECV, conns.generation[c]),
                        UserData.pack(0, Worker.OP_IGNORE, 0));
                }
                receiver.closing(c);
            }
            catch (final RuntimeException e)
            {
                // The ring took no cancel: shutting the socket down ends its receive and hang-up watch all the same,
                // and their completions let the close finish. No answer can go now.
                LibC.shutdown(conns.fd[c], LibC.SHUT_RDWR);
                conns.broken[c] = true;
                throw e;
            }
        }
        if (broken)
        {
            conns.broken[c] = true;
            if (!conns.sending[c])
            {
                sender.dropQueue(c);
            }
        }
        tryFinish(c);
    }

    /** Closes {@code c}'s descriptor once nothing of it is left in the ring or in flight. */
    void tryFinish(final int c)
    {
        if (conns.state[c] != Connections.CLOSING || conns.recvPosted[c] || conns.sending[c] ||
            conns.inFlight[c] > 0 || linger.active(c) || linger.recvPosted(c) || drain.holds(c) ||
            receiver.watching(c))
        {
            return;
        }
        if (drain.takeLingerAtClose(c))
        {
            linger.begin(c); // its answers are all sent: end the stream, and read until the peer does
            return;
        }
        ctx.ring().prepClose(conns.fd[c], UserData.pack(c, Worker.OP_CLOSE, conns.generation[c]));
        conns.state[c] = Connections.CLOSED; // only now: a CLOSED slot's descriptor is never closed again
    }

    /** The CLOSE completed: the slot is free for a new connection. */
    void onClosed(final int c, final int gen, final int res)
    {
        if (conns.generation[c] != gen)
        {
            return;
        }
        if (res < 0)
        {
            ctx.errors.onError(ctx.name, "close failed: " + Errno.describe(res));
        }
        receiver.closed(c);
        bodies.release(c);
        bodies.forget(c); // a new connection in this slot must not inherit its place in the wait list
        conns.free(c);
        connectionCount.decrementAndGet();
        ctx.stats.increment(ServerStats.CLOSED);
    }

    /**
     * A deadline of {@link ConnectionTimeouts} passed. A client that stopped reading (send) or sending (request) gets
     * its socket shut down, which fails its stuck send or receive and frees the buffers it pinned; an idle connection
     * is simply closed.
     */
    void expired(final int c, final int kind)
    {
        switch (kind)
        {
            case ConnectionTimeouts.SEND -> ctx.stats.increment(ServerStats.SEND_TIMEOUTS);
            case ConnectionTimeouts.REQUEST -> ctx.stats.increment(ServerStats.REQUEST_TIMEOUTS);
            default ->
            {
                ctx.stats.increment(ServerStats.IDLE_TIMEOUTS);
                begin(c, false);
                return;
            }
        }
        LibC.shutdown(conns.fd[c], LibC.SHUT_RDWR);
        begin(c, true);
    }
}
