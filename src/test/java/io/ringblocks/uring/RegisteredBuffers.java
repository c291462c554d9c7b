package io.ringblocks.uring;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A pool of equally sized, page-aligned buffers carved from one allocation, registered with a ring so reads and
 * writes use {@code READ_FIXED}/{@code WRITE_FIXED} (no per-I/O page pinning). Page alignment makes every buffer
 * fit for O_DIRECT. Owned by one thread: acquire/release are a plain index stack, no allocation.
 */
public final class RegisteredBuffers implements AutoCloseable
{
    public static final int ALIGNMENT = 4096;

    private final Arena arena = Arena.ofShared();
    private final MemorySegment base;
    private final int count;
    private final int bufferSize;
    private final int[] free;
    private final boolean[] inUse;
    private int freeCount;

    /**
     * @param count      number of buffers, {@code > 0}.
     * @param bufferSize bytes per buffer, a positive multiple of {@link #ALIGNMENT}.
     */
    public RegisteredBuffers(final int count, final int bufferSize)
    {
        if (count <= 0 || bufferSize <= 0 || bufferSize % ALIGNMENT != 0)
        {
            throw new IllegalArgumentException(
                "need count > 0 and bufferSize a positive multiple of 4096: " + count + " x " + bufferSize);
        }
        this.count = count;
        this.bufferSize = bufferSize;
        base = arena.allocate((long)count * bufferSize, ALIGNMENT);
        free = new int[count];
        inUse = new boolean[count];
        for (int i = 0; i < count; i++)
        {
            free[i] = count - 1 - i;
        }
        freeCount = count;
    }

    /** Registers all buffers with {@code ring}: buffer {@code i} is fixed-buffer index {@code i}. */
    public void register(final Ring ring)
    {
        ring.registerBuffers(base, count, bufferSize);
    }

    /** @return a free buffer index, or -1 when all are in use. */
    public int acquire()
    {
        if (freeCount == 0)
        {
            return -1;
        }
        final int index = free[--freeCount];
        inUse[index] = true;
        return index;
    }

    public void release(final int index)
    {
        if (index < 0 || index >= count || !inUse[index])
        {
            throw new IllegalArgumentException("buffer " + index + " is not in use");
        }
        inUse[index] = false;
        free[freeCount++] = index;
    }

    public int available()
    {
        return freeCount;
    }

    public int count()
    {
        return count;
    }

    public int bufferSize()
    {
        return bufferSize;
    }

    /** @return the native address of buffer {@code index}. */
    public long address(final int index)
    {
        return base.address() + (long)index * bufferSize;
    }

    /** @return buffer {@code index} as a segment (allocates a view: not for the hot path). */
    public MemorySegment segment(final int index)
    {
        return base.asSlice((long)index * bufferSize, bufferSize);
    }

    /** @return the whole pool as one segment, for zero-allocation access by offset. */
    public MemorySegment base()
    {
        return base;
    }

    @Override
    public void close()
    {
        arena.close();
    }
}
