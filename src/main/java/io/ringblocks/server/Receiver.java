package io.ringblocks.server;

import io.ringblocks.sys.Errno;
import io.ringblocks.uring.BufferRing;
import io.ringblocks.uring.Ring;

/**
 * The receiving half of connection I/O: the completions of receives (posted by {@link ReceivePosts}: a connection
 * waiting for requests keeps one multishot receive armed, which the kernel answers with a completion per arrival),
 * the bytes they brought moved on by {@link Inbox} and split into frames by {@link Framing}, and the lists from which
 * the duty cycle resumes connections: ready (new bytes or a freed slot), starved (no request slot, buffer or arena
 * memory) and, through {@link PartialBodies}, waiting for the body budget.
 * <p>
 * Bytes that arrive in a provided buffer are held until the ready list takes them: a multishot receive goes on
 * delivering while its connection cannot take more (receive buffer full, requests at their bound), so it is
 * cancelled then, and its bytes keep their order. A body larger than the receive buffer is received in place with
 * single-shot receives. A peer's end of stream closes the connection only once what it sent before is started.
 */
final class Receiver implements AutoCloseable, Framing.Host, Inbox.Host, ReceivePosts.Host, HangupWatch.Host
{
    /** Rounds of taking held bytes and parsing them, per connection and duty cycle: the rest waits for the next. */
    private static final int MAX_SETTLE_ROUNDS = 16;

    /** What the receiver asks of the rest of connection I/O. */
    interface Events extends ConnectionEvents
    {
        /** @return true while {@code c} is being drained by a stop ({@link StopDrain}). */
        boolean draining(int c);

        /** A receive of a connection being drained completed. */
        void drained(int c, int res);
    }

    private final WorkerContext ctx;
    private final ServerStats stats;
    private final Requests reqs;
    private final Connections conns;
    private final ConnectionTimeouts timeouts;
    private final PartialBodies bodies;
    /** While the body-budget waiters taken off the list are walked (their list must not be edited meanwhile). */
    private boolean walkingWaiters;
    private final Events events;
    private final Framing framing;
    private Operations ops;
    private final Inbox inbox;
    private final ReceivePosts posts;
    private final HangupWatch hangups;
    /** Connections with new bytes or a freed request slot, resumed in this duty cycle. */
    private final IndexList ready;
    /** Connections short of a request slot, a buffer or arena memory, retried in the next duty cycle. */
    private final IndexList starved;
    private long lastServe;
    private long freesAtServe = -1;
    private long releasesAtServe = -1;
    /** The duty cycle's clock, for the timeouts. */
    private long now = System.nanoTime();

    Receiver(final WorkerContext ctx, final Connections conns, final ConnectionTimeouts timeouts,
        final PartialBodies bodies, final Events events)
    {
        this.ctx = ctx;
        this.stats = ctx.stats;
        this.reqs = ctx.reqs;
        this.conns = conns;
        this.timeouts = timeouts;
        this.bodies = bodies;
        this.events = events;
        inbox = new Inbox(ctx, conns, timeouts, this);
        // Arena bytes one connection may hold before the worker stops reading its requests.
        final long maxBufferBytesPerConnection = Math.max(IoArena.MAX_BUFFER, ctx.config.arenaSize() / 8);
        ready = new IndexList(conns.capacity);
        starved = new IndexList(conns.capacity);
        framing = new Framing(ctx, conns, timeouts, bodies, maxBufferBytesPerConnection, this);
        posts = new ReceivePosts(ctx, conns, timeouts, inbox, maxBufferBytesPerConnection, this);
        hangups = new HangupWatch(ctx, conns, inbox, bodies, this);
    }

    /** Worker thread, once the ring and the operations exist (after what the worker cannot start without). */
    void start(final Operations operations)
    {
        ops = operations;
        framing.start(operations);
        inbox.start(ctx.ring());
        posts.start();
        hangups.start(ctx.ring());
    }

