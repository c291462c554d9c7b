package io.ringblocks.uring;

/**
 * A reusable copy of up to {@link #capacity()} CQEs. {@link Ring#reap(CompletionBatch)} copies completions here
 * and hands the CQ slots back to the kernel at once, so that handlers run afterwards may submit freely without
 * holding CQ space (house rule: drain the CQ first, then run handlers). Struct-of-arrays, allocated once.
 */
public final class CompletionBatch
{
    private final long[] userData;
    private final int[] result;
    private final int[] flags;
    private int size;

    public CompletionBatch(final int capacity)
    {
        if (capacity <= 0)
        {
            throw new IllegalArgumentException("capacity must be > 0: " + capacity);
        }
        userData = new long[capacity];
        result = new int[capacity];
        flags = new int[capacity];
    }

    public int capacity()
    {
        return userData.length;
    }

    public int size()
    {
        return size;
    }

    public long userData(final int index)
    {
        return userData[index];
    }

    /** The CQE's {@code res}: a byte count or file descriptor, or {@code -errno}. */
    public int result(final int index)
    {
        return result[index];
    }

    /** The CQE's flags, e.g. {@link Ring#CQE_F_MORE}. */
    public int flags(final int index)
    {
        return flags[index];
    }

    void clear()
    {
        size = 0;
    }

    void add(final long ud, final int res, final int fl)
    {
        userData[size] = ud;
        result[size] = res;
        flags[size] = fl;
        size++;
    }
}
