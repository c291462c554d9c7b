package io.ringblocks.storage;

import java.util.Arrays;

/**
 * Freed blocks waiting for readers to move past the epoch of the commit that removed them, oldest first (tags are
 * non-decreasing along the queue, so a release stops at the first entry still visible to a read). Struct-of-arrays;
 * committer thread only.
 */
final class Limbo
{
    private long[] limboOffset = new long[1024];
    private int[] limboClass = new int[1024];
    private long[] limboEpoch = new long[1024];
    private long[] limboGeneration = new long[1024];
    private int limboHead;
    private int limboTail;

    /** @return freed blocks not yet returned to the allocator. */
    int size()
    {
        return limboTail - limboHead;
    }

    boolean isEmpty()
    {
        return limboHead == limboTail;
    }

    /**
     * @param tag        epoch of the commit that removed the block.
     * @param generation relaxed mode: flush generation of that commit.
     */
    void add(final long offset, final int cls, final long tag, final long generation)
    {
        if (limboTail == limboOffset.length)
        {
            compactOrGrowLimbo();
        }
        limboOffset[limboTail] = offset;
        limboClass[limboTail] = cls;
        limboEpoch[limboTail] = tag;
        limboGeneration[limboTail] = generation;
        limboTail++;
    }

    private void compactOrGrowLimbo()
    {
        final int live = limboTail - limboHead;
        if (live * 2 > limboOffset.length)
        {
            limboOffset = Arrays.copyOf(limboOffset, limboOffset.length * 2);
            limboClass = Arrays.copyOf(limboClass, limboClass.length * 2);
            limboEpoch = Arrays.copyOf(limboEpoch, limboEpoch.length * 2);
            limboGeneration = Arrays.copyOf(limboGeneration, limboGeneration.length * 2);
        }
        System.arraycopy(limboOffset, limboHead, limboOffset, 0, live);
        System.arraycopy(limboClass, limboHead, limboClass, 0, live);
        System.arraycopy(limboEpoch, limboHead, limboEpoch, 0, live);
        System.arraycopy(limboGeneration, limboHead, limboGeneration, 0, live);
        limboHead = 0;
        limboTail = live;
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
        while (limboHead < limboTail && limboEpoch[limboHead] < oldestRead &&
            limboGeneration[limboHead] <= flushedGeneration)
        {
            space.release(limboOffset[limboHead], limboClass[limboHead]);
            limboHead++;
            reclaimed++;
        }
        if (limboHead == limboTail)
        {
            limboHead = 0;
            limboTail = 0;
        }
        return reclaimed;
    }
}
