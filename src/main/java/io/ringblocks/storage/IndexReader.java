package io.ringblocks.storage;

import java.nio.ByteBuffer;

import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.lmdbjava.Dbi;
import org.lmdbjava.Txn;

/**
 * One thread's view of the index: {@link #lookup} renews the read transaction lazily so each batch of lookups
 * sees the latest committed snapshot, and {@link #release()} resets it so LMDB can reuse pages.
 */
public final class IndexReader implements AutoCloseable
{
    private final Txn<DirectBuffer> txn;
    private final Dbi<DirectBuffer> blocks;
    /** Changes newer than any snapshot (null while no overlay is attached to the index). */
    private final Overlay.Reader changes;
    private final UnsafeBuffer key = new UnsafeBuffer(ByteBuffer.allocateDirect(BlockIndex.KEY_LENGTH));
    private boolean active;
    private long offset;
    private int length;
    private int sizeClass;
    private int crc;
    private int flags;

    IndexReader(final Txn<DirectBuffer> txn, final Dbi<DirectBuffer> blocks, final Overlay.Reader changes)
    {
        this.txn = txn;
        this.blocks = blocks;
        this.changes = changes;
        // No snapshot until the first lookup: one taken now could be older than the pin its owner takes later.
        txn.reset();
    }

    /**
     * Looks {@code hash} up in a fresh snapshot unless one is already active (call {@link #release()} to end
     * it). On success, {@link #offset()}, {@link #length()} and {@link #sizeClass()} describe the block.
     */
    public boolean lookup(final DirectBuffer hash, final int hashOffset)
    {
        if (!active)
        {
            txn.renew();
            active = true;
        }
        if (changes != null)
        {
            // Newer than any snapshot: an entry leaves the overlay only once every pinned reader's snapshot
            // holds it (the committer's epoch grace), so whichever of the two answers is current.
            final int changed = changes.lookup(hash, hashOffset);
            if (changed == Overlay.LIVE)
            {
                offset = changes.offset();
                length = changes.length();
                sizeClass = changes.sizeClass();
                crc = changes.crc();
                flags = changes.flags();
                return true;
            }
            if (changed == Overlay.DELETED)
            {
                return false;
            }
        }
        key.putBytes(0, hash, hashOffset, BlockIndex.KEY_LENGTH);
        final DirectBuffer value = blocks.get(txn, key);
        if (value == null)
        {
            return false;
        }
        offset = IndexValue.offset(value);
        length = IndexValue.length(value);
        sizeClass = IndexValue.sizeClass(value);
        crc = IndexValue.crc(value);
        flags = IndexValue.flags(value);
        return true;
    }

    /** Ends the current snapshot; the next lookup renews it. */
    public void release()
    {
        if (active)
        {
            txn.reset();
            active = false;
        }
    }

    public long offset()
    {
        return offset;
    }

    public int length()
    {
        return length;
    }

    public int sizeClass()
    {
        return sizeClass;
    }

    /** @return the block's CRC32C, recorded at PUT time. */
    public int crc()
    {
        return crc;
    }

    /** @return true when a read of the block failed its CRC32C check (flag {@link IndexValue#CORRUPT}). */
    public boolean corrupt()
    {
        return (flags & IndexValue.CORRUPT) != 0;
    }

    @Override
    public void close()
    {
        if (!active)
        {
            txn.renew(); // lmdbjava aborts (and frees) only a live read transaction, not a reset one
        }
        txn.close();
    }
}
