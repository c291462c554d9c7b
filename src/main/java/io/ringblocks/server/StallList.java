package io.ringblocks.server;

/**
 * Requests waiting to be retried in a later duty cycle — for arena memory, data-file space, room in the delta ring
 * or a checkpoint — in order, linked through {@link Requests#next} (no allocation).
 */
final class StallList
{
    private final Requests reqs;
    private final ServerStats stats;
    private int head = -1;
    private int tail = -1;

    StallList(final Requests reqs, final ServerStats stats)
    {
        this.reqs = reqs;
        this.stats = stats;
    }

    /** Request {@code r} waits in {@code state} (one of the {@code Requests.WAIT_*} states) until retried. */
    void stall(final int r, final int state)
    {
        stats.increment(ServerStats.STALLS);
        if (reqs.stalledSince[r] == 0)
        {
            reqs.stalledSince[r] = System.nanoTime() | 1; // the first stall of a wait: retries keep it
        }
        reqs.state[r] = state;
        reqs.next[r] = -1;
        if (tail < 0)
        {
            head = r;
        }
        else
        {
            reqs.next[tail] = r;
        }
        tail = r;
    }

    boolean isEmpty()
    {
        return head < 0;
    }

    /**
     * Empties the list. @return its first request (follow {@code reqs.next}, read before the request is retried,
     * since a retry may stall it again), or -1.
     */
    int takeAll()
    {
        final int first = head;
        head = -1;
        tail = -1;
        return first;
    }

    /** @return how many times requests stalled so far: a retry that changed it stalled again. */
    long stalls()
    {
        return stats.get(ServerStats.STALLS);
    }
}
