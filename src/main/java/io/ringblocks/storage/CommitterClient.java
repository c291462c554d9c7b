package io.ringblocks.storage;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.MessageHandler;
import org.agrona.concurrent.ringbuffer.ManyToOneRingBuffer;
import org.agrona.concurrent.ringbuffer.RingBuffer;

/**
 * A worker's side of the committer channel: publishes deltas without blocking (a full ring returns false: the
 * caller keeps the request and retries later — back-pressure, not a crash) and drains its acknowledgements.
 * One instance per worker thread.
 */
public final class CommitterClient implements MessageHandler
{
    /** Receives one acknowledgement. */
    public interface AckHandler
    {
        void onAck(long token, int result);
    }

    private final Committer committer;
    private final ManyToOneRingBuffer deltas;
    private final WorkerLink link;
    private AckHandler handler;
    private long published;

    public CommitterClient(final Committer committer, final WorkerLink link)
    {
        this.committer = committer;
        this.deltas = committer.deltas();
        this.link = link;
    }

    public WorkerLink link()
    {
        return link;
    }

    /** @return the invalidating-commit sequence ({@link Committer#invalidatingCommits()}): odd while one commits. */
    public long invalidatingCommits()
    {
        return committer.invalidatingCommits();
    }

    /** @return the committer's current epoch, to tag a block read started now. */
    public long epoch()
    {
        return committer.epoch();
    }

    /**
     * Asks the committer to index a block whose bytes are already written.
     *
     * @param crc the CRC32C of the block's {@code length} bytes, checked on every later read.
     *
     * @return false when the delta ring is full (retry later).
     */
    public boolean publishOccupy(
        final long token,
        final DirectBuffer hash,
        final int hashOffset,
        final long blockOffset,
        final int length,
        final int sizeClass,
        final int crc)
    {
        final int claim = claimOccupy(Deltas.OCCUPY, Deltas.OCCUPY_LENGTH, token, hash, hashOffset, blockOffset,
            length, sizeClass, crc);
        if (claim <= 0)
        {
            return false;
        }
        deltas.commit(claim);
        published++;
        return true;
    }

    /**
     * Asks the committer to write a block and index it (sync mode, blocks the store says {@code committerWrites}):
     * the block's {@code ioLength} bytes (zero-padded to a multiple of 4 KiB) stay at {@code bufferAddress},
     * untouched and mapped, until this delta is acknowledged.
     *
     * @return false when the delta ring is full (retry later).
     */
    public boolean publishWriteOccupy(
        final long token,
        final DirectBuffer hash,
        final int hashOffset,
        final long blockOffset,
        final int length,
        final int sizeClass,
        final int crc,
        final long bufferAddress,
        final int ioLength)
    {
        final int claim = claimOccupy(Deltas.WRITE_OCCUPY, Deltas.WRITE_OCCUPY_LENGTH, token, hash, hashOffset,
            blockOffset, length, sizeClass, crc);
        if (claim <= 0)
        {
            return false;
        }
        final MutableDirectBuffer b = deltas.buffer();
        b.putLong(claim + Deltas.BUFFER_ADDRESS_OFFSET, bufferAddress, Deltas.ORDER);
        b.putInt(claim + Deltas.IO_LENGTH_OFFSET, ioLength, Deltas.ORDER);
        deltas.commit(claim);
        published++;
        return true;
    }

    /** Claims an OCCUPY-shaped delta and writes the fields both kinds share; {@code <= 0} when the ring is full. */
    private int claimOccupy(final int type, final int messageLength, final long token, final DirectBuffer hash,
        final int hashOffset, final long blockOffset, final int length, final int sizeClass, final int crc)
    {
        final int claim = claim(type, messageLength, token, hash, hashOffset);
        if (claim > 0)
        {
            final MutableDirectBuffer b = deltas.buffer();
            b.putLong(claim + Deltas.BLOCK_OFFSET_OFFSET, blockOffset, Deltas.ORDER);
            b.putInt(claim + Deltas.LENGTH_OFFSET, length, Deltas.ORDER);
            b.putInt(claim + Deltas.CLASS_OFFSET, sizeClass, Deltas.ORDER);
            b.putInt(claim + Deltas.CRC_OFFSET, crc, Deltas.ORDER);
        }
        return claim;
    }

