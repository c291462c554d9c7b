package io.ringblocks.storage;

/**
 * Tracks, for one worker, which index epochs its in-flight block reads were tagged with, and publishes the oldest
 * one to its {@link WorkerLink} so the committer knows when freed space may be reused.
 * <p>
 * Epochs only grow, so counts live in a ring of buckets indexed by epoch. A read whose epoch would not fit in the
 * window is tagged with the oldest tracked epoch instead: an older tag only delays reclamation, never hastens it.
 * Single-threaded, allocation-free.
 */
public final class ReadEpochs
{
    private static final int WINDOW = 1024;
    private static final int MASK = WINDOW - 1;

    private final WorkerLink link;
    private final int[] counts = new int[WINDOW];
    private long oldest = -1;
    private long newest = -1;
    private int inFlight;

    public ReadEpochs(final WorkerLink link)
    {
        this.link = link;
    }

    /**
     * Registers a read that starts now, before the index lookup that found its block.
     *
     * @param epoch the committer epoch read before that lookup's snapshot was taken.
     * @return the tag to pass to {@link #end(long)}.
     */
    public long begin(final long epoch)
    {
        long tag = epoch;
        if (inFlight == 0)
        {
            oldest = epoch;
            newest = epoch;
            link.publishOldestReadEpoch(epoch);
        }
        else if (epoch - oldest >= WINDOW)
        {
            tag = oldest;
        }
        else if (epoch > newest)
        {
            newest = epoch;
        }
        else if (epoch < oldest)
        {
            throw new IllegalArgumentException("epoch went backwards: " + epoch + " < " + oldest);
        }
        counts[(int)(tag & MASK)]++;
        inFlight++;
        return tag;
    }

    /** The read tagged {@code tag} completed (whatever its result). */
    public void end(final long tag)
    {
        final int bucket = (int)(tag & MASK);
        if (counts[bucket] == 0 || inFlight == 0)
        {
            throw new IllegalArgumentException("no read in flight with tag " + tag);
        }
        counts[bucket]--;
        inFlight--;
        if (inFlight == 0)
        {
            oldest = -1;
            newest = -1;
            link.publishOldestReadEpoch(WorkerLink.NO_READS);
            return;
        }
        if (tag == oldest)
        {
            while (counts[(int)(oldest & MASK)] == 0 && oldest < newest)
            {
                oldest++;
            }
            link.publishOldestReadEpoch(oldest);
        }
    }

    public int inFlight()
    {
        return inFlight;
    }
}
