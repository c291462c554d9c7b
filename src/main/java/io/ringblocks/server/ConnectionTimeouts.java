package io.ringblocks.server;

/**
 * A worker's connection deadlines, checked by one sweep over the connection table:
 * <ul>
 * <li><b>send</b>: a response not sent completely within the send timeout of reaching the head of its connection's
 * queue (the client stopped reading, or reads so slowly that it would pin the response's buffer for ever: a short
 * send does not restart the clock);</li>
 * <li><b>request</b>: a frame whose first bytes arrived a request timeout ago and is still incomplete while the worker
 * waits for the rest (a stalled upload, a slowloris client). Time the worker itself holds a connection unread
 * (in-flight bound, buffer starvation, the partial-body budget) does not count: the clock restarts when reading
 * resumes, see {@link #readResumed};</li>
 * <li><b>idle</b>: nothing in flight, buffered or partly received, and no traffic for the idle timeout.</li>
 * </ul>
 * Under pressure two deadlines shorten, since then a slow client holds what others wait for: while the worker's
 * arena or its request slots have recently run short, a response must leave within an eighth of the send timeout
 * (at least 1 s); while large PUTs wait for the partial-body budget, a body must arrive whole within a sixth of the
 * request timeout (at least 1 s) of when the worker started reading it, or of when the pressure began if that was
 * later (a byte now and then does not keep the budget: the clock is not reset by progress). Without pressure, slow clients get the full timeouts.
 * Events only lower the next sweep time (one compare), and the sweep computes the earliest deadline left, so the worker
 * wakes for a deadline only while one exists and never sweeps more often than every {@link #minGapNanos}. Times are
 * passed in by the caller (the worker's cycle clock), so the logic runs deterministically in tests. Worker thread only.
 */
final class ConnectionTimeouts
{
    static final int SEND = 1;
    static final int REQUEST = 2;
    static final int IDLE = 3;
    /** How long after its last sign pressure still shortens the deadlines. */
    static final long PRESSURE_NANOS = 1_000_000_000L;

    /** What the worker does with a connection whose deadline passed. */
    interface Expiry
    {
        void expired(int c, int kind);
    }

    private final Connections conns;
    private final long sendNanos;
    private final long requestNanos;
    /** 0: idle connections are kept. */
    private final long idleNanos;
    private final long minGapNanos;
    /** A frame of this connection is partly received (or its complete frames are still buffered). */
    private final boolean[] framePending;
    private final long[] frameSince;
    private final long[] lastActivity;
    private final long pressureSendNanos;
    private final long bodyStallNanos;
    /** When the arena or the request slots last ran short, and when a large PUT last waited for the body budget. */
    private long arenaPressureAt = Long.MIN_VALUE / 2;
    private long bodyPressureAt = Long.MIN_VALUE / 2;
    /** When the current episode of body-budget pressure began: a body already on its way gets its time from then. */
    private long bodyPressureSince = Long.MIN_VALUE / 2;
    /** The worker stopped reading this connection for reasons of its own (see {@link #readHeld}). */
    private final boolean[] held;
    private long nextSweep = Long.MAX_VALUE;

    ConnectionTimeouts(final Connections conns, final long sendMillis, final long requestMillis, final long idleMillis)
    {
        this.conns = conns;
        sendNanos = nanos(sendMillis);
        requestNanos = nanos(requestMillis);
        idleNanos = nanos(idleMillis);
        long shortest = Math.min(sendNanos, requestNanos);
        if (idleNanos > 0)
        {
            shortest = Math.min(shortest, idleNanos);
        }
        // A deadline fires at most an eighth late (at most 1 s): precise enough, and sweeps stay rare.
        minGapNanos = Math.max(1_000_000L, Math.min(shortest / 8, 1_000_000_000L));
        framePending = new boolean[conns.capacity];
        frameSince = new long[conns.capacity];
        lastActivity = new long[conns.capacity];
        pressureSendNanos = Math.min(sendNanos, Math.max(1_000_000_000L, sendNanos / 8));
        bodyStallNanos = Math.min(requestNanos, Math.max(1_000_000_000L, requestNanos / 6));
        held = new boolean[conns.capacity];
    }

    private static long nanos(final long millis)
    {
        return Math.min(millis, Long.MAX_VALUE / 4_000_000L) * 1_000_000L;
    }

    /** A fresh connection: idle from now on. */
    void opened(final int c, final long now)
    {
        framePending[c] = false;
        held[c] = false;
        activity(c, now);
    }

    /** Bytes arrived or a response started to leave. */
    void activity(final int c, final long now)
    {
        lastActivity[c] = now;
        if (idleNanos > 0)
        {
            schedule(now + idleNanos);
        }
    }

    /** A response became the head of {@code c}'s send queue: its send deadline starts. */
    void responseAtHead(final int c, final long now)
    {
        conns.sendSince[c] = now;
    }

    /** A send was submitted: the head response's deadline stands, whatever earlier sends of it moved. */
    void sendStarted(final int c, final long now)
    {
        schedule(conns.sendSince[c] + sendNanos);
        activity(c, now);
    }

    /**
     * After received bytes were consumed: tracks whether a frame is pending and since when.
     *
     * @param completedFrames whether frames were consumed, so that what is left is a new frame.
     */
    void framing(final int c, final boolean completedFrames, final long now)
    {
        final boolean pending = conns.bodyState[c] != Connections.BODY_NONE || conns.filled[c] > 0;
        if (!pending)
        {
            framePending[c] = false;
        }
        else if (!framePending[c] || completedFrames)
        {
            framePending[c] = true;
            frameSince[c] = now;
            schedule(now + requestNanos);
        }
    }

