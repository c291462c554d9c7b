package io.ringblocks.server;

/**
 * The arena budget of PUT bodies still arriving on one worker. A large PUT's block buffer is taken when its header is
 * parsed and stays held while the client sends the body, so clients that send a header and stall could otherwise
 * take the whole arena and starve complete requests. A connection whose body would exceed the budget waits, unread
 * (TCP flow control pushes back on the client), in FIFO order until bodies complete or are dropped. Worker thread only.
 */
final class PartialBodies
{
    /** Most connections waiting for budget per worker; a large PUT beyond it is refused BUSY (see Framing). */
    static final int MAX_WAITERS = 64;

    private final long limit;
    private final long[] held;
    private final int[] next;
    private final int[] prev;
    private final boolean[] waiting;
    private long total;
    /** Connections flagged waiting (on the wait list, or on a taken list not yet walked past them). */
    private int waiters;
    private int head = -1;
    private int tail = -1;
    private boolean released;
    /** The waiter being retried now ({@link #admitting(int)}), the only one that may take budget while others wait. */
    private int admitting = -1;

    PartialBodies(final int capacity, final long limit)
    {
        this.limit = limit;
        held = new long[capacity];
        next = new int[capacity];
        prev = new int[capacity];
        waiting = new boolean[capacity];
    }

    /**
     * @return false when {@code bytes} more would exceed the budget, or when others wait before {@code c} (admission
     * is first come, first served: a newcomer does not pass them): call {@link #await} and stop reading.
     */
    boolean tryTake(final int c, final long bytes)
    {
        if (total + bytes > limit || waiters > 0 && c != admitting)
        {
            return false;
        }
        total += bytes;
        held[c] += bytes;
        return true;
    }

    /** The body of {@code c} completed or was dropped (idempotent). */
    void release(final int c)
    {
        if (held[c] > 0)
        {
            total -= held[c];
            held[c] = 0;
            released = head >= 0;
        }
    }

    /**
     * Undoes a {@link #tryTake} of {@code c} whose request could not start after all (no slot, no buffer). Waiters are
     * not woken: the budget is back where it was before the take, so retrying them would only find the same.
     */
    void undoTake(final int c)
    {
        total -= held[c];
        held[c] = 0;
    }

    /** @return true while {@code c} is on the wait list. */
    boolean isWaiting(final int c)
    {
        return waiting[c];
    }

    void await(final int c)
    {
        if (waiting[c])
        {
            return;
        }
        waiting[c] = true;
        waiters++;
        next[c] = -1;
        prev[c] = tail;
        if (tail < 0)
        {
            head = c;
        }
        else
        {
            next[tail] = c;
        }
        tail = c;
    }

    /**
     * {@code c} is closing or closed: it leaves the wait list if it is on it. Only for a connection on the live list or
     * on none: one still on a list taken by {@link #takeWaiters} and not yet walked past has its links in that list.
     */
    void forget(final int c)
    {
        if (!waiting[c])
        {
            return;
        }
        waiting[c] = false;
        waiters--;
        final int before = prev[c];
        final int after = next[c];
        if (before < 0)
        {
            head = after;
            released |= after >= 0; // the first waiter left: the next one gets its turn
        }
        else
        {
            next[before] = after;
        }
        if (after < 0)
        {
            tail = before;
        }
        else
        {
            prev[after] = before;
        }
    }

    /**
     * Takes the whole wait list once budget was released since the last call; the caller retries each connection in
     * order, and those that still do not fit {@link #await} again, keeping their order.
     *
     * @return the first connection of the list (follow with {@link #nextOf}), or -1.
     */
    int takeWaiters()
    {
        if (!released)
        {
            return -1;
        }
        released = false;
        final int first = head;
        head = -1;
        tail = -1;
        return first;
    }

    /**
     * @return the connection after {@code c} in a list from {@link #takeWaiters}, -1 at its end. Unlinks {@code c}:
     * call it before retrying {@code c}, whose {@link #await} would otherwise be a no-op.
     */
    int nextOf(final int c)
    {
        if (waiting[c])
        {
            waiting[c] = false;
            waiters--;
        }
        return next[c];
    }

    /** {@code c} (-1: none) is the waiter being retried, taken from the list in order: it may take budget. */
    void admitting(final int c)
    {
        admitting = c;
    }

    /** @return bytes held by bodies still arriving (the STATS gauge). */
    long held()
    {
        return total;
    }

    /** @return connections waiting for budget (the STATS gauge). */
    int waiters()
    {
        return waiters;
    }

    long limit()
    {
        return limit;
    }
}
