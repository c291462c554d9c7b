package io.ringblocks.alloc;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BuddyAllocatorTest
{
    private static final int MIB = 1 << 20;
    private static final int KIB = 1 << 10;

    @Test
    void shouldKeepItsStateOutsideTheJavaHeapSoThatALargeCapacityCostsOnlyWhatIsTouched()
    {
        // 4 TiB in 1 GiB chunks: 2^30 units, 5 GiB of per-unit state if it were arrays on the heap.
        final long tib = 1L << 40;
        final Runtime runtime = Runtime.getRuntime();
        System.gc();
        final long heapBefore = runtime.totalMemory() - runtime.freeMemory();
        final BuddyAllocator allocator = new BuddyAllocator(1 << 30, 4 * tib);
        allocator.grow(4096);
        assertEquals(4 * tib, allocator.fileSize());
        final long[] offsets = new long[4096];
        for (int i = 0; i < offsets.length; i++)
        {
            offsets[i] = allocator.allocate(18);
        }
        assertEquals(-1, allocator.allocate(0), "full");
        assertEquals(4 * tib - (1L << 30), offsets[offsets.length - 1], "the last chunk, at the very end");
        for (final long offset : offsets)
        {
            allocator.free(offset, 18);
        }
        assertEquals(0, allocator.usedBytes());
        final long heapAfter = runtime.totalMemory() - runtime.freeMemory();
        assertTrue(heapAfter - heapBefore < 256L << 20, "the heap grew by " + (heapAfter - heapBefore) + " bytes");
    }

    @Test
    void shouldSplitAndMergeBackToOneChunk()
    {
        final BuddyAllocator allocator = new BuddyAllocator(MIB);
        allocator.grow(1);

        assertEquals(0, allocator.allocate(0));
        for (int sizeClass = 0; sizeClass < 8; sizeClass++)
        {
            assertEquals(1, allocator.freeBlocks(sizeClass), "one free buddy per class after the split");
        }
        assertEquals(0, allocator.freeBlocks(8));
        assertEquals(1, allocator.allocatedBlocks(0));
        assertEquals(4 * KIB, allocator.usedBytes());
        assertEquals(MIB - 4 * KIB, allocator.freeBytes());

        allocator.free(0, 0);
        assertEquals(1, allocator.freeBlocks(8));
        for (int sizeClass = 0; sizeClass < 8; sizeClass++)
        {
            assertEquals(0, allocator.freeBlocks(sizeClass));
        }
        assertEquals(0, allocator.allocatedBlocks(0));
        assertEquals(0, allocator.usedBytes());
        assertEquals(MIB, allocator.freeBytes());
    }

    @Test
    void shouldAlignEveryOffsetToItsBlockSize()
    {
        final BuddyAllocator allocator = new BuddyAllocator(4L * MIB);
        allocator.grow(4);
        final int[] classes = {0, 3, 1, 8, 2, 0, 5, 7, 4, 6, 0, 1};
        long offset;
        int i = 0;
        long used = 0;
        while ((offset = allocator.allocate(classes[i % classes.length])) >= 0)
        {
            final int size = BuddyAllocator.blockSize(classes[i % classes.length]);
            assertEquals(0, offset % size, "offset " + offset + " of a " + size + " byte block");
            assertTrue(offset + size <= allocator.fileSize());
            used += size;
            i++;
        }
        assertEquals(used, allocator.usedBytes());
    }

    @Test
    void shouldMapLengthsToSizeClasses()
    {
        assertEquals(0, BuddyAllocator.sizeClassFor(1));
        assertEquals(0, BuddyAllocator.sizeClassFor(4096));
        assertEquals(1, BuddyAllocator.sizeClassFor(4097));
        assertEquals(1, BuddyAllocator.sizeClassFor(8192));
        assertEquals(2, BuddyAllocator.sizeClassFor(8193));
        assertEquals(8, BuddyAllocator.sizeClassFor(MIB));
        assertThrows(IllegalArgumentException.class, () -> BuddyAllocator.sizeClassFor(0));
        assertThrows(IllegalArgumentException.class, () -> BuddyAllocator.sizeClassFor(-1));
        assertThrows(IllegalArgumentException.class, () -> BuddyAllocator.sizeClassFor(MIB + 1));
        assertEquals(9, BuddyAllocator.sizeClassFor(MIB + 1, 2 * MIB));
        assertEquals(4096, BuddyAllocator.blockSize(0));
        assertEquals(MIB, BuddyAllocator.blockSize(8));
        assertThrows(IllegalArgumentException.class, () -> BuddyAllocator.blockSize(-1));
        assertThrows(IllegalArgumentException.class, () -> BuddyAllocator.blockSize(19));
    }

    @Test
    void shouldRejectDoubleFree()
    {
        final BuddyAllocator allocator = new BuddyAllocator(MIB);
        allocator.grow(1);
        final long a = allocator.allocate(2);
        final long b = allocator.allocate(2);
        allocator.free(a, 2);

        assertThrows(IllegalArgumentException.class, () -> allocator.free(a, 2));
        assertEquals(16 * KIB, allocator.usedBytes(), "a rejected free leaves the state alone");
        allocator.free(b, 2);
        assertThrows(IllegalArgumentException.class, () -> allocator.free(b, 2));
        assertEquals(1, allocator.freeBlocks(8));
    }

    @Test
    void shouldRejectFreeOfWrongClassMisalignedOrOutsideBlock()
    {
        final BuddyAllocator allocator = new BuddyAllocator(2L * MIB);
        allocator.grow(1);
        final long offset = allocator.allocate(3);

        assertThrows(IllegalArgumentException.class, () -> allocator.free(offset, 2), "smaller class");
        assertThrows(IllegalArgumentException.class, () -> allocator.free(offset, 4), "larger class");
        assertThrows(IllegalArgumentException.class, () -> allocator.free(offset + 4096, 0), "inside the block");
        assertThrows(IllegalArgumentException.class, () -> allocator.free(offset + 1, 3), "misaligned");
        assertThrows(IllegalArgumentException.class, () -> allocator.free(-4096, 0), "negative");
        assertThrows(IllegalArgumentException.class, () -> allocator.free(MIB, 0), "beyond the file");
        assertThrows(IllegalArgumentException.class, () -> allocator.free(offset, 9), "no such class");
        allocator.free(offset, 3);
        assertEquals(0, allocator.usedBytes());
    }

    @Test
    void shouldReturnMinusOneWhenCapacityIsReached()
    {
        final BuddyAllocator allocator = new BuddyAllocator(2L * MIB);
        assertEquals(-1, allocator.allocate(0), "an empty file has no space");
        allocator.grow(1);
        assertEquals(0, allocator.allocate(8));
        assertEquals(-1, allocator.allocate(8));
        allocator.grow(1);
        assertEquals(MIB, allocator.allocate(8));
        assertFalse(allocator.canGrow());
        assertEquals(-1, allocator.allocate(0));
        assertEquals(2L * MIB, allocator.fileSize());
        assertEquals(0, allocator.freeBytes());

        allocator.free(MIB, 8);
        assertEquals(MIB, allocator.allocate(0), "freed space is reused without growth");
        assertEquals(2L * MIB, allocator.fileSize());
    }

    @Test
    void shouldGrowOneChunkAtATimeUpToCapacity()
    {
        final BuddyAllocator allocator = new BuddyAllocator(256 * KIB, 3L * 256 * KIB);
        assertEquals(0, allocator.fileSize());
        assertEquals(3L * 256 * KIB, allocator.capacity());
        final List<Long> offsets = new ArrayList<>();
        for (int i = 0; i < 3 * 64; i++)
        {
            final long before = allocator.fileSize();
            final long offset = allocateOrGrow(allocator, 0);
            assertTrue(offset >= 0);
            final boolean grew = allocator.fileSize() != before;
            assertEquals(i % 64 == 0, grew, "grows exactly when the current chunks are full, i=" + i);
            offsets.add(offset);
        }
        assertEquals(3, allocator.chunks());
        assertFalse(allocator.canGrow());
        assertEquals(-1, allocateOrGrow(allocator, 0));
        assertEquals(3L * 256 * KIB, allocator.usedBytes());
        assertThrows(IllegalArgumentException.class, () -> allocator.grow(1));
        assertThrows(IllegalArgumentException.class, () -> allocator.grow(-1));

        for (final long offset : offsets)
        {
            allocator.free(offset, 0);
        }
        assertEquals(3, allocator.freeBlocks(6));
        assertEquals(3L * 256 * KIB, allocator.freeBytes());
    }

    @Test
    void shouldRebuildFromLiveBlocksWithMarkAllocated()
    {
        final BuddyAllocator original = new BuddyAllocator(4L * MIB);
        original.grow(3);
        final long a = original.allocate(0);
        final long b = original.allocate(5);
        final long c = original.allocate(8);
        final long d = original.allocate(1);
        final long e = original.allocate(0);
        original.free(a, 0);

        final BuddyAllocator rebuilt = new BuddyAllocator(4L * MIB);
        rebuilt.grow(3);
        rebuilt.markAllocated(d, 1);
        rebuilt.markAllocated(c, 8);
        rebuilt.markAllocated(e, 0);
        rebuilt.markAllocated(b, 5);

        assertEquals(original.usedBytes(), rebuilt.usedBytes());
        assertEquals(3L * MIB - original.usedBytes(), rebuilt.freeBytes());
        for (int sizeClass = 0; sizeClass <= 8; sizeClass++)
        {
            assertEquals(original.freeBlocks(sizeClass), rebuilt.freeBlocks(sizeClass), "class " + sizeClass);
            assertEquals(original.allocatedBlocks(sizeClass), rebuilt.allocatedBlocks(sizeClass));
        }
        rebuilt.free(b, 5);
        rebuilt.free(c, 8);
        rebuilt.free(d, 1);
        rebuilt.free(e, 0);
        assertEquals(3, rebuilt.freeBlocks(8));
    }

    @Test
    void shouldRejectMarkAllocatedOverlappingOrBeyondFileSize()
    {
        final BuddyAllocator allocator = new BuddyAllocator(2L * MIB);
        allocator.grow(1);
        allocator.markAllocated(64 * KIB, 2);

        assertThrows(IllegalArgumentException.class, () -> allocator.markAllocated(64 * KIB, 2), "same block");
        assertThrows(IllegalArgumentException.class, () -> allocator.markAllocated(68 * KIB, 0), "inside");
        assertThrows(IllegalArgumentException.class, () -> allocator.markAllocated(0, 8), "containing");
        assertThrows(IllegalArgumentException.class, () -> allocator.markAllocated(64 * KIB, 4), "containing");
        assertThrows(IllegalArgumentException.class, () -> allocator.markAllocated(MIB, 0), "beyond the file");
        assertThrows(IllegalArgumentException.class, () -> allocator.markAllocated(2048, 0), "misaligned");
        assertEquals(16 * KIB, allocator.usedBytes());

        allocator.markAllocated(80 * KIB, 2);
        allocator.markAllocated(60 * KIB, 0);
        assertEquals(36 * KIB, allocator.usedBytes());
        assertEquals(MIB - 36 * KIB, allocator.freeBytes());
    }

    @Test
    void shouldWorkWithOnePageChunks()
    {
        final BuddyAllocator allocator = new BuddyAllocator(4096, 3 * 4096);
        assertEquals(0, allocator.maxSizeClass());
        assertEquals(0, allocateOrGrow(allocator, 0));
        assertEquals(4096, allocateOrGrow(allocator, 0));
        assertEquals(8192, allocateOrGrow(allocator, 0));
        assertEquals(-1, allocateOrGrow(allocator, 0));
        allocator.free(4096, 0);
        assertThrows(IllegalArgumentException.class, () -> allocator.free(4096, 0));
        assertEquals(4096, allocator.allocate(0));
    }

    @Test
    void shouldRejectInvalidConfiguration()
    {
        assertThrows(IllegalArgumentException.class, () -> new BuddyAllocator(2048, MIB));
        assertThrows(IllegalArgumentException.class, () -> new BuddyAllocator(3 * 4096, 12 * 4096));
        assertThrows(IllegalArgumentException.class, () -> new BuddyAllocator(Integer.MIN_VALUE, 1L << 32));
        assertThrows(IllegalArgumentException.class, () -> new BuddyAllocator(0));
        assertThrows(IllegalArgumentException.class, () -> new BuddyAllocator(MIB + 4096));
        assertThrows(IllegalArgumentException.class, () -> new BuddyAllocator(1L << 43));
        assertEquals(1L << 42, new BuddyAllocator(1L << 42).capacity());
        final BuddyAllocator allocator = new BuddyAllocator(MIB);
        assertThrows(IllegalArgumentException.class, () -> allocator.allocate(9));
        assertThrows(IllegalArgumentException.class, () -> allocator.allocate(-1));
    }

    /** What the store does when nothing fits: grow by one chunk if the capacity allows, then allocate. */
    static long allocateOrGrow(final BuddyAllocator allocator, final int sizeClass)
    {
        final long offset = allocator.allocate(sizeClass);
        if (offset >= 0 || !allocator.canGrow())
        {
            return offset;
        }
        allocator.grow(1);
        return allocator.allocate(sizeClass);
    }
}
