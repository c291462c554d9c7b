package io.ringblocks.storage;

import java.util.Arrays;

import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.ControlledMessageHandler;
import org.agrona.concurrent.MessageHandler;

/**
 * Decides, delta by delta, whether the committer may take the next delta off the shared ring into its batch: only
 * while limbo and the publishing worker's acknowledgement backlog are sure to have room for what the batch can add
 * to them. Each delta frees at most one block into limbo (a FREE; any delta is counted, so a future delta type that
 * replaces an entry is covered too) and produces exactly one acknowledgement for its worker, so reserving one limbo
 * entry and one backlog entry per delta taken is exact as a bound.
 * <p>
 * A delta that does not fit is left in the ring ({@link Action#ABORT}) together with everything behind it: the
 * ring fills, workers' publishes fail and their requests wait (WAIT_PUBLISH), which is the existing back-pressure
 * path; nothing is lost or reordered. Head-of-line blocking is the price of one shared ring: a worker that stops
 * polling its acknowledgements holds up the others once its backlog is full. With the default backlog capacity (the
 * most request slots a worker has) a live worker never gets there, since its ring and backlog then hold an ack for
 * every request it can have waiting; a full limbo means a read has been stuck across that many deletes, and pausing
 * writes (reads go on) is the right signal. During the final drain at close the bounds are lifted
 * ({@link #unbound()}), so a stuck reader or a worker that stopped polling cannot keep published deltas uncommitted.
 * Committer thread only.
 */
final class DeltaAdmission implements ControlledMessageHandler
{
    private final MessageHandler batch;
    private final Limbo limbo;
    private final Acknowledger acks;
    private final int[] takenFrom;
    private int taken;
    private boolean bounded = true;
    private boolean heldBack;
    private final Counter heldBackCycles = new Counter();

    DeltaAdmission(final MessageHandler batch, final Limbo limbo, final Acknowledger acks, final int workers)
    {
        this.batch = batch;
        this.limbo = limbo;
        this.acks = acks;
        takenFrom = new int[workers];
    }

    /** Called before each read of the ring. */
    void startRead()
    {
        heldBack = false;
    }

    /** @return whether the last read left a delta in the ring for lack of room (the committer then parks). */
    boolean heldBack()
    {
        return heldBack;
    }

    /** @return duty cycles whose read stopped at a delta that did not fit (racy, for STATS). */
    long heldBackCycles()
    {
        return heldBackCycles.get();
    }

    /** The open batch was taken for commit: its reservations are now real entries (or gone). */
    void batchTaken()
    {
        taken = 0;
        Arrays.fill(takenFrom, 0);
    }

    /** Final drain: take everything (see the class comment). */
    void unbound()
    {
        bounded = false;
    }

    @Override
    public Action onMessage(final int msgTypeId, final MutableDirectBuffer buffer, final int index, final int length)
    {
        final int w = buffer.getInt(index + Deltas.WORKER_OFFSET, Deltas.ORDER);
        if (bounded && (limbo.room() <= taken || acks.room(w) <= takenFrom[w]))
        {
            if (!heldBack)
            {
                heldBack = true;
                heldBackCycles.increment();
            }
            return Action.ABORT;
        }
        taken++;
        takenFrom[w]++;
        batch.onMessage(msgTypeId, buffer, index, length);
        return Action.CONTINUE;
    }
}
