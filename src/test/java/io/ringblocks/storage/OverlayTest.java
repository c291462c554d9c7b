package io.ringblocks.storage;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static io.ringblocks.storage.Overlay.DELETED;
import static io.ringblocks.storage.Overlay.LIVE;
import static io.ringblocks.storage.Overlay.MISS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Single-threaded semantics of {@link Overlay} (see {@link OverlayConcurrencyTest} for readers racing the writer),
 * and random histories checked against a model: a map for the active table and one for the frozen table.
 */
class OverlayTest
{
    private static final int SLOTS = 1024;
    private static final int MAX = SLOTS * 3 / 4;

    private Overlay overlay;

    @AfterEach
    void closeOverlay()
    {
        if (overlay != null)
        {
            overlay.close();
        }
    }

    /** {@code count} random keys, 32 bytes each; keys {@code 2j} and {@code 2j + 1} share their first 8 bytes. */
    static UnsafeBuffer keys(final int count, final long seed)
    {
        final UnsafeBuffer keys = new UnsafeBuffer(new byte[count * Overlay.KEY_LENGTH]);
        final SplittableRandom random = new SplittableRandom(seed);
        long prefix = 0;
        for (int i = 0; i < count; i++)
        {
            final int at = i * Overlay.KEY_LENGTH;
            prefix = (i & 1) == 0 ? random.nextLong() : prefix;
            keys.putLong(at, prefix);
            keys.putInt(at + 8, i);
            keys.putInt(at + 12, random.nextInt());
            keys.putLong(at + 16, random.nextLong());
            keys.putLong(at + 24, random.nextLong());
        }
        return keys;
    }

    private static int at(final int key)
    {
        return key * Overlay.KEY_LENGTH;
    }

    @Test
    void shouldFindWhatWasPutAndTheLatestOverwrite()
    {
        overlay = new Overlay(SLOTS);
        final UnsafeBuffer keys = keys(4, 1);
        final Overlay.Reader reader = overlay.reader();

        overlay.put(keys, at(0), 4096L, 1000, 3, 0xCAFE, 1);
        assertEquals(LIVE, reader.lookup(keys, at(0)));
        assertEquals(4096L, reader.offset());
        assertEquals(1000, reader.length());
        assertEquals(3, reader.sizeClass());
        assertEquals(0xCAFE, reader.crc());
        assertEquals(1, reader.flags());
        assertEquals(MISS, reader.lookup(keys, at(1)), "same first 8 bytes, different key");

        overlay.put(keys, at(0), 1L << 40, 7, 255, -1, 255);
        assertEquals(LIVE, reader.lookup(keys, at(0)));
        assertEquals(1L << 40, reader.offset());
        assertEquals(7, reader.length());
        assertEquals(255, reader.sizeClass());
        assertEquals(-1, reader.crc());
        assertEquals(255, reader.flags());
        assertEquals(1, overlay.activeEntries(), "an overwrite adds no entry");
        assertEquals(MAX - 1, overlay.room());
    }

    @Test
    void shouldAnswerDeletedForTombstonesAndCountThem()
    {
        overlay = new Overlay(SLOTS);
        final UnsafeBuffer keys = keys(3, 2);
        final Overlay.Reader reader = overlay.reader();

        overlay.put(keys, at(0), 8192L, 10, 1, 5, 0);
        overlay.delete(keys, at(0));
        assertEquals(DELETED, reader.lookup(keys, at(0)));
        overlay.delete(keys, at(1));
        assertEquals(DELETED, reader.lookup(keys, at(1)), "a tombstone for a key the overlay never had");
        assertEquals(MISS, reader.lookup(keys, at(2)));
        assertEquals(2, overlay.activeEntries());

        overlay.put(keys, at(1), 12288L, 20, 2, 6, 0);
        assertEquals(LIVE, reader.lookup(keys, at(1)));
        assertEquals(12288L, reader.offset());
        assertEquals(2, overlay.activeEntries());
    }

    @Test
    void shouldNotMatchEmptySlotsWithAnAllZeroKey()
    {
        final UnsafeBuffer zero = new UnsafeBuffer(new byte[Overlay.KEY_LENGTH]);
        final UnsafeBuffer keys = keys(100, 3);
        for (long seed = 0; seed < 8; seed++)
        {
            try (Overlay o = new Overlay(SLOTS, seed))
            {
                final Overlay.Reader reader = o.reader();
                assertEquals(MISS, reader.lookup(zero, 0));
                for (int i = 0; i < 100; i++)
                {
                    o.put(keys, at(i), i, i, 0, i, 0);
                }
                assertEquals(MISS, reader.lookup(zero, 0));
                o.freeze();
                assertEquals(MISS, reader.lookup(zero, 0), "neither table holds it");

                o.put(zero, 0, 42L, 1, 0, 9, 0);
                assertEquals(LIVE, reader.lookup(zero, 0));
                assertEquals(42L, reader.offset());
            }
        }
    }