    /**
     * Asks the committer to delete {@code hash}.
     *
     * @return false when the delta ring is full (retry later).
     */
    public boolean publishFree(final long token, final DirectBuffer hash, final int hashOffset)
    {
        final int claim = claim(Deltas.FREE, Deltas.FREE_LENGTH, token, hash, hashOffset);
        if (claim <= 0)
        {
            return false;
        }
        deltas.commit(claim);
        published++;
        return true;
    }

    /**
     * Asks the committer to flag {@code hash} corrupt if its entry still points at {@code blockOffset} (a read of
     * it failed its CRC32C check).
     *
     * @param token the waiting request's token, acknowledged MARKED or NOT_FOUND; {@link Deltas#NO_ACK} when
     *              nobody waits.
     * @return false when the delta ring is full (retry later).
     */
    public boolean publishMarkCorrupt(
        final long token, final DirectBuffer hash, final int hashOffset, final long blockOffset)
    {
        final int claim = claim(Deltas.MARK_CORRUPT, Deltas.MARK_CORRUPT_LENGTH, token, hash, hashOffset);
        if (claim <= 0)
        {
            return false;
        }
        deltas.buffer().putLong(claim + Deltas.BLOCK_OFFSET_OFFSET, blockOffset, Deltas.ORDER);
        deltas.commit(claim);
        published++;
        return true;
    }

    /** Claims ring space and writes the fields every delta starts with; {@code <= 0} when the ring is full. */
    private int claim(final int type, final int length, final long token, final DirectBuffer hash, final int hashOffset)
    {
        final int claim = deltas.tryClaim(type, length);
        if (claim > 0)
        {
            final MutableDirectBuffer b = deltas.buffer();
            b.putInt(claim + Deltas.WORKER_OFFSET, link.id(), Deltas.ORDER);
            b.putLong(claim + Deltas.TOKEN_OFFSET, token, Deltas.ORDER);
            b.putBytes(claim + Deltas.HASH_OFFSET, hash, hashOffset, BlockIndex.KEY_LENGTH);
        }
        return claim;
    }

    /**
     * Asks, without waiting, that every change committed so far reach LMDB (a LIST reads LMDB).
     *
     * @return a ticket for {@link #checkpointed(long)}.
     */
    public long requestCheckpoint()
    {
        return committer.requestCheckpoint();
    }

    /** @return true once the checkpoint asked for with {@code ticket} is done (or will never be: see below). */
    public boolean checkpointed(final long ticket)
    {
        return committer.checkpointed(ticket);
    }

    /** @return true when the journal failed, so LMDB may lack acknowledged changes for good. */
    public boolean checkpointsFailed()
    {
        return committer.checkpointsFailed();
    }

    /** Wakes the committer if it parked; call once after a burst of publishes. */
    public void flush()
    {
        committer.wake();
    }

    /** @return deltas published by this worker. */
    public long published()
    {
        return published;
    }

    /** Drains at most {@code limit} acknowledgements into {@code ackHandler}. */
    public int pollAcks(final AckHandler ackHandler, final int limit)
    {
        handler = ackHandler;
        final RingBuffer acks = link.acks();
        return acks.read(this, limit);
    }

    @Override
    public void onMessage(final int msgTypeId, final MutableDirectBuffer buffer, final int index, final int length)
    {
        handler.onAck(
            buffer.getLong(index + Deltas.ACK_TOKEN_OFFSET, Deltas.ORDER),
            buffer.getInt(index + Deltas.ACK_RESULT_OFFSET, Deltas.ORDER));
    }
}
