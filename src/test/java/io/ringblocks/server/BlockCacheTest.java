package io.ringblocks.server;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The block cache against a model: what it finds is always the content offered under that hash, pinned entries are
 * never evicted or overwritten, and it stays within its memory.
 */
class BlockCacheTest
{
    private static final int HASH = Operations.HASH;

    /** A universe of blocks: a random hash and random content of 1 byte .. 16 KiB each. */
    private static final class Blocks
    {
        final UnsafeBuffer[] hashes;
        final UnsafeBuffer[] contents;

        Blocks(final int count, final long seed)
        {
            final Random random = new Random(seed);
            hashes = new UnsafeBuffer[count];
            contents = new UnsafeBuffer[count];
            for (int i = 0; i < count; i++)
            {
                final byte[] hash = new byte[HASH];
                random.nextBytes(hash);
                hashes[i] = new UnsafeBuffer(hash);
                final byte[] content = new byte[1 + random.nextInt(BlockCache.MAX_BLOCK)];
                random.nextBytes(content);
                contents[i] = new UnsafeBuffer(content);
            }
        }

        boolean offer(final BlockCache cache, final int i)
        {
            return cache.offer(hashes[i], 0, contents[i], 0, contents[i].capacity(), i, 7);
        }

        int find(final BlockCache cache, final int i)
        {
            return cache.find(hashes[i], 0);
        }

        void assertHolds(final BlockCache cache, final int e, final int i)
        {
            assertEquals(contents[i].capacity(), cache.length(e));
            assertEquals(i, cache.crc(e), "the index's checksum travels with the entry");
            final UnsafeBuffer held = new UnsafeBuffer(cache.address(e), cache.length(e));
            assertEquals(0, held.compareTo(contents[i]), "entry " + e + " holds block " + i + "'s bytes");
        }
    }

    @Test
    void shouldCacheABlockTheSecondTimeItIsOffered()
    {
        final Blocks blocks = new Blocks(2, 1);
        try (BlockCache cache = new BlockCache(1 << 20))
        {
            assertFalse(blocks.offer(cache, 0), "one read is not a reason to cache");
            assertEquals(-1, blocks.find(cache, 0));
            assertTrue(blocks.offer(cache, 0));
            final int e = blocks.find(cache, 0);
            assertTrue(e >= 0);
            blocks.assertHolds(cache, e, 0);
            assertEquals(7, cache.validAt(e));
            cache.validate(e, 9);
            assertEquals(9, cache.validAt(e));
            assertFalse(blocks.offer(cache, 0), "already cached");
            assertEquals(-1, blocks.find(cache, 1));
            assertEquals(1, cache.entries());
        }
    }

    @Test
    void shouldNotCacheBlocksLargerThanItsLimitOrWhenOff()
    {
        final UnsafeBuffer hash = new UnsafeBuffer(new byte[HASH]);
        final UnsafeBuffer big = new UnsafeBuffer(new byte[BlockCache.MAX_BLOCK + 1]);
        try (BlockCache cache = new BlockCache(1 << 20); BlockCache off = new BlockCache(0))
        {
            for (int i = 0; i < 3; i++)
            {
                assertFalse(cache.offer(hash, 0, big, 0, big.capacity(), 0, 0));
                assertFalse(off.offer(hash, 0, big, 0, 100, 0, 0));
            }
            assertEquals(0, cache.entries());
            assertEquals(-1, off.find(hash, 0));
            assertFalse(off.enabled());
        }
        assertThrows(IllegalArgumentException.class, () -> new BlockCache(BlockCache.MAX_BLOCK + 1));
        assertThrows(IllegalArgumentException.class, () -> new BlockCache(-BlockCache.MAX_BLOCK));
    }

    @Test
    void shouldNeverEvictPinnedEntries()
    {
        final Blocks blocks = new Blocks(40, 2);
        try (BlockCache cache = new BlockCache(BlockCache.MAX_BLOCK * 2))
        {
            final List<Integer> pinned = new ArrayList<>();
            for (int i = 0; i < blocks.contents.length; i++)
            {
                blocks.offer(cache, i);
                if (blocks.offer(cache, i))
                {
                    final int e = blocks.find(cache, i);
                    cache.pin(e);
                    pinned.add(i);
                }
            }
            assertTrue(pinned.size() >= 2, "the first blocks fit");
            for (final int i : pinned)
            {
                final int e = blocks.find(cache, i);
                assertTrue(e >= 0, "a pinned block stays findable");
                blocks.assertHolds(cache, e, i);
            }
            assertTrue(cache.bytes() <= BlockCache.MAX_BLOCK * 2);
        }
    }

