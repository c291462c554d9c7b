package io.ringblocks.storage;

import org.agrona.concurrent.UnsafeBuffer;

/**
 * The committer's side of the acknowledgement path: writes each delta's result into its worker's ack ring and
 * wakes that worker's ring once per batch. A worker whose ring is full (it stopped polling) gets its
 * acknowledgements queued in a per-worker backlog, in order, retried every duty cycle: one stuck worker does not
 * hold up the others or the next commit until its backlog is full. Each backlog is bounded ({@code capacity} acks
 * per worker); the committer reserves room for a delta's ack before taking it (see {@link DeltaAdmission}), so an
 * ack never finds its backlog full except in the final drain at close, when it is dropped (no worker polls any
 * more). Committer thread only.
 */
final class Acknowledger
{
    private final WorkerLink[] workers;
    private final ErrorHandler errors;
    private final UnsafeBuffer message = new UnsafeBuffer(new byte[Deltas.ACK_LENGTH]);
    private final boolean[] wake;
    private final AckBacklog[] backlog;
    private final int capacity;
    private volatile int backlogged;
    private volatile int largestBacklog;
    private long dropped;

    /** @param capacity most acknowledgements queued per worker (> 0). */
    Acknowledger(final WorkerLink[] workers, final int capacity, final ErrorHandler errors)
    {
        if (capacity < 1)
        {
            throw new IllegalArgumentException("ack backlog capacity must be > 0: " + capacity);
        }
        this.workers = workers;
        this.errors = errors;
        this.capacity = capacity;
        wake = new boolean[workers.length];
        backlog = new AckBacklog[workers.length];
        for (int w = 0; w < workers.length; w++)
        {
            backlog[w] = new AckBacklog(capacity);
        }
    }

    /** @return acknowledgements worker {@code w}'s backlog can still take. */
    int room(final int w)
    {
        return capacity - backlog[w].size();
    }

    /** @return most acknowledgements queued per worker. */
    int capacity()
    {
        return capacity;
    }

    /** @return the longest backlog of any one worker (racy, for STATS). */
    int largestBacklog()
    {
        return largestBacklog;
    }

    /** @return entries the arrays of worker {@code w}'s backlog can hold now (never more than the capacity). */
    int allocated(final int w)
    {
        return backlog[w].allocated();
    }

    /**
     * Acknowledges a committed batch: entry {@code i} goes to worker {@code worker[i]} with {@code result[i]}.
     *
     * @return acknowledgements written now (the rest are backlogged).
     */
    int acknowledge(final int count, final int[] worker, final long[] token, final int[] result)
    {
        int sent = 0;
        int queued = backlogged;
        for (int i = 0; i < count; i++)
        {
            if (token[i] == Deltas.NO_ACK)
            {
                continue;
            }
            final int w = worker[i];
            // Behind a backlog, even an ack that would fit waits its turn: per-worker order is commit order.
            if (backlog[w].isEmpty() && trySend(w, token[i], result[i]))
            {
                sent++;
            }
            else if (backlog[w].add(token[i], result[i]))
            {
                queued++;
            }
            else if (dropped++ == 0)
            {
                // Only reachable in the final drain at close, when the bounds are lifted and nobody polls.
                errors.onError("committer", "acknowledgement backlog of worker " + w + " full (" + capacity +
                    "): acknowledgements dropped");
            }
        }
        backlogged = queued;
        if (queued > 0)
        {
            measureLargest();
        }
        wakeWorkers();
        return sent;
    }

    /** Retries each worker's queued acknowledgements, oldest first, until its ring is full again. */
    int flushBacklogs()
    {
        if (backlogged == 0)
        {
            return 0;
        }
        int sent = 0;
        for (int w = 0; w < backlog.length; w++)
        {
            final AckBacklog b = backlog[w];
            while (!b.isEmpty() && trySend(w, b.headToken(), b.headResult()))
            {
                b.removeHead();
                sent++;
            }
        }
        backlogged -= sent;
        measureLargest();
        wakeWorkers();
        return sent;
    }

    private void measureLargest()
    {
        int largest = 0;
        for (final AckBacklog b : backlog)
        {
            largest = Math.max(largest, b.size());
        }
        largestBacklog = largest;
    }

    /** @return acknowledgements waiting for a worker's full ring. */
    int backlogged()
    {
        return backlogged;
    }

    private boolean trySend(final int w, final long ackToken, final int ackResult)
    {
        message.putLong(Deltas.ACK_TOKEN_OFFSET, ackToken, Deltas.ORDER);
        message.putInt(Deltas.ACK_RESULT_OFFSET, ackResult, Deltas.ORDER);
        if (!workers[w].acks().write(Deltas.ACK, message, 0, Deltas.ACK_LENGTH))
        {
            return false;
        }
        wake[w] = true;
        return true;
    }

    private void wakeWorkers()
    {
        for (int w = 0; w < wake.length; w++)
        {
            if (wake[w])
            {
                wake[w] = false;
                try
                {
                    workers[w].wakeup().wake();
                }
                catch (final RuntimeException e)
                {
                    // One broken eventfd must not cost the other workers their wakeups (the acks are in its ring).
                    errors.onError("committer: waking worker " + w, e);
                }
            }
        }
    }

    /**
     * One worker's acknowledgements that did not fit its ring yet, oldest first: a circular FIFO of primitives that
     * starts small and doubles up to its capacity.
     */
    private static final class AckBacklog
    {
        private final int capacity;
        private long[] tokens;
        private int[] results;
        private int head;
        private int size;

        AckBacklog(final int capacity)
        {
            this.capacity = capacity;
            final int initial = Math.min(16, capacity);
            tokens = new long[initial];
            results = new int[initial];
        }

        boolean isEmpty()
        {
            return size == 0;
        }

        int size()
        {
            return size;
        }

        int allocated()
        {
            return tokens.length;
        }

        long headToken()
        {
            return tokens[head];
        }

        int headResult()
        {
            return results[head];
        }

        void removeHead()
        {
            head = head + 1 == tokens.length ? 0 : head + 1;
            size--;
            if (size == 0)
            {
                head = 0;
            }
        }

        /** @return false, and nothing added, when full. */
        boolean add(final long t, final int r)
        {
            if (size == capacity)
            {
                return false;
            }
            if (size == tokens.length)
            {
                final int length = (int)Math.min(capacity, tokens.length * 2L);
                final long[] newTokens = new long[length];
                final int[] newResults = new int[length];
                final int first = tokens.length - head;
                System.arraycopy(tokens, head, newTokens, 0, first);
                System.arraycopy(tokens, 0, newTokens, first, head);
                System.arraycopy(results, head, newResults, 0, first);
                System.arraycopy(results, 0, newResults, first, head);
                tokens = newTokens;
                results = newResults;
                head = 0;
            }
            int i = head + size;
            if (i >= tokens.length)
            {
                i -= tokens.length;
            }
            tokens[i] = t;
            results[i] = r;
            size++;
            return true;
        }
    }
}
