package io.ringblocks.server;

import org.agrona.concurrent.UnsafeBuffer;

import io.ringblocks.sys.Errno;
import io.ringblocks.uring.BufferRing;
import io.ringblocks.uring.Ring;
import io.ringblocks.uring.UserData;

/**
 * The receiving half of connection I/O: posting receives (through the provided-buffer ring where the kernel has
 * one, so a connection waiting for bytes holds no memory), taking what arrives into the connection's own buffer,
 * splitting it into frames and starting a request for each, and the lists from which the duty cycle resumes
 * connections: ready (new bytes or a freed slot), starved (no request slot, buffer or arena memory) and, through
 * {@link PartialBodies}, waiting for the body budget.
 */
final class Receiver implements AutoCloseable, Framing.Host
{
    /** Provided receive buffers per worker: enough for this many connections receiving in one duty cycle. */
    static final int PROVIDED_BUFFERS = 128;
    static final int PROVIDED_BUFFER_SIZE = 16 << 10;
    /** Fewer than this would run dry at once: such a worker gives every connection a buffer of its own instead. */
    static final int MIN_PROVIDED_BUFFERS = 16;
    private static final int PROVIDED_GROUP = 1;
    private static final System.Logger LOG = System.getLogger("ringblocks");

    /** What the receiver asks of the rest of connection I/O. */
    interface Events extends ConnectionEvents
    {
        /** @return true while {@code c} is being drained by a stop ({@link StopDrain}). */
        boolean draining(int c);

        /** A receive of a connection being drained completed. */
        void drained(int c, int res);
    }

    private final WorkerContext ctx;
    private final ServerConfig config;
    private final ServerStats stats;
    private final Requests reqs;
    private final IoArena arena;
    private final UnsafeBuffer memory;
    private final Connections conns;
    private final ConnectionTimeouts timeouts;
    private final PartialBodies bodies;
    private final Events events;
    private final int recvClass;
    /** Arena bytes one connection may hold before the worker stops reading its requests. */
    private final long maxBufferBytesPerConnection;
    private final Framing framing;
    private Ring ring;
    private Operations ops;
    /** Receive buffers the kernel picks only when bytes arrive; null where unsupported (every connection owns one). */
    private BufferRing provided;
    /** Connections with new bytes or a freed request slot, resumed in this duty cycle. */
    private final IndexList ready;
    /** Connections short of a request slot, a buffer or arena memory, retried in the next duty cycle. */
    private final IndexList starved;
    /** The duty cycle's clock, for the timeouts. */
    private long now = System.nanoTime();

    Receiver(final WorkerContext ctx, final Connections conns, final ConnectionTimeouts timeouts,
        final PartialBodies bodies, final Events events)
    {
        this.ctx = ctx;
        this.config = ctx.config;
        this.stats = ctx.stats;
        this.reqs = ctx.reqs;
        this.arena = ctx.arena;
        this.memory = ctx.memory;
        this.conns = conns;
        this.timeouts = timeouts;
        this.bodies = bodies;
        this.events = events;
        recvClass = IoArena.classFor(config.recvBufferSize());
        maxBufferBytesPerConnection = Math.max(IoArena.MAX_BUFFER, config.arenaSize() / 8);
        ready = new IndexList(conns.capacity);
        starved = new IndexList(conns.capacity);
        framing = new Framing(ctx, conns, timeouts, bodies, maxBufferBytesPerConnection, this);
    }

    /** Worker thread, once the ring and the operations exist (after what the worker cannot start without). */
    void start(final Operations operations)
    {
        ring = ctx.ring();
        ops = operations;
        framing.start(operations);
        provided = registerProvidedBuffers();
        stats.set(ServerStats.PROVIDED_BUFFERS, provided != null ? 1 : 0);
    }

    /** Start of a duty cycle: its clock. */
    void cycle(final long nanos)
    {
        now = nanos;
        framing.cycle(nanos);
    }

    /**
     * A connection was accepted into slot {@code c}: without provided buffers it needs its receive buffer now.
     *
     * @return false when the arena has none left (the connection is refused).
     */
    boolean opened(final int c)
    {
        return provided != null || ensureRecvBuffer(c);
    }

    /** The connection's descriptor is closed: what it held goes back. */
    void closed(final int c)
    {
        releaseRecvBuffer(c);
        if (conns.heldBid[c] >= 0)
        {
            provided.recycle(conns.heldBid[c]);
            conns.heldBid[c] = -1;
        }
    }

