package io.ringblocks.server;

import io.ringblocks.wire.Opcode;
import io.ringblocks.wire.Status;

/**
 * At the connection limit, the accepting worker's longest-idle connection (nothing in flight or partly received, idle
 * for {@link #MIN_IDLE_NANOS} at least) makes room for a new one, so abandoned connections cannot lock every new
 * client out. It is ended as a refusal is: a BUSY frame (opcode 0, request id 0), then a lingering close, so a
 * request its client sent meanwhile is declined, not lost. Candidates come from one scan of the table, used for
 * {@link #RESCAN_NANOS} at most; evictions under way are bounded by the table's {@link #HEADROOM} spare slots, so a
 * burst of accepts cannot close idle connections for nothing. Worker thread only.
 */
final class IdleEviction
{
    /** How long a connection must have been idle before a new one at the limit may take its place. */
    static final long MIN_IDLE_NANOS = 1_000_000_000L;
    /** Connections one scan may pick, and the slots a worker keeps beyond the limit for evictions under way. */
    static final int HEADROOM = 32;
    private static final long RESCAN_NANOS = 10_000_000L;

    private final WorkerContext ctx;
    private final Connections conns;
    private final ConnectionTimeouts timeouts;
    private final Operations ops;
    private final Receiver receiver;
    private final ConnectionClose close;
    /** Idle connections to close for new ones, longest idle first: one scan's worth. */
    private final int[] candidates = new int[HEADROOM];
    private int found;
    private int next;
    private long scannedAt = Long.MIN_VALUE / 2;

    IdleEviction(final WorkerContext ctx, final Connections conns, final ConnectionTimeouts timeouts,
        final Operations ops, final Receiver receiver, final ConnectionClose close)
    {
        this.ctx = ctx;
        this.conns = conns;
        this.timeouts = timeouts;
        this.ops = ops;
        this.receiver = receiver;
        this.close = close;
    }

    /** @return true when an idle connection is being ended to make room for a new one. */
    boolean evictIdle(final long nanos)
    {
        if (conns.evictingCount() >= HEADROOM || conns.openCount() >= conns.capacity)
        {
            return false; // no more evictions, or no slot for the newcomer, until one under way has closed
        }
        boolean scanned = false;
        while (true)
        {
            if (next >= found || nanos - scannedAt >= RESCAN_NANOS)
            {
                if (scanned || found == 0 && nanos - scannedAt < RESCAN_NANOS)
                {
                    return false; // one scan a call at most
                }
                scanned = true;
                found = timeouts.idlest(nanos, MIN_IDLE_NANOS, candidates);
                next = 0;
                scannedAt = nanos;
                if (found == 0)
                {
                    return false;
                }
            }
            final int c = candidates[next++];
            if (timeouts.idleSince(c, nanos, MIN_IDLE_NANOS))
            {
                ctx.stats.increment(ServerStats.IDLE_EVICTIONS);
                evict(c);
                return true;
            }
        }
    }

    private void evict(final int c)
    {
        conns.markEvicted(c); // counted however its close comes about
        try
        {
            final int r = ctx.reqs.acquire(c, conns.generation[c]);
            if (r < 0)
            {
                close.begin(c, false); // no slot for the frame (rare: the connection was idle)
                return;
            }
            ctx.reqs.opcode[r] = Opcode.NONE;
            ctx.reqs.flags[r] = 0;
            ctx.reqs.requestId[r] = 0;
            conns.inFlight[c]++;
            ops.respondStatus(r, Status.BUSY);
            conns.closeAfterSend[c] = true; // only now: nothing may follow the frame
            receiver.resume(c); // its armed receive is cancelled from the ready list; once sent, Linger closes
        }
        catch (final RuntimeException e)
        {
            // The newcomer is admitted all the same: a failed eviction must not leak its descriptor or count.
            ctx.errors.onError(ctx.name + " evicting connection " + c, e);
        }
    }
}
