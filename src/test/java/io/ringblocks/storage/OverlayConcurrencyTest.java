package io.ringblocks.storage;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static io.ringblocks.storage.Overlay.DELETED;
import static io.ringblocks.storage.Overlay.LIVE;
import static io.ringblocks.storage.Overlay.MISS;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One writer overwrites keys (half of the puts on a few hot keys) with values that check themselves, a checkpointer
 * copies each frozen table into an emulated LMDB (version per key), and reader threads look keys up the way workers
 * will: overlay first, LMDB on a miss, inside a reader epoch. The writer cycles freeze, unlink (once the checkpointer
 * is done) and reclaim (once every reader left the epoch it was in at the unlink: the grace period).
 * <p>
 * Every reader checks: a LIVE value is one put, never a mix of two; a key written before the lookup began is found
 * in the overlay or in LMDB; and the version a reader sees of a key never goes backwards.
 */
class OverlayConcurrencyTest
{
    private static final int SLOTS = 1024;
    private static final int KEYS = 500;
    private static final int HOT = 8;
    private static final int READERS = 3;
    private static final long RUN_NANOS = TimeUnit.MILLISECONDS.toNanos(2500);

    private final UnsafeBuffer keys = OverlayTest.keys(KEYS, 11);
    private final AtomicLongArray lmdb = new AtomicLongArray(KEYS);
    private final AtomicLongArray readerEpochs = new AtomicLongArray(READERS);
    /** Keys {@code 0 .. firstWritten - 1} were put at least once. */
    private final AtomicLong firstWritten = new AtomicLong();
    private final AtomicLong frozenTables = new AtomicLong();
    private final AtomicLong checkpointedTables = new AtomicLong();
    private final AtomicReference<String> failure = new AtomicReference<>();
    private volatile boolean running = true;

    static long offsetOf(final int key, final long version)
    {
        return version << 16 | key;
    }

    static long mix(final long x)
    {
        long h = x * 0x9E3779B97F4A7C15L;
        h ^= h >>> 29;
        h *= 0xBF58476D1CE4E5B9L;
        return h ^ h >>> 32;
    }

    static int lengthOf(final long offset)
    {
        return (int)mix(offset);
    }

    static int crcOf(final long offset, final int length)
    {
        return (int)(mix(offset ^ length) >>> 32);
    }

    static int classOf(final long offset)
    {
        return (int)(mix(offset + 1) & 0xFF);
    }

    static int flagsOf(final long offset)
    {
        return (int)(mix(offset + 2) & 0xFF);
    }

    /** @return null when the values are the put of one version of {@code key}, else what is wrong. */
    static String check(final int key, final long offset, final int length, final int sizeClass, final int crc,
        final int flags)
    {
        if ((offset & 0xFFFF) != key || length != lengthOf(offset) || crc != crcOf(offset, length) ||
            sizeClass != classOf(offset) || flags != flagsOf(offset))
        {
            return "torn or foreign value for key " + key + ": offset " + Long.toHexString(offset) + " length " +
                length + " class " + sizeClass + " crc " + crc + " flags " + flags;
        }
        return null;
    }

    private void fail(final String message)
    {
        failure.compareAndSet(null, message);
        running = false;
    }

    @Test
    @Timeout(30)
    void shouldNeverReturnATornOrLostEntryWhileTablesCycle() throws Exception
    {
        final long seed = new SplittableRandom().nextLong();
        try (Overlay overlay = new Overlay(SLOTS, seed))
        {
            final long[] lookups = new long[READERS];
            final long[] overlayHits = new long[READERS];
            final long[] lmdbHits = new long[READERS];
            final Thread[] readers = new Thread[READERS];
            for (int r = 0; r < READERS; r++)
            {
                final int id = r;
                readers[r] = new Thread(() -> read(overlay, id, lookups, overlayHits, lmdbHits), "reader-" + r);
            }
            final Thread checkpointer = new Thread(() -> checkpoint(overlay), "checkpointer");
            final long[] cycles = new long[1];
            final Thread writer = new Thread(() -> cycles[0] = write(overlay), "writer");

            for (final Thread t : readers)
            {
                t.start();
            }
            checkpointer.start();
            writer.start();
            writer.join();
            running = false;
            checkpointer.join();
            for (final Thread t : readers)
            {
                t.join();
            }

            assertNull(failure.get(), () -> failure.get() + " (seed " + seed + ")");
            assertTrue(cycles[0] >= 3, "freeze/unlink/reclaim cycles: " + cycles[0]);
            for (int r = 0; r < READERS; r++)
            {
                assertTrue(overlayHits[r] > 0 && lmdbHits[r] > 0, "reader " + r + ": " + lookups[r] + " lookups, " +
                    overlayHits[r] + " overlay hits, " + lmdbHits[r] + " LMDB hits");
                System.out.println("reader " + r + ": " + lookups[r] + " lookups, " + overlayHits[r] +
                    " overlay hits, " + lmdbHits[r] + " LMDB hits; " + cycles[0] + " table cycles");
            }
        }
    }