    boolean hasReady()
    {
        return !ready.isEmpty();
    }

    boolean hasStarved()
    {
        return !starved.isEmpty();
    }

    void postRecv(final int c)
    {
        final int state = conns.bodyState[c];
        final boolean own = conns.ownRecv[c];
        conns.ownRecv[c] = false;
        if (provided != null && !own && conns.filled[c] == 0 &&
            (state == Connections.BODY_DISCARD || state == Connections.BODY_NONE))
        {
            releaseRecvBuffer(c); // nothing is kept in it: wait for bytes without holding memory
            conns.recvPosted[c] = true;
            timeouts.readResumed(c, now);
            final int most = state == Connections.BODY_DISCARD ?
                Math.min(provided.bufferSize(), conns.bodyRemaining[c]) : provided.bufferSize();
            ring.prepRecvSelect(conns.fd[c], most, provided.group(), UserData.pack(c, Worker.OP_RECV, conns.generation[c]));
            return;
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
            events.beginClose(c, true);
            return;
        }
        conns.recvPosted[c] = true;
        timeouts.readResumed(c, now);
        ring.prepRecv(conns.fd[c], arena.address(target), length, 0, UserData.pack(c, Worker.OP_RECV, conns.generation[c]));
    }

    /**
     * Copies {@code res} bytes a receive put into provided buffer {@code bid} to where the connection keeps
     * received bytes: its own buffer (taken now if it has none), after what it holds; discarded bodies are dropped.
     *
     * @return false when there was no arena memory to keep them.
     */
    private boolean absorb(final int c, final int bid, final int res)
    {
        final boolean reading = conns.state[c] == Connections.OPEN || events.draining(c);
        if (!reading || conns.bodyState[c] == Connections.BODY_DISCARD)
        {
            return true;
        }
        if (!ensureRecvBuffer(c))
        {
            return false;
        }
        memory.putBytes((int)(conns.recvBuffer[c] + conns.filled[c]), memory,
            (int)(provided.address(bid) - arena.address(0)), res);
        return true;
    }

    /**
     * Moves the bytes a connection kept in a provided buffer (for lack of arena memory) into a buffer of its own.
     *
     * @return false while there is still no memory: the connection stays starved.
     */
    private boolean takeHeld(final int c)
    {
        final int bid = conns.heldBid[c];
        if (bid < 0)
        {
            return true;
        }
        if (!ensureRecvBuffer(c))
        {
            return false;
        }
        memory.putBytes((int)(conns.recvBuffer[c] + conns.filled[c]), memory,
            (int)(provided.address(bid) - arena.address(0)), conns.heldLength[c]);
        conns.filled[c] += conns.heldLength[c];
        conns.heldBid[c] = -1;
        conns.heldLength[c] = 0;
        provided.recycle(bid);
        return true;
    }

    /** Gives the connection a receive buffer of its own if it has none. @return false when the arena is full. */
    boolean ensureRecvBuffer(final int c)
    {
        if (conns.recvBuffer[c] != IoArena.NONE)
        {
            return true;
        }
        final long buffer = arena.allocate(recvClass);
        if (buffer == IoArena.NONE)
        {
            return false;
        }
        conns.recvBuffer[c] = buffer;
        stats.increment(ServerStats.RECV_BUFFERS_HELD);
        return true;
    }

    void releaseRecvBuffer(final int c)
    {
        if (conns.recvBuffer[c] != IoArena.NONE)
        {
            arena.free(conns.recvBuffer[c], recvClass);
            conns.recvBuffer[c] = IoArena.NONE;
            stats.add(ServerStats.RECV_BUFFERS_HELD, -1);
        }
    }

    /**
     * Registers up to {@link #PROVIDED_BUFFERS} receive buffers of up to 16 KiB, carved from at most a quarter of the
     * arena, as this ring's provided-buffer group. @return null where the kernel has none (before 5.19) or the
     * arena is too small.
     */
    BufferRing registerProvidedBuffers()
    {
        final int size = Math.min(PROVIDED_BUFFER_SIZE, config.recvBufferSize());
        // At most a quarter of the arena: the rest is for block buffers and the receive buffers of busy connections.
        final long most = Math.min(PROVIDED_BUFFERS, config.arenaSize() / 4 / size);
        final int count = most < MIN_PROVIDED_BUFFERS ? 0 : Integer.highestOneBit((int)most);
        final int cls = IoArena.classFor(Math.max(1, count * size));
        final long region = count == 0 ? IoArena.NONE : arena.allocate(cls);
        if (region == IoArena.NONE)
        {
            LOG.log(System.Logger.Level.INFO, ctx.name + ": arena too small for provided receive buffers; " +
                "every connection keeps a " + config.recvBufferSize() + "-byte receive buffer");
            return null;
        }
        final BufferRing ring = BufferRing.register(this.ring, PROVIDED_GROUP, count, arena.address(region), size);
        if (ring == null)
        {
            arena.free(region, cls);
            LOG.log(System.Logger.Level.INFO, ctx.name + ": no provided-buffer rings on this kernel; " +
                "every connection keeps a " + config.recvBufferSize() + "-byte receive buffer");
        }
        return ring;
    }