    @Test
    void shouldLetTheActiveTableShadowTheFrozenOne()
    {
        overlay = new Overlay(SLOTS);
        final UnsafeBuffer keys = keys(4, 4);
        final Overlay.Reader reader = overlay.reader();
        overlay.put(keys, at(0), 100L, 1, 0, 0, 0);
        overlay.put(keys, at(1), 200L, 1, 0, 0, 0);
        overlay.put(keys, at(2), 300L, 1, 0, 0, 0);
        overlay.freeze();
        assertTrue(overlay.hasFrozen());
        assertFalse(overlay.canFreeze());
        assertEquals(3, overlay.frozenEntries());
        assertEquals(0, overlay.activeEntries());
        assertEquals(MAX, overlay.room());

        assertEquals(LIVE, reader.lookup(keys, at(0)));
        assertEquals(100L, reader.offset(), "found in the frozen table");
        overlay.put(keys, at(0), 101L, 1, 0, 0, 0);
        overlay.delete(keys, at(1));
        assertEquals(LIVE, reader.lookup(keys, at(0)));
        assertEquals(101L, reader.offset(), "the active entry wins");
        assertEquals(DELETED, reader.lookup(keys, at(1)), "an active tombstone hides a frozen live entry");
        assertEquals(LIVE, reader.lookup(keys, at(2)));
        assertEquals(300L, reader.offset());
        assertEquals(MISS, reader.lookup(keys, at(3)));
    }

    @Test
    void shouldNotLookInAnUnlinkedTable()
    {
        overlay = new Overlay(SLOTS);
        final UnsafeBuffer keys = keys(2, 5);
        final Overlay.Reader reader = overlay.reader();
        overlay.put(keys, at(0), 100L, 1, 0, 0, 0);
        overlay.freeze();
        overlay.put(keys, at(1), 200L, 1, 0, 0, 0);
        overlay.unlinkFrozen();

        assertFalse(overlay.hasFrozen());
        assertFalse(overlay.canFreeze(), "unlinked is not clear yet");
        assertEquals(MISS, reader.lookup(keys, at(0)));
        assertEquals(LIVE, reader.lookup(keys, at(1)));
        assertEquals(1, overlay.forEachFrozen((h, o, live, off, len, c, crc, f) -> {}),
            "the unlinked table is still readable until reclaimed");
    }

    @Test
    void shouldReuseAReclaimedTableClear()
    {
        overlay = new Overlay(SLOTS);
        final UnsafeBuffer keys = keys(2 * MAX, 6);
        final Overlay.Reader reader = overlay.reader();
        for (int i = 0; i < MAX; i++)
        {
            overlay.put(keys, at(i), i, i, 0, 0, 0);
        }
        overlay.freeze();
        overlay.unlinkFrozen();
        overlay.reclaimUnlinked();
        assertTrue(overlay.canFreeze());
        assertEquals(0, overlay.frozenEntries());
        overlay.freeze(); // the reclaimed table becomes active, the empty one frozen
        assertEquals(0, overlay.activeEntries());
        assertEquals(MAX, overlay.room());
        for (int i = 0; i < MAX; i++)
        {
            assertEquals(MISS, reader.lookup(keys, at(i)));
        }
        for (int i = MAX; i < 2 * MAX; i++)
        {
            overlay.put(keys, at(i), i, i, 0, 0, 0);
        }
        assertEquals(0, overlay.room(), "the whole table is usable again");
        for (int i = 0; i < 2 * MAX; i++)
        {
            assertEquals(i < MAX ? MISS : LIVE, reader.lookup(keys, at(i)));
        }
    }

    @Test
    void shouldStartTheSequencesOfAClearedTableAboveAnyItHadBefore()
    {
        overlay = new Overlay(SLOTS);
        final UnsafeBuffer keys = keys(1, 10);
        assertEquals(0, overlay.activeSequence(keys, 0));
        overlay.put(keys, 0, 1L, 1, 0, 0, 0);
        overlay.put(keys, 0, 2L, 1, 0, 0, 0);
        assertEquals(4, overlay.activeSequence(keys, 0), "two puts, each odd then even");

        overlay.freeze();
        overlay.unlinkFrozen();
        overlay.reclaimUnlinked();
        overlay.freeze();
        assertEquals(0, overlay.activeSequence(keys, 0), "cleared");
        overlay.put(keys, 0, 3L, 1, 0, 0, 0);
        assertEquals((1L << 32) + 2, overlay.activeSequence(keys, 0), "a reader stalled before the clear sees a change");
    }

