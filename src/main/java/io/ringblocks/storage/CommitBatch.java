package io.ringblocks.storage;

import java.nio.ByteBuffer;

import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * One group commit's deltas, struct-of-arrays and reused for every batch: decoded from the ring ({@link #add}),
 * resolved against the index as it stands and staged in the journal ({@link #stage}); once the journal committed,
 * the blocks they freed go to limbo ({@link #settle}), and when it failed, the blocks they brought go back
 * ({@link #fail}). Committer thread only.
 */
final class CommitBatch
{
    private final int[] type;
    private final int[] worker;
    private final long[] token;
    private final long[] blockOffset;
    private final int[] length;
    private final int[] sizeClass;
    private final int[] crc;
    private final long[] bufferAddress;
    private final int[] ioLength;
    private final long[] replacedOffset;
    private final int[] replacedClass;
    private final int[] result;
    private final UnsafeBuffer hashes;
    /** What the last {@link #stage} found: blocks to write, entries freed (deleted or healed), entries flagged. */
    private boolean wroteBlocks;
    private int freed;
    private int marked;

    CommitBatch(final int capacity)
    {
        type = new int[capacity];
        worker = new int[capacity];
        token = new long[capacity];
        blockOffset = new long[capacity];
        length = new int[capacity];
        sizeClass = new int[capacity];
        crc = new int[capacity];
        bufferAddress = new long[capacity];
        ioLength = new int[capacity];
        replacedOffset = new long[capacity];
        replacedClass = new int[capacity];
        result = new int[capacity];
        hashes = new UnsafeBuffer(ByteBuffer.allocateDirect(capacity * BlockIndex.KEY_LENGTH));
    }

    /** Decodes the delta at {@code index} of the ring's {@code buffer} into entry {@code i}. */
    void add(final int i, final int msgTypeId, final DirectBuffer buffer, final int index)
    {
        type[i] = msgTypeId;
        worker[i] = buffer.getInt(index + Deltas.WORKER_OFFSET, Deltas.ORDER);
        token[i] = buffer.getLong(index + Deltas.TOKEN_OFFSET, Deltas.ORDER);
        hashes.putBytes(i * BlockIndex.KEY_LENGTH, buffer, index + Deltas.HASH_OFFSET, BlockIndex.KEY_LENGTH);
        bufferAddress[i] = 0;
        if (msgTypeId == Deltas.OCCUPY || msgTypeId == Deltas.WRITE_OCCUPY)
        {
            type[i] = Deltas.OCCUPY;
            blockOffset[i] = buffer.getLong(index + Deltas.BLOCK_OFFSET_OFFSET, Deltas.ORDER);
            length[i] = buffer.getInt(index + Deltas.LENGTH_OFFSET, Deltas.ORDER);
            sizeClass[i] = buffer.getInt(index + Deltas.CLASS_OFFSET, Deltas.ORDER);
            crc[i] = buffer.getInt(index + Deltas.CRC_OFFSET, Deltas.ORDER);
            if (msgTypeId == Deltas.WRITE_OCCUPY)
            {
                bufferAddress[i] = buffer.getLong(index + Deltas.BUFFER_ADDRESS_OFFSET, Deltas.ORDER);
                ioLength[i] = buffer.getInt(index + Deltas.IO_LENGTH_OFFSET, Deltas.ORDER);
            }
        }
        else if (msgTypeId == Deltas.MARK_CORRUPT)
        {
            blockOffset[i] = buffer.getLong(index + Deltas.BLOCK_OFFSET_OFFSET, Deltas.ORDER);
        }
    }

    /**
     * Resolves entries {@code 0..count-1}, in order, against the index as the journal shows it (earlier entries of
     * the batch included) and stages their changes; blocks handed over unwritten go to {@code writer} when indexed.
     */
    void stage(final int count, final IndexJournal journal, final BlockWriter writer)
    {
        wroteBlocks = false;
        freed = 0;
        marked = 0;
        for (int i = 0; i < count; i++)
        {
            final int at = i * BlockIndex.KEY_LENGTH;
            replacedOffset[i] = -1;
            if (type[i] == Deltas.OCCUPY)
            {
                result[i] = occupy(i, at, journal, writer);
            }
            else if (type[i] == Deltas.MARK_CORRUPT)
            {
                result[i] = markCorrupt(at, blockOffset[i], journal);
                marked += result[i] == Deltas.MARKED ? 1 : 0;
            }
            else if (!journal.find(hashes, at))
            {
                result[i] = Deltas.NOT_FOUND;
            }
            else
            {
                blockOffset[i] = journal.offset();
                sizeClass[i] = journal.sizeClass();
                journal.stageDelete(hashes, at);
                result[i] = Deltas.DELETED;
                freed++;
            }
        }
    }

    private int occupy(final int i, final int at, final IndexJournal journal, final BlockWriter writer)
    {
        final boolean found = journal.find(hashes, at);
        if (found && (journal.flags() & IndexValue.CORRUPT) == 0)
        {
            return Deltas.DUPLICATE;
        }
        if (found)
        {
            // Heal: the corrupt copy is replaced and freed like a deleted block (via limbo, as a GET may still be
            // reading it); a second heal now finds a sound entry: DUPLICATE.
            replacedOffset[i] = journal.offset();
            replacedClass[i] = journal.sizeClass();
            freed++;
        }
        journal.stagePut(hashes, at, blockOffset[i], length[i], sizeClass[i], crc[i], 0);
        if (bufferAddress[i] != 0)
        {
            // A duplicate is never written: only what the index will reference is.
            writer.add(bufferAddress[i], ioLength[i], blockOffset[i]);
        }
        wroteBlocks = true;
        return Deltas.STORED;
    }

    /**
     * Flags the entry of the hash at {@code at} corrupt, but only if it still points at {@code offset}: a failed
     * read of a block that was deleted (or healed) since must not condemn the entry that replaced it.
     */
    private int markCorrupt(final int at, final long offset, final IndexJournal journal)
    {
        if (!journal.find(hashes, at) || journal.offset() != offset)
        {
            return Deltas.NOT_FOUND;
        }
        final int flags = journal.flags();
        if ((flags & IndexValue.CORRUPT) == 0)
        {
            journal.stagePut(hashes, at, offset, journal.length(), journal.sizeClass(), journal.crc(),
                flags | IndexValue.CORRUPT);
            return Deltas.MARKED;
        }
        return Deltas.DUPLICATE; // flagged already
    }

    /** @return whether the last staged batch writes blocks (a data flush must precede its record's). */
    boolean wroteBlocks()
    {
        return wroteBlocks;
    }

    /** @return whether the last staged batch deletes, heals or flags an entry (what a cached lookup could miss). */
    boolean invalidating()
    {
        return freed + marked > 0;
    }

    /** @return entries the last staged batch freed (deleted or healed). */
    int freed()
    {
        return freed;
    }

    /** The journal refused the batch: every entry is answered FAILED and the blocks it brought go back. */
    void fail(final int count, final Committer.BlockSpace space, final ErrorHandler errors)
    {
        for (int i = 0; i < count; i++)
        {
            if (type[i] == Deltas.OCCUPY)
            {
                release(space, blockOffset[i], sizeClass[i], errors);
            }
            result[i] = Deltas.FAILED;
        }
    }

    /**
     * A commit threw part way: every entry is answered FAILED, and nothing is given back, since some of the batch's
     * blocks may already be logged and indexed (the journal has failed; a restart rebuilds the allocator).
     */
    void failKeepingSpace(final int count)
    {
        for (int i = 0; i < count; i++)
        {
            result[i] = Deltas.FAILED;
        }
    }

    /** A release the allocator refuses is reported, and the batch goes on: every entry must still be answered. */
    private static void release(final Committer.BlockSpace space, final long offset, final int sizeClass,
        final ErrorHandler errors)
    {
        try
        {
            space.release(offset, sizeClass);
        }
        catch (final RuntimeException e)
        {
            errors.onError("committer", e);
        }
    }

    /**
     * The batch is committed (as {@code sequence}, in {@code epoch}): duplicate PUTs' blocks go back at once (never
     * indexed, so never visible), deleted and replaced ones wait in limbo for the readers that may still see them.
     *
     * @param closing the final drain: limbo is unbounded then, so a full one is no fault.
     * @return the entries flagged corrupt.
     */
    int settle(final int count, final Committer.BlockSpace space, final Limbo limbo, final long epoch,
        final long sequence, final boolean closing, final ErrorHandler errors)
    {
        for (int i = 0; i < count; i++)
        {
            if (result[i] == Deltas.DUPLICATE && type[i] == Deltas.OCCUPY)
            {
                // A block stored twice: the new copy was never indexed. (A repeated MARK_CORRUPT is DUPLICATE too,
                // but its offset is the flagged block the index still holds: nothing to free.)
                release(space, blockOffset[i], sizeClass[i], errors);
            }
            else if (result[i] == Deltas.DELETED && !limbo.add(blockOffset[i], sizeClass[i], epoch, sequence) &&
                !closing)
            {
                // DeltaAdmission reserves room for every delta, so only the final drain at close gets here; the
                // allocator is rebuilt from the index at the next open, so no space is lost.
                errors.onError("committer", "limbo full: block at offset " + blockOffset[i] +
                    " not reused until restart");
            }
            if (replacedOffset[i] >= 0 && !limbo.add(replacedOffset[i], replacedClass[i], epoch, sequence) &&
                !closing)
            {
                // A heal frees at most one block per delta, within DeltaAdmission's reservation: as above.
                errors.onError("committer", "limbo full: replaced block at offset " + replacedOffset[i] +
                    " not reused until restart");
            }
        }
        return marked;
    }

    /** Answers entries {@code 0..count-1} through their workers' rings; returns the work done. */
    int acknowledge(final int count, final Acknowledger acks)
    {
        return acks.acknowledge(count, worker, token, result);
    }
}
