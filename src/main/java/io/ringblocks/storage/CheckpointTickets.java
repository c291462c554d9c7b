package io.ringblocks.storage;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Requests for a checkpoint, from any thread, served by the committer: a ticket taken at some moment is served once a
 * checkpoint has put every change logged before that moment into LMDB — or at once, flagged {@link #failed()}, after
 * the journal failed, since no checkpoint will come then. Tickets are served in order, many by one checkpoint.
 */
final class CheckpointTickets
{
    private final AtomicLong requested = new AtomicLong();
    private volatile long served;
    private volatile boolean failed;
    /** Committer thread: the newest ticket the checkpoint under way serves (0: none), and the sequence it needs. */
    private long serving;
    private long servingSequence;

    /** Any thread. @return a new ticket, for {@link #served(long)}. */
    long take()
    {
        return requested.incrementAndGet();
    }

    /** Any thread. @return true once {@code ticket} is served (by a checkpoint, or by a failed journal). */
    boolean served(final long ticket)
    {
        return served >= ticket;
    }

    /** Any thread. @return true when tickets are served without a checkpoint because the journal failed. */
    boolean failed()
    {
        return failed;
    }

    /**
     * Committer thread, each duty cycle: serves what the checkpoints so far cover.
     *
     * @return whether a checkpoint is wanted for a ticket still waiting.
     */
    boolean wanted(final IndexJournal journal)
    {
        if (!journal.healthy())
        {
            // After a failed append or flush nothing is logged or checkpointed any more: waiting would be forever.
            failed = true;
            served = Math.max(served, requested.get());
            serving = 0;
            return false;
        }
        if (serving == 0)
        {
            final long wanted = requested.get();
            if (wanted <= served)
            {
                return false;
            }
            serving = wanted;
            servingSequence = journal.lastSequence();
        }
        if (journal.checkpointedSequence() >= servingSequence)
        {
            served = serving;
            serving = 0;
            return false;
        }
        return true;
    }
}
