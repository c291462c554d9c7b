package io.ringblocks.storage;

import java.nio.ByteBuffer;

import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * The index changes of the batch being committed, one per key (a later delta on the same key replaces the earlier
 * change), staged until the batch's log record is written: only then do they reach the {@link Overlay}, so readers
 * never see a change that a failed write would have to take back. Later deltas of the same batch see earlier ones
 * through {@link #find}. A small open-addressing table over the staged keys; committer thread only, allocation-free.
 */
final class BatchEffects
{
    static final int MISS = Overlay.MISS;
    static final int LIVE = Overlay.LIVE;
    static final int DELETED = Overlay.DELETED;

    private final int capacity;
    private final int[] slots;
    private final int[] used;
    private final int mask;
    private final UnsafeBuffer keys;
    private final boolean[] live;
    private final long[] offset;
    private final int[] length;
    private final int[] sizeClass;
    private final int[] crc;
    private final int[] flags;
    private final long seed = new java.util.SplittableRandom().nextLong();
    private int count;
    private int found = -1;

    BatchEffects(final int capacity)
    {
        if (capacity <= 0)
        {
            throw new IllegalArgumentException("capacity must be > 0: " + capacity);
        }
        this.capacity = capacity;
        slots = new int[Integer.highestOneBit(capacity * 2 - 1) << 1];
        used = new int[capacity];
        mask = slots.length - 1;
        keys = new UnsafeBuffer(ByteBuffer.allocateDirect(capacity * BlockIndex.KEY_LENGTH));
        live = new boolean[capacity];
        offset = new long[capacity];
        length = new int[capacity];
        sizeClass = new int[capacity];
        crc = new int[capacity];
        flags = new int[capacity];
    }

    /** Forgets the staged changes. */
    void clear()
    {
        for (int i = 0; i < count; i++)
        {
            slots[used[i]] = 0; // only the slots this batch took: a batch of one must not clear the whole table
        }
        count = 0;
        found = -1;
    }

    int size()
    {
        return count;
    }

    /** @return {@link #LIVE}, {@link #DELETED} or {@link #MISS}; after LIVE the accessors describe the change. */
    int find(final DirectBuffer hash, final int hashOffset)
    {
        final int slot = slotOf(hash, hashOffset);
        found = slots[slot] - 1;
        if (found < 0)
        {
            return MISS;
        }
        return live[found] ? LIVE : DELETED;
    }

    void put(final DirectBuffer hash, final int hashOffset, final long blockOffset, final int blockLength,
        final int blockClass, final int blockCrc, final int blockFlags)
    {
        final int i = stage(hash, hashOffset);
        live[i] = true;
        offset[i] = blockOffset;
        length[i] = blockLength;
        sizeClass[i] = blockClass;
        crc[i] = blockCrc;
        flags[i] = blockFlags;
    }

    void delete(final DirectBuffer hash, final int hashOffset)
    {
        final int i = stage(hash, hashOffset);
        live[i] = false;
        offset[i] = 0;
        length[i] = 0;
        sizeClass[i] = 0;
        crc[i] = 0;
        flags[i] = 0;
    }

    private int stage(final DirectBuffer hash, final int hashOffset)
    {
        final int slot = slotOf(hash, hashOffset);
        int i = slots[slot] - 1;
        if (i < 0)
        {
            if (count == capacity)
            {
                throw new IllegalStateException("more than " + capacity + " changes in one batch");
            }
            i = count++;
            keys.putBytes(i * BlockIndex.KEY_LENGTH, hash, hashOffset, BlockIndex.KEY_LENGTH);
            slots[slot] = i + 1;
            used[i] = slot;
        }
        return i;
    }

    /** @return the slot holding {@code hash}, or the empty slot where it would go. */
    private int slotOf(final DirectBuffer hash, final int hashOffset)
    {
        // Seeded, so that clients grinding content for hashes with equal low bits cannot build one long probe chain.
        int slot = (int)((hash.getLong(hashOffset) ^ seed) * 0x9E37_79B9_7F4A_7C15L >>> 32) & mask;
        while (true)
        {
            final int i = slots[slot] - 1;
            if (i < 0 || sameKey(i, hash, hashOffset))
            {
                return slot;
            }
            slot = (slot + 1) & mask;
        }
    }

    private boolean sameKey(final int i, final DirectBuffer hash, final int hashOffset)
    {
        final int at = i * BlockIndex.KEY_LENGTH;
        for (int b = 0; b < BlockIndex.KEY_LENGTH; b += 8)
        {
            if (keys.getLong(at + b) != hash.getLong(hashOffset + b))
            {
                return false;
            }
        }
        return true;
    }

    // The change found by the last find(), or change i when iterating.

    DirectBuffer keys()
    {
        return keys;
    }

    static int keyOffset(final int i)
    {
        return i * BlockIndex.KEY_LENGTH;
    }

    boolean isLive(final int i)
    {
        return live[i];
    }

    long offset(final int i)
    {
        return offset[i];
    }

    int length(final int i)
    {
        return length[i];
    }

    int sizeClass(final int i)
    {
        return sizeClass[i];
    }

    int crc(final int i)
    {
        return crc[i];
    }

    int flags(final int i)
    {
        return flags[i];
    }

    /** @return the index of the change the last {@link #find} returned LIVE or DELETED for. */
    int found()
    {
        return found;
    }
}
