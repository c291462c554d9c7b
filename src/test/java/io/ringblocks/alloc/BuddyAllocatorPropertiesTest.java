package io.ringblocks.alloc;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Random allocate/free histories checked step by step against a reference model: a map of live offset to size
 * class. Small chunk counts make the file fill up, so the "no space" answers are exercised and checked too.
 */
class BuddyAllocatorPropertiesTest
{
    /** One step: {@code kind} 0..54 allocates, 55..94 frees a live block, 95..99 tries a free that must fail. */
    record Op(int kind, int sizeClass, int pick)
    {
    }

    @Provide
    Arbitrary<List<Op>> histories()
    {
        return Combinators.combine(
                Arbitraries.integers().between(0, 99),
                Arbitraries.integers().between(0, 8),
                Arbitraries.integers().between(0, Integer.MAX_VALUE))
            .as(Op::new)
            .list().ofMaxSize(300);
    }

    @Property(tries = 200)
    void shouldKeepLiveBlocksDisjointAlignedAndAccounted(
        @ForAll @IntRange(min = 0, max = 8) final int maxClass,
        @ForAll @IntRange(min = 1, max = 6) final int capacityChunks,
        @ForAll("histories") final List<Op> history)
    {
        final Model model = new Model(maxClass, capacityChunks);
        model.run(history);

        for (final Map.Entry<Long, Integer> block : new ArrayList<>(model.live.entrySet()))
        {
            model.allocator.free(block.getKey(), block.getValue());
        }
        final BuddyAllocator allocator = model.allocator;
        assertEquals(0, allocator.usedBytes());
        assertEquals(allocator.fileSize(), allocator.freeBytes());
        assertEquals(allocator.chunks(), allocator.freeBlocks(maxClass), "everything merges back into chunks");
        for (int sizeClass = 0; sizeClass < maxClass; sizeClass++)
        {
            assertEquals(0, allocator.freeBlocks(sizeClass));
            assertEquals(0, allocator.allocatedBlocks(sizeClass));
        }
    }

    @Property(tries = 200)
    void shouldRebuildTheSameStateFromTheLiveSet(
        @ForAll @IntRange(min = 0, max = 8) final int maxClass,
        @ForAll @IntRange(min = 1, max = 6) final int capacityChunks,
        @ForAll("histories") final List<Op> history,
        @ForAll("histories") final List<Op> afterwards,
        @ForAll final long seed)
    {
        final Model model = new Model(maxClass, capacityChunks);
        model.run(history);
        final BuddyAllocator original = model.allocator;

        final BuddyAllocator rebuilt = new BuddyAllocator(original.maxBlockSize(), original.capacity());
        rebuilt.grow(original.chunks());
        final List<Map.Entry<Long, Integer>> blocks = new ArrayList<>(model.live.entrySet());
        Collections.shuffle(blocks, new Random(seed));
        for (final Map.Entry<Long, Integer> block : blocks)
        {
            rebuilt.markAllocated(block.getKey(), block.getValue());
        }
        assertEquals(original.usedBytes(), rebuilt.usedBytes());
        assertEquals(original.freeBytes(), rebuilt.freeBytes());
        for (int sizeClass = 0; sizeClass <= maxClass; sizeClass++)
        {
            assertEquals(original.freeBlocks(sizeClass), rebuilt.freeBlocks(sizeClass), "free, class " + sizeClass);
            assertEquals(original.allocatedBlocks(sizeClass), rebuilt.allocatedBlocks(sizeClass));
        }
        for (final Map.Entry<Long, Integer> block : blocks)
        {
            assertThrows(IllegalArgumentException.class,
                () -> rebuilt.markAllocated(block.getKey(), block.getValue()), "a live block cannot be marked twice");
        }

        // The rebuilt allocator must hand out only space outside the live set, and all of it.
        model.allocator = rebuilt;
        for (final Op op : afterwards)
        {
            model.allocate(op.sizeClass() % (maxClass + 1), false);
        }
        while (model.allocate(0, false) >= 0)
        {
            model.check();
        }
        assertEquals(0, rebuilt.freeBytes());
        assertEquals(original.fileSize(), rebuilt.fileSize(), "markAllocated and allocate never grow");
    }

    /** The allocator under test beside the reference model, with the invariants checked after every step. */
    private static final class Model
    {
        final int maxClass;
        final TreeMap<Long, Integer> live = new TreeMap<>();
        final List<Long> liveOffsets = new ArrayList<>();
        final long[] liveCounts;
        final List<long[]> freed = new ArrayList<>();
        BuddyAllocator allocator;
        long liveBytes;

