package io.ringblocks.server;

import io.ringblocks.sys.Errno;
import io.ringblocks.uring.Ring;
import io.ringblocks.uring.UserData;

/**
 * When and how a connection receives: nothing while it is held back (requests at their bound, its buffer budget, no
 * slot or body budget, an error frame queued, bytes of its own still held), a buffer-select receive that holds no
 * memory while it waits for requests (one multishot receive, kept armed, where the kernel has them), and single-shot
 * receives straight into place for the rest of a large body. An armed multishot receive is cancelled as soon as the
 * connection should stop taking bytes or wants them elsewhere.
 */
final class ReceivePosts
{
    /** Provided buffers one connection may hold before its multishot receive is cancelled: its share of the ring. */
    static final int MAX_HELD_BUFFERS = 4;
    private static final System.Logger LOG = System.getLogger("ringblocks");

    /** What posting asks of the receiver. */
    interface Host
    {
        /** {@code c} is short of arena memory for a receive buffer: retry it with the starved. */
        void starve(int c);

        void beginClose(int c, boolean broken);
    }

    private final WorkerContext ctx;
    private final ServerConfig config;
    private final ServerStats stats;
    private final IoArena arena;
    private final Connections conns;
    private final ConnectionTimeouts timeouts;
    private final Inbox inbox;
    private final Host host;
    /** Arena bytes one connection may hold before the worker stops reading its requests. */
    private final long maxBufferBytesPerConnection;
    private Ring ring;
    /** Connections waiting for requests keep a multishot receive armed (off by config or on a kernel before 6.0). */
    private boolean multishot;
    /** The duty cycle's clock, for the timeouts. */
    private long now = System.nanoTime();

    ReceivePosts(final WorkerContext ctx, final Connections conns, final ConnectionTimeouts timeouts, final Inbox inbox,
        final long maxBufferBytesPerConnection, final Host host)
    {
        this.ctx = ctx;
        this.config = ctx.config;
        this.stats = ctx.stats;
        this.arena = ctx.arena;
        this.conns = conns;
        this.timeouts = timeouts;
        this.inbox = inbox;
        this.maxBufferBytesPerConnection = maxBufferBytesPerConnection;
        this.host = host;
    }

    /** Worker thread, once the ring and the inbox's provided buffers are set up. */
    void start()
    {
        ring = ctx.ring();
        multishot = inbox.hasProvided() && config.multishotRecv();
        stats.set(ServerStats.MULTISHOT_RECV, multishot ? 1 : 0);
    }

    /** Start of a duty cycle: its clock. */
    void cycle(final long nanos)
    {
        now = nanos;
    }

    /** A multishot receive failed with {@code res} (-EINVAL: a kernel before 6.0): one receive per arrival from now on. */
    void multishotRefused(final int res)
    {
        multishot = false;
        stats.set(ServerStats.MULTISHOT_RECV, 0);
        LOG.log(System.Logger.Level.INFO, ctx.name + ": no multishot receives on this kernel (" +
            Errno.describe(res) + "); one receive per arrival");
    }