    @Test
    void shouldHoldExactlyMaxEntriesNewKeysAndStillAcceptOverwrites()
    {
        overlay = new Overlay(SLOTS);
        assertEquals(MAX, overlay.maxEntries());
        final UnsafeBuffer keys = keys(MAX + 1, 7);
        final Overlay.Reader reader = overlay.reader();
        for (int i = 0; i < MAX; i++)
        {
            assertEquals(MAX - i, overlay.room());
            overlay.put(keys, at(i), i, i, 0, 0, 0);
        }
        assertEquals(0, overlay.room());
        assertEquals(MAX, overlay.activeEntries());

        overlay.put(keys, at(5), 555L, 5, 0, 0, 0);
        overlay.delete(keys, at(6));
        assertThrows(IllegalStateException.class, () -> overlay.put(keys, at(MAX), 1L, 1, 0, 0, 0));
        assertThrows(IllegalStateException.class, () -> overlay.delete(keys, at(MAX)));

        assertEquals(MISS, reader.lookup(keys, at(MAX)));
        assertEquals(DELETED, reader.lookup(keys, at(6)));
        for (int i = 0; i < MAX; i++)
        {
            if (i != 6)
            {
                assertEquals(LIVE, reader.lookup(keys, at(i)));
                assertEquals(i == 5 ? 555L : i, reader.offset());
            }
        }
    }

