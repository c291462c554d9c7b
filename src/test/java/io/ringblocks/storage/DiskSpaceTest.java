package io.ringblocks.storage;

import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The growth policy against an injected free-space figure and clock: step sizes, refusal, back-off, log rate. */
class DiskSpaceTest
{
    private static final int CHUNK = 1 << 20;
    private static final long MIB = 1L << 20;

    @TempDir
    Path dir;

    private final AtomicLong free = new AtomicLong();

    private DiskSpace space()
    {
        return new DiskSpace(dir, dir.resolve("data.mdb"), free::get);
    }

    @Test
    void shouldShrinkTheStepToWholeChunksThatLeaveTheIndexItsRoom()
    {
        try (DiskSpace space = space())
        {
            final long keep = 2 * space.indexReserve();
            free.set(1L << 40);
            assertEquals(64 * MIB, space.step(64 * MIB, CHUNK), "plenty of room: the configured step");
            free.set(keep + 10 * MIB + 5000);
            assertEquals(10 * MIB, space.step(64 * MIB, CHUNK), "the room beyond the index's, in whole chunks");
            free.set(keep + MIB);
            assertEquals(MIB, space.step(64 * MIB, CHUNK), "down to one chunk");
            free.set(keep + MIB - 1);
            assertEquals(0, space.step(64 * MIB, CHUNK), "not even one chunk");
            free.set(-1);
            assertEquals(64 * MIB, space.step(64 * MIB, CHUNK), "unknown free space: the configured step");
        }
    }

    @Test
    void shouldRefuseNewBlocksOnlyBelowTheIndexReserve()
    {
        try (DiskSpace space = space())
        {
            final long reserve = space.indexReserve();
            assertEquals(DiskSpace.MIN_INDEX_RESERVE, reserve, "no index yet: the minimum");
            free.set(reserve);
            space.refresh(0);
            assertFalse(space.refusing());
            free.set(reserve - 1);
            space.refresh(1_000_000L);
            assertFalse(space.refusing(), "looked at most every 100 ms");
            space.refresh(100_000_000L);
            assertTrue(space.refusing());
            free.set(reserve + MIB);
            space.refresh(200_000_000L);
            assertFalse(space.refusing(), "freed space is taken again");
        }
    }

    @Test
    void shouldBackOffExponentiallyAndLogAtMostOncePerInterval()
    {
        try (DiskSpace space = space())
        {
            long now = 5_000_000_000L;
            assertTrue(space.mayGrow(now));
            int logged = 0;
            long expected = DiskSpace.FIRST_BACKOFF_NANOS;
            for (int attempt = 0; attempt < 12; attempt++)
            {
                if (space.growthFailed(now, true))
                {
                    logged++;
                    space.logged();
                }
                assertFalse(space.mayGrow(now + expected - 1), "backing off after attempt " + attempt);
                assertTrue(space.mayGrow(now + expected));
                now += expected;
                expected = Math.min(DiskSpace.MAX_BACKOFF_NANOS, expected * 2);
            }
            assertEquals(DiskSpace.MAX_BACKOFF_NANOS, expected, "the back-off is capped");
            assertEquals(12, space.growFailures());
            assertTrue(logged >= 1 && logged <= 1 + (now - 5_000_000_000L) / DiskSpace.LOG_INTERVAL_NANOS,
                logged + " lines for 12 failures");
            space.grew();
            assertTrue(space.mayGrow(now));
            space.growthFailed(now, false);
            assertFalse(space.mayGrow(now + DiskSpace.FIRST_BACKOFF_NANOS - 1), "growth worked: back-off restarts");
            assertEquals(12, space.growFailures(), "a refused growth nobody waited for is not a failure");
        }
    }
}
