package io.ringblocks.storage;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import org.agrona.concurrent.SystemNanoClock;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.ringblocks.sys.Errno;
import io.ringblocks.uring.Wakeup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Faults around the write-ahead path found in review: a failed flush must answer later writes FAILED (not leave
 * them waiting), a log lost after an unclean shutdown must be repairable with rbcheck, and a checkpoint position
 * beyond a re-created smaller log must not keep the store from opening.
 */
class JournalFaultsTest
{
    @TempDir
    Path dir;

    @AfterEach
    void closeJournals() throws Exception
    {
        TestJournal.closeAll();
    }

    private static UnsafeBuffer hash(final int n)
    {
        final UnsafeBuffer h = new UnsafeBuffer(ByteBuffer.allocateDirect(32));
        h.putLong(0, 0xABCD_0000L + n);
        return h;
    }

    /**
     * A LIST's checkpoint ticket: served once LMDB holds what was committed before it; after a journal failure
     * served at once, flagged failed (waiting would be forever: nothing is checkpointed any more).
     */
    @Test
    void shouldServeCheckpointTicketsAndReportThemFailedOnceTheJournalFailed() throws Exception
    {
        final int[] syncResult = {0};
        try (Wakeup wakeup = new Wakeup(); BlockIndex index = new BlockIndex(dir.toFile(), 16L << 20, 8, true))
        {
            final WorkerLink link = new WorkerLink(0, 1 << 16, wakeup);
            final Committer committer = TestJournal.committer(dir, index, 1 << 16, new WorkerLink[]{link},
                (offset, cls) -> { }, () -> syncResult[0], true, 64, 0L, new SystemNanoClock(), new ErrorHandler());
            final CommitterClient client = new CommitterClient(committer, link);
            final List<Integer> results = new ArrayList<>();
            assertTrue(client.publishOccupy(1, hash(1), 0, 4096, 100, 0, 0));
            committer.doWork();
            client.pollAcks((token, result) -> results.add(result), 10);
            assertEquals(List.of(Deltas.STORED), results);
            assertEquals(0, index.count(), "only in the overlay so far");

            final long ticket = client.requestCheckpoint();
            final long deadline = System.nanoTime() + 10_000_000_000L;
            while (!client.checkpointed(ticket))
            {
                committer.doWork();
                assertTrue(System.nanoTime() < deadline, "the ticket is served");
                Thread.sleep(1);
            }
            assertTrue(!client.checkpointsFailed());
            assertEquals(1, index.count(), "LMDB holds what was committed before the ticket");

            syncResult[0] = -Errno.EIO;
            assertTrue(client.publishOccupy(2, hash(2), 0, 8192, 100, 0, 0));
            committer.doWork();
            final long late = client.requestCheckpoint();
            committer.doWork();
            assertTrue(client.checkpointed(late), "served without waiting for a checkpoint that never comes");
            assertTrue(client.checkpointsFailed());
        }
    }

    /** After a failed flush nothing more is logged, and every later write is answered FAILED at once. */
    @Test
    void shouldAnswerLaterDeltasFailedAfterAFlushFailure() throws Exception
    {
        try (Wakeup wakeup = new Wakeup(); BlockIndex index = new BlockIndex(dir.toFile(), 16L << 20, 8, true))
        {
            final WorkerLink link = new WorkerLink(0, 1 << 16, wakeup);
            final List<Long> released = new ArrayList<>();
            final Committer committer = TestJournal.committer(dir, index, 1 << 16, new WorkerLink[]{link},
                (offset, cls) -> released.add(offset), () -> -Errno.EIO, true, 64, 0L, new SystemNanoClock(),
                new ErrorHandler());
            final CommitterClient client = new CommitterClient(committer, link);
            final List<Integer> results = new ArrayList<>();

            assertTrue(client.publishOccupy(1, hash(1), 0, 4096, 100, 0, 0));
            committer.doWork();
            client.pollAcks((token, result) -> results.add(result), 10);
            assertEquals(List.of(Deltas.FAILED), results, "the batch whose flush failed is answered FAILED");

            results.clear();
            assertTrue(client.publishOccupy(2, hash(2), 0, 8192, 100, 0, 0));
            assertTrue(client.publishFree(3, hash(1), 0));
            for (int i = 0; i < 100; i++)
            {
                committer.doWork();
                client.pollAcks((token, result) -> results.add(result), 10);
            }
            assertEquals(List.of(Deltas.FAILED, Deltas.FAILED), results,
                "deltas published after the failure should be answered (FAILED), not left in the ring; " +
                "ring still holds " + committer.deltas().size() + " bytes");
        }
    }