    /** Start of a duty cycle: its clock. */
    void cycle(final long nanos)
    {
        now = nanos;
        framing.cycle(nanos);
        posts.cycle(nanos);
    }

    /**
     * A connection was accepted into slot {@code c}: without provided buffers it needs its receive buffer now.
     *
     * @return false when the arena has none left (the connection is refused).
     */
    boolean opened(final int c)
    {
        hangups.opened(c);
        return inbox.hasProvided() || inbox.ensureRecvBuffer(c);
    }

    /**
     * {@code c} is closing: what it has in the ring besides its receive ends too. A body still arriving with no
     * receive in the ring (a send failed between two of its receives) is dropped now: no completion would come to
     * drop it, and its request would keep the connection from closing, with its buffer and body budget, for ever.
     */
    void closing(final int c)
    {
        hangups.closing(c);
        if (!walkingWaiters)
        {
            bodies.forget(c); // a closing waiter gives its place up now, not when its close completes
        }
        if (!conns.recvPosted[c] && !events.draining(c))
        {
            dropBodyRequest(c);
        }
    }

    /** @return true while {@code c} has a hang-up watch in the ring (its descriptor must stay open). */
    boolean watching(final int c)
    {
        return hangups.armed(c);
    }

    void onHangupPoll(final int c, final int gen, final int res)
    {
        hangups.onPoll(c, gen, res);
    }

    @Override
    public void cutShort(final int c)
    {
        conns.peerDone[c] = true;
        events.beginClose(c, false);
        dropBodyRequest(c);
    }

    @Override
    public void tryFinishClose(final int c)
    {
        events.tryFinishClose(c);
    }

    /** The connection's descriptor is closed: what it held goes back. */
    void closed(final int c)
    {
        inbox.closed(c);
    }

    /** For {@link Linger} and {@link StopDrain}: gives {@code c} a receive buffer of its own if it has none. */
    boolean ensureRecvBuffer(final int c)
    {
        return inbox.ensureRecvBuffer(c);
    }

    /** For {@link StopDrain}: what {@code c} holds becomes what its ended receive brought. */
    int settleForDrain(final int c, final int res)
    {
        return inbox.settleForDrain(c, res, now);
    }

    boolean hasReady()
    {
        return !ready.isEmpty();
    }

    boolean hasStarved()
    {
        return !starved.isEmpty();
    }

    /** Posts the first receive of {@code c}, just accepted. */
    void postRecv(final int c)
    {
        posts.post(c);
    }

    void onRecv(final int c, final int gen, final int res, final int flags)
    {
        final boolean current = conns.generation[c] == gen;
        final boolean inBuffer = (flags & BufferRing.CQE_F_BUFFER) != 0;
        if (inBuffer)
        {
            final int bid = BufferRing.bufferId(flags);
            if (current && res > 0 && (conns.state[c] == Connections.OPEN || events.draining(c)))
            {
                inbox.hold(c, bid, res); // taken from the ready list (or by the drain), in the order they came
            }
            else
            {
                inbox.recycle(bid);
            }
        }
        if (!current)
        {
            return;
        }
        if ((flags & Ring.CQE_F_MORE) != 0)
        {
            if (conns.state[c] == Connections.OPEN)
            {
                timeouts.activity(c, now);
                resume(c); // the multishot receive stays armed
            }
            return;
        }
        final boolean wasMultishot = conns.multishot[c];
        conns.recvPosted[c] = false;
        conns.multishot[c] = false;
        conns.multishotCancelled[c] = false;
        if (conns.state[c] != Connections.OPEN)
        {
            if (events.draining(c))
            {
                events.drained(c, settleForDrain(c, res)); // stopping: what came is answered SHUTTING_DOWN
                return;
            }
            dropBodyRequest(c);
            events.tryFinishClose(c);
            return;
        }
        if (res > 0)
        {
            timeouts.activity(c, now);
            if (!inBuffer)
            {
                received(c, res);
            }
            resume(c);
            return;
        }
        onRecvEnded(c, res, wasMultishot);
    }

