package io.ringblocks.server;

import java.lang.invoke.VarHandle;

import org.agrona.DirectBuffer;

import io.ringblocks.storage.CommitterClient;
import io.ringblocks.storage.IndexReader;
import io.ringblocks.storage.ReadEpochs;
import io.ringblocks.storage.WorkerLink;

/**
 * A worker's index lookups. Those of one duty cycle share one LMDB snapshot, pinned in {@link ReadEpochs} before it
 * is taken: a block deleted after the snapshot stays allocated until every read that might have found it completed
 * ({@link #beginRead}).
 */
final class Lookups implements AutoCloseable
{
    private final CommitterClient client;
    private final IndexReader reader;
    private final ReadEpochs epochs;
    private boolean pinned;
    private long pinEpoch;
    /** {@link CommitterClient#invalidatingCommits()} read just before this cycle's pin: what its lookups vouch for. */
    private long pinInvalidations;
    private long pinTag;

    Lookups(final CommitterClient client, final IndexReader reader)
    {
        this.client = client;
        this.reader = reader;
        epochs = new ReadEpochs(client.link());
    }

    /**
     * Looks the hash at {@code hashOffset} of {@code hash} up (overlay, then LMDB).
     *
     * @return true when it is stored; {@link #offset()}, {@link #length()}, {@link #crc()} and
     * {@link #corrupt()} then describe the entry.
     */
    boolean lookup(final DirectBuffer hash, final int hashOffset)
    {
        pin();
        return reader.lookup(hash, hashOffset);
    }

    /** @return the block offset of the entry the last successful {@link #lookup} found. */
    long offset()
    {
        return reader.offset();
    }

    /** @return its block length. */
    int length()
    {
        return reader.length();
    }

    /** @return the CRC32C its PUT recorded. */
    int crc()
    {
        return reader.crc();
    }

    /** @return true when it is flagged corrupt. */
    boolean corrupt()
    {
        return reader.corrupt();
    }

    /** Pins the committer epoch for this duty cycle's index reads (overlay tables and LMDB snapshots). */
    void pin()
    {
        if (!pinned)
        {
            // Before the pin: a deletion counted after this read may be missing from the snapshot, never one before.
            pinInvalidations = client.invalidatingCommits();
            // Publish the pin before the snapshot exists, so the committer cannot reuse what it may show.
            pinEpoch = client.epoch();
            pinTag = epochs.begin(pinEpoch);
            // The committer bumps the epoch, then reads the pins; we publish the pin, then read the overlay and LMDB
            // (a Dekker pair): a store followed by loads needs a full fence under the JMM, not only on x86.
            VarHandle.fullFence();
            pinned = true;
        }
    }

    /** @return the count of invalidating commits read before this cycle's pin (call after a lookup). */
    long invalidationsAtPin()
    {
        return pinInvalidations;
    }

    /**
     * A block read of something this cycle's lookups found starts: its space is not reused before {@link #endRead}.
     *
     * @return the tag to end it with.
     */
    long beginRead()
    {
        return epochs.begin(pinEpoch);
    }

    void endRead(final long tag)
    {
        epochs.end(tag);
    }

    /** End of a duty cycle: let LMDB move on and drop the snapshot's pin. */
    void endCycle()
    {
        reader.release();
        if (pinned)
        {
            epochs.end(pinTag);
            pinned = false;
        }
    }

    /**
     * The worker is done and its ring closed: nothing it still had in flight can be sent, so its pins must not hold
     * back space reuse and checkpoints for ever (after a worker died in mid-cycle, they would stop every write).
     */
    void withdraw()
    {
        pinned = false;
        client.link().publishOldestReadEpoch(WorkerLink.NO_READS);
    }

    @Override
    public void close()
    {
        reader.close();
    }
}