    /**
     * Relaxed mode: a batch is acknowledged without a flush; the checkpointer's periodic flush then makes it durable
     * (only then may its freed space be reused), and a failed periodic flush answers every later write FAILED.
     */
    @Test
    void shouldMakeRelaxedBatchesDurableOnlyThroughThePeriodicFlushAndStopAfterItFails() throws Exception
    {
        try (Wakeup wakeup = new Wakeup(); BlockIndex index = new BlockIndex(dir.toFile(), 16L << 20, 8, true))
        {
            final WorkerLink link = new WorkerLink(0, 1 << 16, wakeup);
            final AtomicInteger syncs = new AtomicInteger();
            final AtomicBoolean broken = new AtomicBoolean();
            final Committer committer = TestJournal.committer(dir, index, 1 << 16, new WorkerLink[]{link},
                (offset, cls) -> { }, () ->
                {
                    syncs.incrementAndGet();
                    return broken.get() ? -Errno.EIO : 0;
                }, false, 64, 0L, StoreConfig.DEFAULT_LIMBO_CAPACITY, StoreConfig.DEFAULT_ACK_BACKLOG_CAPACITY,
                new SystemNanoClock(), new ErrorHandler(), 20_000_000L);
            final CommitterClient client = new CommitterClient(committer, link);
            final IndexJournal journal = committer.journal();
            final List<Integer> results = new ArrayList<>();

            assertTrue(client.publishOccupy(1, hash(1), 0, 4096, 100, 0, 0));
            committer.doWork();
            client.pollAcks((token, result) -> results.add(result), 10);
            assertEquals(List.of(Deltas.STORED), results, "acknowledged without a flush");
            assertEquals(0, syncs.get(), "no flush on the batch's path");
            assertTrue(journal.durableSequence() < journal.lastSequence());

            final long deadline = System.nanoTime() + 5_000_000_000L;
            while (journal.durableSequence() < journal.lastSequence() && System.nanoTime() < deadline)
            {
                committer.doWork();
                Thread.sleep(1);
            }
            assertEquals(journal.lastSequence(), journal.durableSequence(), "the periodic flush covered the batch");
            assertTrue(syncs.get() > 0);

            broken.set(true);
            results.clear();
            assertTrue(client.publishOccupy(2, hash(2), 0, 8192, 100, 0, 0));
            committer.doWork();
            client.pollAcks((token, result) -> results.add(result), 10);
            assertEquals(List.of(Deltas.STORED), results);
            while (journal.healthy() && System.nanoTime() < deadline + 5_000_000_000L)
            {
                committer.doWork();
                Thread.sleep(1);
            }
            assertTrue(!journal.healthy(), "the failed periodic flush is final");
            results.clear();
            assertTrue(client.publishOccupy(3, hash(3), 0, 12288, 100, 0, 0));
            for (int i = 0; i < 100 && results.isEmpty(); i++)
            {
                committer.doWork();
                client.pollAcks((token, result) -> results.add(result), 10);
            }
            assertEquals(List.of(Deltas.FAILED), results, "after a failed flush, writes are answered FAILED");
            assertTrue(journal.durableSequence() < journal.lastSequence(), "the failed flush covered nothing");
        }
    }

