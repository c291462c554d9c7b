package io.ringblocks.storage;

import java.nio.file.Path;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.ringblocks.uring.Wakeup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Checkpoints that keep failing (here the index's map is full: MDB_MAP_FULL, as after a read-only remount or an I/O
 * error) are retried without flooding the error handler, and the store says so in its readiness.
 */
class CheckpointFailureTest
{
    @TempDir
    Path dir;

    @Test
    void shouldRetryAFailingCheckpointQuietlyAndReportHowLongItHasFailed() throws Exception
    {
        final StoreConfig config = StoreConfig.builder(dir).maxSize(64L << 20).maxBlockSize(4096).growStep(8L << 20)
            .indexMapSize(StoreConfig.MIN_INDEX_MAP_SIZE).maxBatch(256).journal(TestJournal.SMALL).conclude();
        final ErrorHandler errors = new ErrorHandler();
        final Random random = new Random(11);
        final int checkpointFailures = Store.journalStat("checkpoint_failures");
        final long[] figures = new long[Store.JOURNAL_STATS.size()];
        try (Wakeup wakeup = new Wakeup(); Store store = Store.open(config, new Wakeup[]{wakeup}, errors);
             StoreDriver driver = new StoreDriver(store, wakeup, 0, 8))
        {
            assertNull(store.refusingWritesBecause());
            final long deadline = System.nanoTime() + 30_000_000_000L;
            do
            {
                for (int i = 0; i < 200; i++)
                {
                    final byte[] payload = new byte[64];
                    random.nextBytes(payload);
                    driver.put(payload, (hash, result) -> { });
                }
                driver.drain();
                store.journalStats(figures);
            }
            while (figures[checkpointFailures] == 0 && System.nanoTime() < deadline);
            assertTrue(figures[checkpointFailures] > 0, "a 1 MiB index map never filled");
            Thread.sleep(1_500);
            store.journalStats(figures);
            assertTrue(figures[checkpointFailures] >= 5, "retried every 100 ms: " + figures[checkpointFailures]);
            assertEquals(1, errors.errors(), "a run of failures is reported once, not at every retry");
            final long failing = store.checkpointsFailingNanos();
            assertTrue(failing >= 1_000_000_000L, "failing for " + failing + " ns");
        }
    }
}