    /** {@code res} bytes arrived straight where the connection's state wanted them. */
    private void received(final int c, final int res)
    {
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
                bodyBytes(c, res);
                timeouts.framing(c, false, now);
            }
        }
    }

    /** An open connection's receive ended without bytes. */
    private void onRecvEnded(final int c, final int res, final boolean wasMultishot)
    {
        if (res == -Errno.ENOBUFS)
        {
            // Every provided buffer is in use: this connection receives into a buffer of its own next time.
            stats.increment(ServerStats.RECV_PROVIDED_EXHAUSTED);
            if (inbox.ensureRecvBuffer(c))
            {
                conns.ownRecv[c] = true;
                resume(c);
            }
            else
            {
                starve(c); // retried with the starved, once a provided buffer or arena memory is free again
            }
            return;
        }
        if (wasMultishot && res == -Errno.EINVAL)
        {
            posts.multishotRefused(res);
            resume(c);
            return;
        }
        if (res == -Errno.EINTR || res == -Errno.EAGAIN || res == -Errno.ECANCELED)
        {
            resume(c); // ECANCELED: the multishot receive was cancelled to throttle or to receive a body in place
            return;
        }
        if (res == 0)
        {
            // The peer finished sending: answer what it asked (including bytes still held), then close.
            conns.peerDone[c] = true;
            resume(c);
            return;
        }
        // The connection is gone. CLOSING first, so that finishing the dropped request starts no new work on it.
        events.beginClose(c, true);
        dropBodyRequest(c);
    }

    @Override
    public void bodyBytes(final int c, final int res)
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
        conns.lastBodyLarge[c] = true;
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

    /**
     * Retries the connections that found no request slot or no arena memory, when either was given back since the
     * last try (or {@link Operations#RETRY_NANOS} passed): retrying them on every turn would re-parse the same frames.
     */
    int serveStarved(final long now)
    {
        if (starved.isEmpty() || ctx.arena.frees() == freesAtServe && ctx.reqs.releases() == releasesAtServe &&
            now - lastServe < Operations.RETRY_NANOS)
        {
            return 0;
        }
        lastServe = now;
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
                    if (conns.state[c] == Connections.OPEN && conns.parseBlocked[c])
                    {
                        settle(c);
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
        // After the retries: a slot taken and given back by one of them, or a buffer, is no news.
        freesAtServe = ctx.arena.frees();
        releasesAtServe = ctx.reqs.releases();
        return work;
    }

    /** Retries, in order, the connections that waited for the partial-body budget, once budget was released. */
    int serveBodyWaiters()
    {
        int c = bodies.takeWaiters();
        int work = 0;
        boolean full = false;
        walkingWaiters = true;
        try
        {
            while (c >= 0)
            {
                // Moved past before it is retried: should the retry throw, the finally below starts at the first
                // waiter still on the taken list (a retried one may be on the live list again, its links rewritten).
                final int current = c;
                c = bodies.nextOf(current);
                if (full)
                {
                    // In order, and without parsing their headers again: the first that did not fit holds its place,
                    // so a release costs one retry, not one per waiter, and a large body is not passed by smaller ones.
                    requeue(current);
                    continue;
                }
                if (retryWaiter(current))
                {
                    work++;
                }
                full = bodies.isWaiting(current);
            }
        }
        finally
        {
            // Should a retry have thrown past its own handler, the rest keep their places rather than be stranded
            // flagged waiting on no list.
            while (c >= 0)
            {
                final int next = bodies.nextOf(c);
                requeue(c);
                c = next;
            }
            walkingWaiters = false;
        }
        return work;
    }

    private void requeue(final int c)
    {
        if (conns.state[c] == Connections.OPEN)
        {
            bodies.await(c);
        }
    }

    /** @return whether waiter {@code c} got further (it was admitted, or no longer waits for budget). */
    private boolean retryWaiter(final int c)
    {
        if (conns.state[c] != Connections.OPEN)
        {
            return false; // closing: it leaves the queue
        }
        try
        {
            bodies.admitting(c);
            try
            {
                settle(c);
            }
            finally
            {
                bodies.admitting(-1);
            }
        }
        catch (final RuntimeException e)
        {
            ctx.errors.onError(ctx.name + " connection " + c, e);
            events.beginClose(c, true);
        }
        finally
        {
            if (bodies.isWaiting(c) && conns.state[c] != Connections.OPEN)
            {
                bodies.forget(c); // it waited again, then began closing: no place to hold (it is on the live list)
            }
        }
        // Only progress counts: a connection that waits again must not keep the worker awake.
        return !bodies.isWaiting(c) && !starved.contains(c);
    }

    /**
     * Puts {@code c} on the ready list: it has new bytes or a freed request slot. The duty cycle resumes it after
     * the completions are handled, so no completion handler ever parses (and answers) from inside another one.
     */
    @Override
    public void resume(final int c)
    {
        ready.add(c);
    }

    /**
     * Takes what {@code c} holds and parses it, in rounds (parsing makes room in the receive buffer, a finished body
     * lets the next frames through), then posts its next receive, or closes it once everything a peer that finished
     * sending asked for is started.
     */
    private void settle(final int c)
    {
        for (int round = 0; conns.state[c] == Connections.OPEN; round++)
        {
            final int heldBefore = inbox.heldBytes(c);
            if (!inbox.deliver(c, now))
            {
                starve(c); // no arena memory for what it received: retried with the starved
                posts.stopTakingIfArmed(c); // meanwhile its multishot receive must not take the other connections' buffers
                return;
            }
            final int filledBefore = conns.filled[c];
            if (inbox.stashed(c))
            {
                // Nothing new: a stash is the start of a frame the next bytes must complete (it is taken only from a
                // connection that was not held back), so there is nothing to parse, and no buffer to take for it. As
                // after a parse, it is not blocked: a starved connection resumed here must get its receive posted.
                conns.parseBlocked[c] = false;
                break;
            }
            if (conns.filled[c] > 0 && conns.bodyState[c] == Connections.BODY_NONE)
            {
                if (!inbox.ensureRecvBuffer(c))
                {
                    starve(c); // what it stashed goes back into a buffer before it is parsed
                    posts.stopTakingIfArmed(c);
                    return;
                }
                framing.parse(c);
                if (conns.bodyState[c] == Connections.BODY_NONE && conns.filled[c] < filledBefore)
                {
                    // Whole frames that fit the receive buffer (not just the start of the next large PUT's header):
                    // multishot pays again.
                    conns.lastBodyLarge[c] = false;
                }
            }
            else
            {
                conns.parseBlocked[c] = false; // nothing to parse: a starved receive may be posted again
            }
            if (!inbox.holding(c) || inbox.heldBytes(c) == heldBefore && conns.filled[c] == filledBefore)
            {
                break; // all taken, or waiting (for a request slot, the body budget, a request to finish)
            }
            if (round == MAX_SETTLE_ROUNDS - 1)
            {
                resume(c); // a connection with much held goes on in the next cycle, after the others
                posts.stopTakingIfArmed(c);
                return;
            }
        }
        if (conns.state[c] != Connections.OPEN)
        {
            return;
        }
        if (conns.peerDone[c] && !inbox.holding(c) &&
            (conns.bodyState[c] != Connections.BODY_NONE || !posts.throttled(c) || bodies.isWaiting(c)))
        {
            // Every complete frame it sent is started (a throttled connection is resumed as its requests finish),
            // or a body is cut short and can never complete (being received, or waiting for the body budget). One
            // waiting for budget with bytes still held may yet be whole: it waits for the budget like any other.
            events.beginClose(c, false);
            dropBodyRequest(c);
            return;
        }
        posts.maybePost(c);
        if (bodies.isWaiting(c))
        {
            hangups.waiting(c); // with no receive posted, none would see its peer's end of stream
        }
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
                        settle(c);
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
        inbox.close();
    }
}