    @Test
    void shouldRejectMisuse()
    {
        assertThrows(IllegalArgumentException.class, () -> new Overlay(512));
        assertThrows(IllegalArgumentException.class, () -> new Overlay(3000));
        assertThrows(IllegalArgumentException.class, () -> new Overlay(Overlay.MAX_SLOTS * 2));

        overlay = new Overlay(SLOTS);
        final UnsafeBuffer keys = keys(1, 8);
        assertThrows(IllegalArgumentException.class, () -> overlay.put(keys, 0, 0L, 1, 256, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> overlay.put(keys, 0, 0L, 1, 0, 0, -1));
        assertThrows(IndexOutOfBoundsException.class, () -> overlay.put(keys, 1, 0L, 1, 0, 0, 0));
        assertThrows(IndexOutOfBoundsException.class, () -> overlay.reader().lookup(keys, 1));
        assertThrows(IllegalStateException.class, overlay::unlinkFrozen);
        assertThrows(IllegalStateException.class, overlay::reclaimUnlinked);
        assertThrows(IllegalStateException.class, () -> overlay.forEachFrozen((h, o, l, off, len, c, crc, f) -> {}));

        overlay.freeze();
        assertThrows(IllegalStateException.class, overlay::freeze);
        assertThrows(IllegalStateException.class, overlay::reclaimUnlinked);
        overlay.unlinkFrozen();
        assertThrows(IllegalStateException.class, overlay::unlinkFrozen);
        assertThrows(IllegalStateException.class, overlay::freeze);
        overlay.reclaimUnlinked();
        assertThrows(IllegalStateException.class, overlay::reclaimUnlinked);

        final Overlay.Reader reader = overlay.reader();
        overlay.close();
        overlay.close();
        assertThrows(IllegalStateException.class, () -> reader.lookup(keys, 0));
        assertThrows(IllegalStateException.class, () -> overlay.put(keys, 0, 0L, 1, 0, 0, 0));
        assertThrows(IllegalStateException.class, overlay::reader);
        overlay = null;
    }

    @Test
    void shouldVisitExactlyTheFrozenEntries()
    {
        overlay = new Overlay(SLOTS);
        final UnsafeBuffer keys = keys(300, 9);
        final Map<Integer, Entry> expected = new HashMap<>();
        for (int i = 0; i < 200; i++)
        {
            if (i % 5 == 0)
            {
                overlay.delete(keys, at(i));
                expected.put(i, Entry.TOMBSTONE);
            }
            else
            {
                final Entry e = new Entry(true, i * 4096L, i + 1, i & 0xFF, i * 31, (i * 7) & 0xFF);
                overlay.put(keys, at(i), e.offset, e.length, e.sizeClass, e.crc, e.flags);
                expected.put(i, e);
            }
        }
        overlay.freeze();
        for (int i = 150; i < 300; i++)
        {
            overlay.put(keys, at(i), 1L, 1, 0, 0, 0); // active only: must not be visited
        }

        final Map<Integer, Entry> visited = new HashMap<>();
        final int count = overlay.forEachFrozen((hash, offset, live, off, len, sizeClass, crc, flags) ->
        {
            final int key = hash.getInt(offset + 8);
            assertTrue(sameKey(keys, at(key), hash, offset));
            assertEquals(null, visited.put(key, new Entry(live, off, len, sizeClass, crc, flags)));
        });
        assertEquals(200, count);
        assertEquals(200, overlay.frozenEntries());
        assertEquals(expected, visited);
    }

    private static boolean sameKey(final DirectBuffer a, final int aAt, final DirectBuffer b, final int bAt)
    {
        for (int i = 0; i < Overlay.KEY_LENGTH; i += 8)
        {
            if (a.getLong(aAt + i) != b.getLong(bAt + i))
            {
                return false;
            }
        }
        return true;
    }

    record Entry(boolean live, long offset, int length, int sizeClass, int crc, int flags)
    {
        static final Entry TOMBSTONE = new Entry(false, 0, 0, 0, 0, 0);
    }

    // ---- random histories against a model ----

    /** {@code kind} 0..49 put, 50..69 delete, 70..79 freeze, 80..89 unlink, 90..99 reclaim; any may be refused. */
    record Op(int kind, int key, long offset, int length, int sizeClass)
    {
    }

    private static final int POOL = 24;

    @Provide
    Arbitrary<List<Op>> histories()
    {
        return Combinators.combine(
                Arbitraries.integers().between(0, 99),
                Arbitraries.integers().between(0, POOL - 1),
                Arbitraries.longs().between(0, 1L << 45),
                Arbitraries.integers().between(0, Integer.MAX_VALUE),
                Arbitraries.integers().between(0, 255))
            .as(Op::new)
            .list().ofMaxSize(200);
    }

    @Property(tries = 200)
    void shouldAgreeWithAModelOfActiveAndFrozenMaps(
        @ForAll("histories") final List<Op> history,
        @ForAll final long seed)
    {
        final UnsafeBuffer keys = keys(POOL, seed);
        try (Overlay o = new Overlay(SLOTS, seed))
        {
            final Overlay.Reader reader = o.reader();
            Map<Integer, Entry> active = new HashMap<>();
            Map<Integer, Entry> other = new HashMap<>();
            int otherState = 0; // 0 clear, 1 frozen, 2 unlinked
            for (final Op op : history)
            {
                if (op.kind < 50)
                {
                    final Entry e = new Entry(true, op.offset, op.length, op.sizeClass, op.length ^ 0x5A5A,
                        op.sizeClass ^ 0xFF);
                    o.put(keys, at(op.key), e.offset, e.length, e.sizeClass, e.crc, e.flags);
                    active.put(op.key, e);
                }
                else if (op.kind < 70)
                {
                    o.delete(keys, at(op.key));
                    active.put(op.key, Entry.TOMBSTONE);
                }
                else if (op.kind < 80)
                {
                    if (otherState != 0)
                    {
                        assertThrows(IllegalStateException.class, o::freeze);
                        continue;
                    }
                    o.freeze();
                    final Map<Integer, Entry> clear = other;
                    other = active;
                    active = clear;
                    otherState = 1;
                    assertEquals(other, frozenContents(o));
                }
                else if (op.kind < 90)
                {
                    if (otherState != 1)
                    {
                        assertThrows(IllegalStateException.class, o::unlinkFrozen);
                        continue;
                    }
                    o.unlinkFrozen();
                    otherState = 2;
                }
                else
                {
                    if (otherState != 2)
                    {
                        assertThrows(IllegalStateException.class, o::reclaimUnlinked);
                        continue;
                    }
                    o.reclaimUnlinked();
                    other.clear();
                    otherState = 0;
                }

                assertEquals(active.size(), o.activeEntries());
                assertEquals(MAX - active.size(), o.room());
                assertEquals(otherState == 0 ? 0 : other.size(), o.frozenEntries());
                assertEquals(otherState == 0, o.canFreeze());
                assertEquals(otherState == 1, o.hasFrozen());
                for (int key = 0; key < POOL; key++)
                {
                    Entry expected = active.get(key);
                    if (expected == null && otherState == 1)
                    {
                        expected = other.get(key);
                    }
                    final int result = reader.lookup(keys, at(key));
                    if (expected == null)
                    {
                        assertEquals(MISS, result, "key " + key);
                    }
                    else if (!expected.live)
                    {
                        assertEquals(DELETED, result, "key " + key);
                    }
                    else
                    {
                        assertEquals(LIVE, result, "key " + key);
                        assertEquals(expected, new Entry(true, reader.offset(), reader.length(), reader.sizeClass(),
                            reader.crc(), reader.flags()));
                    }
                }
            }
        }
    }

    private static Map<Integer, Entry> frozenContents(final Overlay o)
    {
        final Map<Integer, Entry> contents = new HashMap<>();
        o.forEachFrozen((hash, offset, live, off, len, sizeClass, crc, flags) ->
            contents.put(hash.getInt(offset + 8), new Entry(live, off, len, sizeClass, crc, flags)));
        return contents;
    }
}