    /** Posts a receive unless the connection is throttled, closing or already receiving. */
    void maybePostRecv(final int c)
    {
        if (conns.state[c] != Connections.OPEN || conns.recvPosted[c] || conns.closeAfterSend[c] ||
            conns.heldBid[c] >= 0)
        {
            return;
        }
        if (conns.bodyState[c] != Connections.BODY_NONE)
        {
            postRecv(c);
            return;
        }
        if (conns.parseBlocked[c] || conns.inFlight[c] >= config.maxInFlight() ||
            conns.bufferBytes[c] >= maxBufferBytesPerConnection || conns.filled[c] >= config.recvBufferSize())
        {
            timeouts.readHeld(c);
            return;
        }
        postRecv(c);
    }

    void onRecv(final int c, final int gen, final int res, final int flags)
    {
        if ((flags & BufferRing.CQE_F_BUFFER) != 0)
        {
            final int bid = BufferRing.bufferId(flags);
            if (conns.generation[c] == gen && res > 0 && conns.state[c] == Connections.OPEN &&
                conns.bodyState[c] == Connections.BODY_NONE && !ensureRecvBuffer(c))
            {
                // No arena memory for the bytes: the connection keeps the provided buffer and waits with the
                // starved until memory is free (takeHeld); nothing is lost and nothing else is read from it.
                conns.recvPosted[c] = false;
                conns.heldBid[c] = bid;
                conns.heldLength[c] = res;
                timeouts.activity(c, now);
                starve(c);
                return;
            }
            final boolean kept = conns.generation[c] != gen || res <= 0 || absorb(c, bid, res);
            provided.recycle(bid);
            if (!kept)
            {
                // Stopping, and no memory to answer what arrived: end as if the socket broke.
                onRecv(c, gen, -Errno.ENOMEM, 0);
                return;
            }
        }
        else if (res == -Errno.ENOBUFS && conns.generation[c] == gen && conns.state[c] == Connections.OPEN)
        {
            // Every provided buffer is in use: this connection receives into a buffer of its own this time.
            stats.increment(ServerStats.RECV_PROVIDED_EXHAUSTED);
            conns.recvPosted[c] = false;
            if (ensureRecvBuffer(c))
            {
                conns.ownRecv[c] = true;
                postRecv(c);
            }
            else
            {
                starve(c); // retried with the starved, once a provided buffer or arena memory is free again
            }
            return;
        }
        if (conns.generation[c] != gen)
        {
            return;
        }
        conns.recvPosted[c] = false;
        if (conns.state[c] != Connections.OPEN)
        {
            if (events.draining(c))
            {
                events.drained(c, res); // stopping: what this receive brought is answered SHUTTING_DOWN
                return;
            }
            dropBodyRequest(c);
            events.tryFinishClose(c);
            return;
        }
        if (res <= 0)
        {
            if (res == -Errno.EINTR || res == -Errno.EAGAIN || res == -Errno.ENOBUFS)
            {
                postRecv(c);
                return;
            }
            // 0: the peer finished sending; answer what it asked, then close. An error: the connection is gone.
            // CLOSING first, so that finishing the dropped request does not start new work on this connection.
            events.beginClose(c, res < 0);
            dropBodyRequest(c);
            return;
        }
        timeouts.activity(c, now);
        switch (conns.bodyState[c])
        {
            case Connections.BODY_NONE -> conns.filled[c] += res; // parsed from the ready list
            case Connections.BODY_DISCARD ->
            {
                conns.bodyRemaining[c] -= res;
                if (conns.bodyRemaining[c] == 0)
                {
                    conns.bodyState[c] = Connections.BODY_NONE;
                }
                timeouts.framing(c, false, now);
            }
            default ->
            {
                onBodyBytes(c, res);
                timeouts.framing(c, false, now);
            }
        }
        resume(c);
    }