    @Test
    void shouldLetOnlyOneInEightOfferedBlocksDisplaceOthersWhenFull()
    {
        try (BlockCache cache = new BlockCache(BlockCache.MAX_BLOCK))
        {
            final UnsafeBuffer big = new UnsafeBuffer(new byte[BlockCache.MAX_BLOCK]);
            final UnsafeBuffer other = new UnsafeBuffer(new byte[BlockCache.MAX_BLOCK]);
            big.putLong(0, 1);
            other.putLong(0, 2);
            final UnsafeBuffer bigHash = new UnsafeBuffer(new byte[HASH]);
            final UnsafeBuffer otherHash = new UnsafeBuffer(new byte[HASH]);
            bigHash.putLong(0, 0x1234_5678_9abc_def0L);
            otherHash.putLong(0, 0x0fed_cba9_8765_4321L);
            cache.offer(bigHash, 0, big, 0, big.capacity(), 0, 0);
            assertTrue(cache.offer(bigHash, 0, big, 0, big.capacity(), 0, 0), "room: admitted on its second offer");
            int offers = 0;
            boolean admitted = false;
            while (!admitted && offers < 100)
            {
                admitted = cache.offer(otherHash, 0, other, 0, other.capacity(), 0, 0);
                offers++;
            }
            assertTrue(admitted);
            assertTrue(offers >= 8 && offers <= 9, "offers until the full cache took it: " + offers);
            assertEquals(-1, cache.find(bigHash, 0), "displaced");
            assertEquals(1, cache.entries());
            cache.checkInvariants();
        }
    }

    @Test
    void shouldGiveARemovedEntryBackAtItsLastUnpin()
    {
        final Blocks blocks = new Blocks(1, 3);
        try (BlockCache cache = new BlockCache(BlockCache.MAX_BLOCK))
        {
            blocks.offer(cache, 0);
            assertTrue(blocks.offer(cache, 0));
            final int e = blocks.find(cache, 0);
            cache.pin(e);
            cache.pin(e);
            cache.remove(e);
            assertEquals(-1, blocks.find(cache, 0));
            assertEquals(1, cache.entries(), "a response is still sent from it");
            blocks.assertHolds(cache, e, 0);
            cache.unpin(e);
            assertEquals(1, cache.entries());
            cache.unpin(e);
            assertEquals(0, cache.entries());
            assertEquals(0, cache.bytes());
            cache.checkInvariants();
            assertThrows(IllegalStateException.class, () -> cache.unpin(e));
        }
    }

    /**
     * Random offers, finds, pins, unpins and removals over a cache far smaller than the blocks: whatever it finds
     * holds that block's bytes, pinned entries keep theirs, and it never holds more than its size.
     */
    @Property(tries = 100)
    void shouldOnlyEverFindWhatWasOfferedUnderThatHash(
        @ForAll @Size(min = 1, max = 400) final List<@IntRange(max = 5 * 30 - 1) Integer> ops,
        @ForAll @IntRange(min = 1, max = 6) final int units,
        @ForAll final long seed)
    {
        final Blocks blocks = new Blocks(30, seed);
        final long capacity = (long)units * BlockCache.MAX_BLOCK;
        try (BlockCache cache = new BlockCache(capacity))
        {
            final Map<Integer, Integer> pins = new HashMap<>(); // entry -> block
            final Map<Integer, Integer> pinCount = new HashMap<>();
            for (final int op : ops)
            {
                final int i = op % 30;
                switch (op / 30)
                {
                    case 0, 1 -> blocks.offer(cache, i);
                    case 2 ->
                    {
                        final int e = blocks.find(cache, i);
                        if (e >= 0)
                        {
                            blocks.assertHolds(cache, e, i);
                            cache.pin(e);
                            pins.put(e, i);
                            pinCount.merge(e, 1, Integer::sum);
                        }
                    }
                    case 3 ->
                    {
                        if (!pinCount.isEmpty())
                        {
                            final int e = pinCount.keySet().iterator().next();
                            cache.unpin(e);
                            if (pinCount.merge(e, -1, Integer::sum) == 0)
                            {
                                pinCount.remove(e);
                                pins.remove(e);
                            }
                        }
                    }
                    default ->
                    {
                        final int e = blocks.find(cache, i);
                        if (e >= 0)
                        {
                            cache.remove(e);
                            assertEquals(-1, blocks.find(cache, i), "a removed block is gone at once");
                        }
                    }
                }
                for (final Map.Entry<Integer, Integer> p : pins.entrySet())
                {
                    blocks.assertHolds(cache, p.getKey(), p.getValue()); // removed or not, a pinned entry's bytes stay
                }
                assertTrue(cache.bytes() <= capacity);
                assertTrue(cache.entries() <= capacity / 4096);
                cache.checkInvariants();
            }
            for (int i = 0; i < 30; i++)
            {
                final int e = blocks.find(cache, i);
                if (e >= 0)
                {
                    blocks.assertHolds(cache, e, i);
                }
            }
        }
    }
}