        Model(final int maxClass, final int capacityChunks)
        {
            this.maxClass = maxClass;
            liveCounts = new long[maxClass + 1];
            final int chunk = BuddyAllocator.blockSize(maxClass);
            allocator = new BuddyAllocator(chunk, (long)chunk * capacityChunks);
        }

        void run(final List<Op> history)
        {
            for (final Op op : history)
            {
                if (op.kind() < 55 || liveOffsets.isEmpty())
                {
                    allocate(op.sizeClass() % (maxClass + 1), true);
                }
                else if (op.kind() < 95)
                {
                    free(op.pick() % liveOffsets.size());
                }
                else if (!freed.isEmpty())
                {
                    final long[] stale = freed.get(op.pick() % freed.size());
                    if (!live.containsKey(stale[0]))
                    {
                        assertThrows(IllegalArgumentException.class,
                            () -> allocator.free(stale[0], (int)stale[1]), "double free");
                    }
                    final long offset = liveOffsets.get(op.pick() % liveOffsets.size());
                    final int sizeClass = live.get(offset);
                    assertThrows(IllegalArgumentException.class,
                        () -> allocator.markAllocated(offset, sizeClass), "marking a live block");
                }
                check();
            }
        }

        long allocate(final int sizeClass, final boolean mayGrow)
        {
            final int size = BuddyAllocator.blockSize(sizeClass);
            final long sizeBefore = allocator.fileSize();
            final long offset = mayGrow ? BuddyAllocatorTest.allocateOrGrow(allocator, sizeClass) : allocator.allocate(sizeClass);
            if (offset < 0)
            {
                assertFalse(hasAlignedGap(size, allocator.fileSize()), "-1 although a free aligned block exists");
                assertTrue(!mayGrow || !allocator.canGrow(), "-1 although the file could grow");
                return offset;
            }
            if (allocator.fileSize() != sizeBefore)
            {
                assertFalse(hasAlignedGap(size, sizeBefore), "grew although a free aligned block existed");
                assertEquals(sizeBefore + allocator.maxBlockSize(), allocator.fileSize(), "grows one chunk");
            }
            assertEquals(0, offset % size, "aligned to its size");
            assertTrue(offset + size <= allocator.fileSize(), "inside the file");
            assertFalse(overlapsLive(offset, size), "overlaps a live block");
            live.put(offset, sizeClass);
            liveOffsets.add(offset);
            liveCounts[sizeClass]++;
            liveBytes += size;
            return offset;
        }

        void free(final int index)
        {
            final long offset = liveOffsets.get(index);
            liveOffsets.set(index, liveOffsets.getLast());
            liveOffsets.removeLast();
            final int sizeClass = live.remove(offset);
            allocator.free(offset, sizeClass);
            liveCounts[sizeClass]--;
            liveBytes -= BuddyAllocator.blockSize(sizeClass);
            freed.add(new long[] {offset, sizeClass});
        }

        void check()
        {
            assertEquals(liveBytes, allocator.usedBytes());
            assertEquals(allocator.fileSize(), allocator.usedBytes() + allocator.freeBytes());
            assertTrue(allocator.fileSize() <= allocator.capacity());
            assertEquals(0, allocator.fileSize() % allocator.maxBlockSize());
            long freeListBytes = 0;
            for (int sizeClass = 0; sizeClass <= maxClass; sizeClass++)
            {
                freeListBytes += allocator.freeBlocks(sizeClass) * BuddyAllocator.blockSize(sizeClass);
                assertEquals(liveCounts[sizeClass], allocator.allocatedBlocks(sizeClass));
            }
            assertEquals(allocator.freeBytes(), freeListBytes, "free lists cover exactly the free bytes");
        }

        boolean overlapsLive(final long offset, final int size)
        {
            final Map.Entry<Long, Integer> below = live.floorEntry(offset);
            if (below != null && below.getKey() + BuddyAllocator.blockSize(below.getValue()) > offset)
            {
                return true;
            }
            final Long above = live.ceilingKey(offset);
            return above != null && above < offset + size;
        }

        boolean hasAlignedGap(final int size, final long fileSize)
        {
            for (long offset = 0; offset + size <= fileSize; offset += size)
            {
                if (!overlapsLive(offset, size))
                {
                    return true;
                }
            }
            return false;
        }
    }
}
