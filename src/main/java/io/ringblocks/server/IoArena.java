package io.ringblocks.server;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;

import org.agrona.concurrent.UnsafeBuffer;

import io.ringblocks.alloc.BuddyAllocator;
import io.ringblocks.uring.Ring;

/**
 * A worker's I/O memory: one page-aligned region registered with its ring as fixed buffer 0, carved into
 * power-of-two buffers (4 KiB … 2 MiB) by a {@link BuddyAllocator}. Connection receive buffers, PUT payloads and GET
 * responses all live here, so every file read/write is a READ_FIXED/WRITE_FIXED on O_DIRECT-aligned memory and the
 * region's size bounds the worker's memory no matter how many connections it carries. Worker thread only.
 */
final class IoArena implements AutoCloseable
{
    static final int MAX_BUFFER = 2 << 20;
    static final int NONE = -1;

    private final Arena arena = Arena.ofShared();
    private final MemorySegment region;
    private final BuddyAllocator allocator;
    private final UnsafeBuffer buffer;
    private final ByteBuffer view;
    private long failures;

    IoArena(final long size)
    {
        if (size < MAX_BUFFER || size % MAX_BUFFER != 0)
        {
            throw new IllegalArgumentException("I/O arena size must be a positive multiple of 2 MiB: " + size);
        }
        region = arena.allocate(size, 4096);
        allocator = new BuddyAllocator(MAX_BUFFER, size);
        allocator.grow((int)(size / MAX_BUFFER));
        buffer = new UnsafeBuffer(region.address(), (int)size);
        view = region.asByteBuffer();
    }

    void register(final Ring ring)
    {
        ring.registerBuffers(region, 1, region.byteSize());
    }

    /** @return the size class holding {@code bytes}. */
    static int classFor(final int bytes)
    {
        return BuddyAllocator.sizeClassFor(bytes, MAX_BUFFER);
    }

    /**
     * Allocates only if at least {@code reserve} bytes stay free afterwards: request buffers leave headroom so that
     * new connections can still get their receive buffers while the arena is busy with block I/O.
     *
     * @return an offset into the region, or {@link #NONE}.
     */
    long allocate(final int sizeClass, final long reserve)
    {
        if (allocator.freeBytes() - BuddyAllocator.blockSize(sizeClass) < reserve)
        {
            failures++;
            return NONE;
        }
        return allocate(sizeClass);
    }

    /** @return an offset into the region, or {@link #NONE} when nothing that large is free. */
    long allocate(final int sizeClass)
    {
        final long offset = allocator.allocate(sizeClass);
        if (offset < 0)
        {
            failures++;
            return NONE;
        }
        return offset;
    }

    void free(final long offset, final int sizeClass)
    {
        allocator.free(offset, sizeClass);
    }

    /** @return the native address of {@code offset}, for SQEs. */
    long address(final long offset)
    {
        return region.address() + offset;
    }

    /** @return the whole region as one Agrona buffer, indexed by arena offset. */
    UnsafeBuffer buffer()
    {
        return buffer;
    }

    /** @return a ByteBuffer view of the region positioned on {@code [offset, offset + length)}. */
    ByteBuffer view(final long offset, final int length)
    {
        view.clear();
        view.position((int)offset);
        view.limit((int)offset + length);
        return view;
    }

    long usedBytes()
    {
        return allocator.usedBytes();
    }

    long capacity()
    {
        return allocator.capacity();
    }

    long failures()
    {
        return failures;
    }

    @Override
    public void close()
    {
        arena.close();
    }
}