    /** @return completed reclaims. */
    private long write(final Overlay overlay)
    {
        try
        {
            final SplittableRandom random = new SplittableRandom(5);
            final long[] versions = new long[KEYS];
            final long[] graceEpochs = new long[READERS];
            boolean awaitingGrace = false;
            long reclaims = 0;
            long puts = 0;
            final long deadline = System.nanoTime() + RUN_NANOS;
            while (running && System.nanoTime() < deadline)
            {
                final int key;
                if (firstWritten.get() < KEYS)
                {
                    key = (int)firstWritten.get();
                }
                else
                {
                    key = random.nextBoolean() ? random.nextInt(HOT) : random.nextInt(KEYS);
                }
                final long offset = offsetOf(key, ++versions[key]);
                final int length = lengthOf(offset);
                overlay.put(keys, key * Overlay.KEY_LENGTH, offset, length, classOf(offset), crcOf(offset, length),
                    flagsOf(offset));
                if (key == firstWritten.get())
                {
                    firstWritten.set(key + 1);
                }

                if (++puts % 512 == 0)
                {
                    if (overlay.canFreeze())
                    {
                        overlay.freeze();
                        frozenTables.incrementAndGet();
                    }
                    else if (overlay.hasFrozen() && checkpointedTables.get() == frozenTables.get())
                    {
                        overlay.unlinkFrozen();
                        for (int r = 0; r < READERS; r++)
                        {
                            graceEpochs[r] = readerEpochs.get(r);
                        }
                        awaitingGrace = true;
                    }
                    else if (awaitingGrace && graceOver(graceEpochs))
                    {
                        overlay.reclaimUnlinked();
                        awaitingGrace = false;
                        reclaims++;
                    }
                }
            }
            return reclaims;
        }
        catch (final Throwable t)
        {
            fail("writer: " + t);
            return 0;
        }
    }

    /** Over for a reader that was outside a lookup at the unlink (even epoch) or has moved on since. */
    private boolean graceOver(final long[] graceEpochs)
    {
        for (int r = 0; r < READERS; r++)
        {
            if ((graceEpochs[r] & 1) != 0 && readerEpochs.get(r) == graceEpochs[r])
            {
                return false;
            }
        }
        return true;
    }

    private void checkpoint(final Overlay overlay)
    {
        try
        {
            final Overlay.FrozenVisitor apply = (hash, hashOffset, live, offset, length, sizeClass, crc, flags) ->
            {
                final int key = hash.getInt(hashOffset + 8);
                final String problem = live ? check(key, offset, length, sizeClass, crc, flags) : "tombstone";
                if (problem != null)
                {
                    fail("checkpointer: " + problem);
                }
                final long version = offset >>> 16;
                if (version < lmdb.get(key))
                {
                    fail("checkpointer: key " + key + " frozen at version " + version + " after " + lmdb.get(key));
                }
                lmdb.set(key, version);
            };
            while (running)
            {
                if (frozenTables.get() > checkpointedTables.get())
                {
                    final int visited = overlay.forEachFrozen(apply);
                    if (visited != overlay.frozenEntries())
                    {
                        fail("checkpointer visited " + visited + " of " + overlay.frozenEntries());
                    }
                    checkpointedTables.incrementAndGet();
                }
                else
                {
                    LockSupport.parkNanos(50_000);
                }
            }
        }
        catch (final Throwable t)
        {
            fail("checkpointer: " + t);
        }
    }

    private void read(
        final Overlay overlay, final int id, final long[] lookups, final long[] overlayHits, final long[] lmdbHits)
    {
        try
        {
            final Overlay.Reader reader = overlay.reader();
            final SplittableRandom random = new SplittableRandom(100 + id);
            final long[] seen = new long[KEYS];
            long epoch = 0;
            long count = 0;
            long inOverlay = 0;
            long inLmdb = 0;
            while (running)
            {
                final int key = random.nextBoolean() ? random.nextInt(HOT) : random.nextInt(KEYS);
                readerEpochs.set(id, ++epoch); // odd: inside, the writer must not reclaim what we may be reading
                final long written = firstWritten.get();
                final int result = reader.lookup(keys, key * Overlay.KEY_LENGTH);
                final long version;
                if (result == LIVE)
                {
                    final String problem =
                        check(key, reader.offset(), reader.length(), reader.sizeClass(), reader.crc(), reader.flags());
                    if (problem != null)
                    {
                        fail("reader " + id + ": " + problem);
                    }
                    version = reader.offset() >>> 16;
                    inOverlay++;
                }
                else
                {
                    version = lmdb.get(key);
                    inLmdb += version > 0 ? 1 : 0;
                }
                readerEpochs.set(id, ++epoch);

                if (result == DELETED)
                {
                    fail("reader " + id + ": key " + key + " DELETED but never deleted");
                }
                if (key < written && result == MISS && version == 0)
                {
                    fail("reader " + id + ": key " + key + " was written but is in neither the overlay nor LMDB");
                }
                if (version < seen[key])
                {
                    fail("reader " + id + ": key " + key + " went back from version " + seen[key] + " to " + version);
                }
                seen[key] = version;
                count++;
            }
            lookups[id] = count;
            overlayHits[id] = inOverlay;
            lmdbHits[id] = inLmdb;
        }
        catch (final Throwable t)
        {
            fail("reader " + id + ": " + t);
        }
    }
}