    /**
     * The server refuses a store whose wal.log is missing after an unclean shutdown and says to run rbcheck; rbcheck
     * --repair reports the loss, takes the index as it is, and the server opens again.
     */
    @Test
    void shouldOpenAfterRbcheckRepairWhenTheLogIsMissingAfterAnUncleanShutdown() throws Exception
    {
        final StoreConfig config = StoreTest.config(dir, 64L << 20, 16L << 20);
        try (Wakeup wakeup = new Wakeup(); Store store = Store.open(config, new Wakeup[]{wakeup}, new ErrorHandler());
            StoreDriver driver = new StoreDriver(store, wakeup, 0, 4))
        {
            driver.put("hello".getBytes(StandardCharsets.US_ASCII), (h, r) -> { });
            driver.drain();
            assertTrue(store.checkpoint(10_000));
        }
        // The state an unclean shutdown leaves (what Store.recover() writes at open): index and header not clean.
        final DataHeader header = DataHeader.read(dir.resolve(StoreFiles.DATA_FILE));
        header.with(header.chunkSize(), header.blockCount(), false).write(dir.resolve(StoreFiles.DATA_FILE), false);
        try (BlockIndex index = new BlockIndex(dir.resolve(StoreFiles.INDEX_DIR).toFile(), 1L << 30, 8, true))
        {
            index.putMetaLong(BlockIndex.CLEAN_SHUTDOWN, 0, true);
            assertTrue(index.checkpoint()[0] > 0);
        }
        Files.delete(dir.resolve(WriteAheadLog.FILE));

        final String first = refusal(config);
        assertTrue(first.contains("run tools/rbcheck"), first);
        final ByteArrayOutputStream printed = new ByteArrayOutputStream();
        final boolean sound = new OfflineCheck(dir, new PrintStream(printed, true, StandardCharsets.UTF_8)).run(true);
        System.out.println("rbcheck --repair returned " + sound + ":\n" + printed.toString(StandardCharsets.UTF_8));
        final String second = refusal(config);
        assertEquals(null, second, "after rbcheck --repair the store should open (or rbcheck should fail)");
    }

    /**
     * A log re-created after a clean close can be smaller than the checkpoint position the index holds for the old
     * one (a crash before the new checkpoint was recorded, or another --wal-size): replay then starts at the
     * beginning of the log instead of failing.
     */
    @Test
    void shouldOpenWhenTheCheckpointPositionLiesBeyondAReCreatedSmallerLog() throws Exception
    {
        final StoreConfig config = StoreTest.config(dir, 64L << 20, 16L << 20);
        byte[] storeId;
        try (Wakeup wakeup = new Wakeup(); Store store = Store.open(config, new Wakeup[]{wakeup}, new ErrorHandler());
            StoreDriver driver = new StoreDriver(store, wakeup, 0, 4))
        {
            driver.put("hello".getBytes(StandardCharsets.US_ASCII), (h, r) -> { });
            driver.drain();
        }
        storeId = DataHeader.read(dir.resolve(StoreFiles.DATA_FILE)).storeId();
        try (BlockIndex index = new BlockIndex(dir.resolve(StoreFiles.INDEX_DIR).toFile(), 1L << 30, 8, true))
        {
            final long[] cp = index.checkpoint();
            // As the old 2 MiB log would have it after a clean close with its head at 1.5 MiB.
            index.putCheckpointNow(cp[0], 1536L << 10, (int)cp[2]);
        }
        Files.delete(dir.resolve(WriteAheadLog.FILE));
        // openLog created a smaller log (free space / 32, or another --wal-size) and crashed before putCheckpointNow.
        WriteAheadLog.open(dir, JournalConfig.MIN_LOG_SIZE, storeId, false).close();

        final String refused = refusal(config);
        assertEquals(null, refused, "a log with nothing after the checkpoint should open");
    }

    private static String refusal(final StoreConfig config) throws Exception
    {
        try (Wakeup wakeup = new Wakeup(); Store store = Store.open(config, new Wakeup[]{wakeup}, new ErrorHandler()))
        {
            return null;
        }
        catch (final RuntimeException e)
        {
            return e.getClass().getSimpleName() + ": " + e.getMessage();
        }
    }
}