    private void onBodyBytes(final int c, final int res)
    {
        conns.bodyTarget[c] += res;
        conns.bodyRemaining[c] -= res;
        if (conns.bodyRemaining[c] > 0)
        {
            return;
        }
        final int r = conns.bodyRequest[c];
        if (conns.bodyState[c] == Connections.BODY_EXPECTED_HASH)
        {
            conns.bodyState[c] = Connections.BODY_PAYLOAD;
            conns.bodyTarget[c] = ops.payloadAddress(r, 0);
            conns.bodyRemaining[c] = reqs.payloadLength[r];
            return;
        }
        conns.bodyState[c] = Connections.BODY_NONE;
        conns.bodyRequest[c] = -1;
        bodies.release(c);
        ops.startPut(r);
    }

    /** A request whose body was still arriving when the connection went away. */
    private void dropBodyRequest(final int c)
    {
        final int r = conns.bodyRequest[c];
        bodies.release(c);
        if (r >= 0)
        {
            conns.bodyRequest[c] = -1;
            conns.bodyState[c] = Connections.BODY_NONE;
            events.finishRequest(r);
        }
    }

    @Override
    public void starve(final int c)
    {
        conns.parseBlocked[c] = true;
        if (starved.add(c))
        {
            stats.increment(ServerStats.STARVATIONS);
        }
    }

    int serveStarved()
    {
        int c = starved.takeAll();
        int next = -1;
        int work = 0;
        try
        {
            while (c >= 0)
            {
                next = starved.leave(c);
                try
                {
                    if (conns.state[c] == Connections.OPEN && !takeHeld(c))
                    {
                        starve(c); // still no arena memory for what it received
                    }
                    else if (conns.state[c] == Connections.OPEN && conns.parseBlocked[c])
                    {
                        framing.parse(c);
                        maybePostRecv(c);
                        if (!starved.contains(c))
                        {
                            work++; // only progress counts, so a worker short of slots still sleeps between retries
                        }
                    }
                }
                catch (final RuntimeException e)
                {
                    ctx.errors.onError(ctx.name + " connection " + c, e);
                    events.beginClose(c, true);
                }
                c = next;
            }
        }
        finally
        {
            if (c >= 0)
            {
                starved.requeue(next); // a fault escaped: the ones not visited yet stay listed
            }
        }
        return work;
    }

    /** Retries, in order, the connections that waited for the partial-body budget, once budget was released. */
    int serveBodyWaiters()
    {
        int c = bodies.takeWaiters();
        int work = 0;
        while (c >= 0)
        {
            final int next = bodies.nextOf(c);
            if (conns.state[c] == Connections.OPEN && conns.parseBlocked[c])
            {
                framing.parse(c);
                maybePostRecv(c);
                if (!bodies.isWaiting(c) && !starved.contains(c))
                {
                    work++; // only progress counts: a connection that waits again must not keep the worker awake
                }
            }
            c = next;
        }
        return work;
    }

    /**
     * Puts {@code c} on the ready list: it has new bytes or a freed request slot. The duty cycle resumes it after
     * the completions are handled, so no completion handler ever parses (and answers) from inside another one.
     */
    void resume(final int c)
    {
        ready.add(c);
    }

    /** Parses what the ready connections received and posts their next receive. */
    int serveReady()
    {
        int c = ready.takeAll();
        int next = -1;
        int work = 0;
        try
        {
            while (c >= 0)
            {
                next = ready.leave(c);
                if (conns.state[c] == Connections.OPEN)
                {
                    try
                    {
                        if (conns.filled[c] > 0 && conns.bodyState[c] == Connections.BODY_NONE)
                        {
                            framing.parse(c);
                        }
                        maybePostRecv(c);
                    }
                    catch (final RuntimeException e)
                    {
                        // One connection's fault must not strand the rest of the list.
                        ctx.errors.onError(ctx.name + " connection " + c, e);
                        events.beginClose(c, true);
                    }
                    work++;
                }
                c = next;
            }
        }
        finally
        {
            if (c >= 0)
            {
                ready.requeue(next); // a fault escaped (from the close above): the rest stay listed
            }
        }
        return work;
    }


    @Override
    public void beginClose(final int c, final boolean broken)
    {
        events.beginClose(c, broken);
    }

    @Override
    public void close()
    {
        if (provided != null)
        {
            provided.close();
        }
    }
}