    /**
     * Posts {@code c}'s receive now: a buffer-select one (multishot while it waits for requests) when it keeps nothing,
     * else into its receive buffer after what it keeps, or straight into the body on its way.
     */
    void post(final int c)
    {
        final int state = conns.bodyState[c];
        final boolean own = conns.ownRecv[c];
        conns.ownRecv[c] = false;
        final long userData = UserData.pack(c, Worker.OP_RECV, conns.generation[c]);
        if (inbox.hasProvided() && !own &&
            (state == Connections.BODY_DISCARD && conns.filled[c] == 0 || state == Connections.BODY_NONE && inbox.stash(c)))
        {
            inbox.releaseRecvBuffer(c); // nothing (or a stash) is kept in it: wait for bytes without holding memory
            // A client sending large PUTs gets single-shot receives: a multishot one would be cancelled for every body.
            if (multishot && state == Connections.BODY_NONE && !conns.lastBodyLarge[c])
            {
                ring.prepRecvMultishot(conns.fd[c], inbox.group(), userData);
                conns.multishot[c] = true;
                conns.multishotCancelled[c] = false;
            }
            else
            {
                final int most = state == Connections.BODY_DISCARD ?
                    Math.min(inbox.bufferSize(), conns.bodyRemaining[c]) : inbox.bufferSize();
                ring.prepRecvSelect(conns.fd[c], most, inbox.group(), userData);
            }
            posted(c);
            return;
        }
        if (state == Connections.BODY_NONE || state == Connections.BODY_DISCARD)
        {
            if (!inbox.ensureRecvBuffer(c))
            {
                host.starve(c); // retried with the starved once arena memory is free
                return;
            }
        }
        final long target;
        final int length;
        switch (state)
        {
            case Connections.BODY_NONE ->
            {
                target = conns.recvBuffer[c] + conns.filled[c];
                length = config.recvBufferSize() - conns.filled[c];
            }
            case Connections.BODY_DISCARD ->
            {
                target = conns.recvBuffer[c];
                length = Math.min(config.recvBufferSize(), conns.bodyRemaining[c]);
            }
            default ->
            {
                // Body stages receive into an absolute address: the request's hash slot or its block buffer.
                target = conns.bodyTarget[c] - arena.address(0);
                length = conns.bodyRemaining[c];
            }
        }
        if (length <= 0)
        {
            ctx.errors.onError(ctx.name, "connection " + c + " has no room to receive into");
            host.beginClose(c, true);
            return;
        }
        ring.prepRecv(conns.fd[c], arena.address(target), length, 0, userData);
        posted(c);
    }

    /** Only once its SQE is prepared: a flag set for a receive that never reached the ring would hold a close for ever. */
    private void posted(final int c)
    {
        conns.recvPosted[c] = true;
        timeouts.readResumed(c, now);
        stats.increment(ServerStats.RECV_SUBMISSIONS);
    }

    /** Posts a receive unless the connection is throttled, closing or already receiving. */
    void maybePost(final int c)
    {
        if (conns.state[c] != Connections.OPEN)
        {
            return;
        }
        if (conns.recvPosted[c])
        {
            if (conns.multishot[c])
            {
                keepOrCancelMultishot(c);
            }
            return;
        }
        if (conns.closeAfterSend[c] || conns.peerDone[c] || inbox.holding(c))
        {
            return; // what it holds goes first
        }
        if (conns.bodyState[c] != Connections.BODY_NONE)
        {
            post(c);
            return;
        }
        if (throttled(c) || conns.filled[c] >= config.recvBufferSize())
        {
            timeouts.readHeld(c);
            return;
        }
        post(c);
    }

    void stopTakingIfArmed(final int c)
    {
        if (conns.recvPosted[c] && conns.multishot[c])
        {
            keepOrCancelMultishot(c);
        }
    }

    boolean throttled(final int c)
    {
        return conns.parseBlocked[c] || conns.inFlight[c] >= config.maxInFlight() ||
            conns.bufferBytes[c] >= maxBufferBytesPerConnection;
    }

    /**
     * An armed multishot receive goes on delivering whatever arrives: it is cancelled once the connection should
     * not read (throttled, closing after an error frame, holding {@link #MAX_HELD_BUFFERS} already) or wants its
     * bytes elsewhere (a large body straight into its block buffer). While it waits with nothing kept, the
     * connection holds no receive buffer.
     */
    private void keepOrCancelMultishot(final int c)
    {
        if (conns.closeAfterSend[c] || conns.bodyState[c] != Connections.BODY_NONE || throttled(c) ||
            inbox.heldCount(c) >= MAX_HELD_BUFFERS)
        {
            if (!conns.multishotCancelled[c])
            {
                ring.prepCancel(UserData.pack(c, Worker.OP_RECV, conns.generation[c]),
                    UserData.pack(0, Worker.OP_IGNORE, 0));
                conns.multishotCancelled[c] = true;
            }
        }
        else if (!inbox.holding(c))
        {
            inbox.stash(c); // a few bytes of a frame wait outside the arena, nothing at all holds no buffer
        }
    }
}
