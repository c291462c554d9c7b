package io.ringblocks.storage;

import java.util.Arrays;

import org.agrona.concurrent.UnsafeBuffer;

/**
 * The committer's side of the acknowledgement path: writes each delta's result into its worker's ack ring and
 * wakes that worker's ring once per batch. A worker whose ring is full (it stopped polling) gets its
 * acknowledgements queued in a per-worker backlog, in order, retried every duty cycle: one stuck worker never holds
 * up the others or the next commit. Committer thread only.
 */
final class Acknowledger
{
    private final WorkerLink[] workers;
    private final ErrorHandler errors;
    private final UnsafeBuffer message = new UnsafeBuffer(new byte[Deltas.ACK_LENGTH]);
    private final boolean[] wake;
    private final AckBacklog[] backlog;
    private volatile int backlogged;

    Acknowledger(final WorkerLink[] workers, final ErrorHandler errors)
    {
        this.workers = workers;
        this.errors = errors;
        wake = new boolean[workers.length];
        backlog = new AckBacklog[workers.length];
        for (int w = 0; w < workers.length; w++)
        {
            backlog[w] = new AckBacklog();
        }
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
            else
            {
                backlog[w].add(token[i], result[i]);
                queued++;
            }
        }
        backlogged = queued;
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
        wakeWorkers();
        return sent;
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

    /** One worker's acknowledgements that did not fit its ring yet, oldest first (a growable FIFO of primitives). */
    private static final class AckBacklog
    {
        private long[] tokens = new long[16];
        private int[] results = new int[16];
        private int head;
        private int tail;

        boolean isEmpty()
        {
            return head == tail;
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
            head++;
            if (head == tail)
            {
                head = 0;
                tail = 0;
            }
        }

        void add(final long t, final int r)
        {
            if (tail == tokens.length)
            {
                final int live = tail - head;
                if (live * 2 > tokens.length)
                {
                    tokens = Arrays.copyOf(tokens, tokens.length * 2);
                    results = Arrays.copyOf(results, results.length * 2);
                }
                System.arraycopy(tokens, head, tokens, 0, live);
                System.arraycopy(results, head, results, 0, live);
                head = 0;
                tail = live;
            }
            tokens[tail] = t;
            results[tail] = r;
            tail++;
        }
    }

}