    /**
     * Once a cycle: whether the arena or the request slots ran short and whether large PUTs wait for the body budget,
     * so the shortened
     * deadlines apply (for a second after the last sign of it); a fresh sign brings the next sweep forward.
     */
    void pressure(final boolean arenaShort, final boolean bodiesWaiting, final long now)
    {
        if (arenaShort)
        {
            // At once when an episode starts; during one, at the sweeps' own pace (deadlines set meanwhile, such as a
            // send started now, were scheduled with the full timeouts).
            schedule(now - arenaPressureAt >= PRESSURE_NANOS ? now : now + minGapNanos);
            arenaPressureAt = now;
        }
        if (bodiesWaiting)
        {
            if (now - bodyPressureAt >= PRESSURE_NANOS)
            {
                bodyPressureSince = now; // a new episode
                schedule(now);
            }
            else
            {
                schedule(now + minGapNanos);
            }
            bodyPressureAt = now;
        }
    }

    /** The worker does not read {@code c} for now (in-flight bound, buffers, partial-body budget). */
    void readHeld(final int c)
    {
        held[c] = true;
    }

    /** A receive is posted: after a hold, the client gets a full request timeout again for its pending frame. */
    void readResumed(final int c, final long now)
    {
        if (held[c])
        {
            held[c] = false;
            if (!framePending[c])
            {
                return;
            }
            frameSince[c] = now;
            schedule(now + requestNanos);
        }
    }

    private void schedule(final long deadline)
    {
        if (deadline < nextSweep)
        {
            nextSweep = deadline;
        }
    }

    /** @return when the worker must wake up for the next sweep, {@link Long#MAX_VALUE} when nothing can time out. */
    long nextSweep()
    {
        return nextSweep;
    }

    /**
     * Hands every connection whose deadline passed to {@code expiry} (once: the worker closes it) and schedules the
     * next sweep.
     *
     * @return how many expired.
     */
    int sweep(final long now, final Expiry expiry)
    {
        if (now < nextSweep)
        {
            return 0;
        }
        long earliest = Long.MAX_VALUE;
        int expired = 0;
        final long sendLimit = now - arenaPressureAt < PRESSURE_NANOS ? pressureSendNanos : sendNanos;
        final boolean bodyPressure = now - bodyPressureAt < PRESSURE_NANOS;
        for (int c = 0; c < conns.capacity; c++)
        {
            final int state = conns.state[c];
            if (state == Connections.FREE || state == Connections.CLOSED)
            {
                continue;
            }
            if (conns.sending[c])
            {
                final long deadline = conns.sendSince[c] + sendLimit;
                if (now >= deadline)
                {
                    conns.sendSince[c] = Long.MAX_VALUE / 2; // once: the worker's close ends the send
                    expired++;
                    expiry.expired(c, SEND);
                    continue;
                }
                earliest = Math.min(earliest, deadline);
            }
            if (state != Connections.OPEN || conns.closeAfterSend[c])
            {
                continue;
            }
            if (framePending[c])
            {
                if (conns.recvPosted[c])
                {
                    final long deadline = bodyPressure && (conns.bodyState[c] == Connections.BODY_PAYLOAD ||
                        conns.bodyState[c] == Connections.BODY_EXPECTED_HASH) ?
                        Math.max(frameSince[c], bodyPressureSince) + bodyStallNanos :
                        frameSince[c] + requestNanos;
                    if (now >= deadline)
                    {
                        framePending[c] = false;
                        expired++;
                        expiry.expired(c, REQUEST);
                        continue;
                    }
                    earliest = Math.min(earliest, deadline);
                }
                continue; // held by the worker: readResumed restarts its clock
            }
            if (idleNanos > 0 && isIdle(c))
            {
                final long deadline = lastActivity[c] + idleNanos;
                if (now >= deadline)
                {
                    expired++;
                    expiry.expired(c, IDLE);
                    continue;
                }
                earliest = Math.min(earliest, deadline);
            }
        }
        nextSweep = earliest == Long.MAX_VALUE ? Long.MAX_VALUE : Math.max(earliest, now + minGapNanos);
        return expired;
    }

    /**
     * Fills {@code out} with up to {@code out.length} open connections idle for at least {@code minIdleNanos}, the
     * longest idle first: whom to close when a new connection finds the server at its limit.
     *
     * @return how many were found.
     */
    int idlest(final long now, final long minIdleNanos, final int[] out)
    {
        int n = 0;
        for (int c = 0; c < conns.capacity; c++)
        {
            if (conns.state[c] != Connections.OPEN || !isIdle(c) || now - lastActivity[c] < minIdleNanos)
            {
                continue;
            }
            // Insertion into the short list, longest idle first.
            int at = n < out.length ? n++ : out.length;
            while (at > 0 && lastActivity[out[at - 1]] > lastActivity[c])
            {
                if (at < out.length)
                {
                    out[at] = out[at - 1];
                }
                at--;
            }
            if (at < out.length)
            {
                out[at] = c;
            }
        }
        return n;
    }

    /** @return whether {@code c} is open, idle and has been since at least {@code minIdleNanos} before {@code now}. */
    boolean idleSince(final int c, final long now, final long minIdleNanos)
    {
        return conns.state[c] == Connections.OPEN && isIdle(c) && now - lastActivity[c] >= minIdleNanos;
    }

    private boolean isIdle(final int c)
    {
        // parseBlocked: it has bytes the worker could not take yet (no slot, buffer or memory): waiting on us, not idle.
        return conns.inFlight[c] == 0 && !conns.sending[c] && conns.sendHead[c] < 0 && conns.filled[c] == 0 &&
            conns.bodyState[c] == Connections.BODY_NONE && !conns.parseBlocked[c];
    }
}
