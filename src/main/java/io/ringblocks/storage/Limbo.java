package io.ringblocks.storage;

/**
 * Freed blocks waiting for readers to move past the epoch of the commit that removed them, oldest first (tags are
 * non-decreasing along the queue, so a release stops at the first entry still visible to a read). A bounded FIFO:
 * struct-of-arrays in a circular buffer that starts small and doubles up to {@code capacity}, never beyond (a
 * reader stuck for a long time must not let limbo grow until the heap runs out). The committer never adds more
 * than {@link #room()} allows: it stops taking deltas off its ring instead (see {@link DeltaAdmission}).
 * Committer thread only.
 */
final class Limbo
{
    private final int capacity;
    private long[] offset;
    private int[] sizeClass;
    private long[] epoch;
    private long[] generation;
    private int head;
    private int size;

    /** @param capacity most freed blocks held at once (> 0). */
    Limbo(final int capacity)
    {
        if (capacity < 1)
        {
            throw new IllegalArgumentException("limbo capacity must be > 0: " + capacity);
        }
        this.capacity = capacity;
        final int initial = Math.min(1024, capacity);
        offset = new long[initial];
        sizeClass = new int[initial];
        epoch = new long[initial];
        generation = new long[initial];
    }

    /** @return freed blocks not yet returned to the allocator. */
    int size()
    {
        return size;
    }

    int capacity()
    {
        return capacity;
    }

    /** @return blocks that can still be added. */
    int room()
    {
        return capacity - size;
    }

    boolean isEmpty()
    {
        return size == 0;
    }

    /** @return entries the arrays can hold now (never more than the capacity); for tests. */
    int allocated()
    {
        return offset.length;
    }

    /**
     * @param tag        epoch of the commit that removed the block.
     * @param generation relaxed mode: flush generation of that commit.
     * @return false, and nothing added, when limbo is full.
     */
    boolean add(final long blockOffset, final int cls, final long tag, final long generation)
    {
        if (size == capacity)
        {
            return false;
        }
        if (size == offset.length)
        {
            grow();
        }
        int i = head + size;
        if (i >= offset.length)
        {
            i -= offset.length;
        }
        offset[i] = blockOffset;
        sizeClass[i] = cls;
        epoch[i] = tag;
        this.generation[i] = generation;
        size++;
        return true;
    }

    /**
     * Returns to {@code space} every block, oldest first, whose tag is older than {@code oldestRead} and whose flush
     * generation is at most {@code flushedGeneration}.
     *
     * @return blocks released.
     */
    int release(final long oldestRead, final long flushedGeneration, final Committer.BlockSpace space)
    {
        int reclaimed = 0;
        while (size > 0 && epoch[head] < oldestRead && generation[head] <= flushedGeneration)
        {
            final long blockOffset = offset[head];
            final int blockClass = sizeClass[head];
            head = head + 1 == offset.length ? 0 : head + 1;
            size--;
            reclaimed++;
            // Taken off first: a release that throws (the allocator refusing a double free) must not be retried on
            // every cycle, jamming limbo and with it every write.
            space.release(blockOffset, blockClass);
        }
        if (size == 0)
        {
            head = 0;
        }
        return reclaimed;
    }

    /** Doubles the arrays (up to the capacity), oldest entry first. Rare: at most log2(capacity / 1024) times. */
    private void grow()
    {
        final int length = (int)Math.min(capacity, offset.length * 2L);
        final long[] newOffset = new long[length];
        final int[] newClass = new int[length];
        final long[] newEpoch = new long[length];
        final long[] newGeneration = new long[length];
        final int first = offset.length - head; // entries from head to the end of the old arrays
        System.arraycopy(offset, head, newOffset, 0, first);
        System.arraycopy(offset, 0, newOffset, first, head);
        System.arraycopy(sizeClass, head, newClass, 0, first);
        System.arraycopy(sizeClass, 0, newClass, first, head);
        System.arraycopy(epoch, head, newEpoch, 0, first);
        System.arraycopy(epoch, 0, newEpoch, first, head);
        System.arraycopy(generation, head, newGeneration, 0, first);
        System.arraycopy(generation, 0, newGeneration, first, head);
        offset = newOffset;
        sizeClass = newClass;
        epoch = newEpoch;
        generation = newGeneration;
        head = 0;
    }
}
