package io.ringblocks.storage;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.agrona.concurrent.AgentRunner;
import org.agrona.concurrent.SystemNanoClock;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.ringblocks.uring.Wakeup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CommitterTest
{
    @TempDir
    Path dir;

    @AfterEach
    void closeJournals() throws Exception
    {
        TestJournal.closeAll();
    }

    private static UnsafeBuffer hash(final int worker, final int n)
    {
        final UnsafeBuffer h = new UnsafeBuffer(ByteBuffer.allocateDirect(32));
        h.putInt(0, worker);
        h.putInt(4, n);
        h.putLong(8, 0x5EED_0000L + n * 31L + worker);
        return h;
    }

    @Test
    void shouldAcknowledgeEveryDeltaExactlyOnceAndBatchThem() throws Exception
    {
        final int workers = 4;
        final int perWorker = 5_000;
        final AtomicInteger syncs = new AtomicInteger();
        final ConcurrentLinkedQueue<Long> released = new ConcurrentLinkedQueue<>();
        final WorkerLink[] links = new WorkerLink[workers];
        final Wakeup[] wakeups = new Wakeup[workers];
        for (int w = 0; w < workers; w++)
        {
            wakeups[w] = new Wakeup();
            links[w] = new WorkerLink(w, 1 << 20, wakeups[w]);
        }
        try (BlockIndex index = new BlockIndex(dir.toFile(), 64L << 20, 16, true))
        {
            final Committer committer = TestJournal.committer(dir, index, 1 << 16, links,
                (offset, cls) -> released.add(offset), () ->
                {
                    syncs.incrementAndGet();
                    return 0;
                }, true, 1024, 20_000L, new SystemNanoClock(), new ErrorHandler());
            final AgentRunner runner = new AgentRunner(committer.idleStrategy(1_000_000L),
                Throwable::printStackTrace, null, committer);
            AgentRunner.startOnThread(runner);
            final ExecutorService pool = Executors.newFixedThreadPool(workers);
            try
            {
                final List<Future<int[]>> futures = new ArrayList<>();
                for (int w = 0; w < workers; w++)
                {
                    final CommitterClient client = new CommitterClient(committer, links[w]);
                    final int id = w;
                    futures.add(pool.submit(() -> runWorker(client, id, perWorker)));
                }
                for (final Future<int[]> f : futures)
                {
                    final int[] counts = f.get(60, TimeUnit.SECONDS);
                    System.out.println("acks by result: " + java.util.Arrays.toString(counts));
                    assertEquals(perWorker, counts[Deltas.STORED], "stored acks");
                    assertEquals(perWorker / 10, counts[Deltas.DUPLICATE], "duplicate acks");
                    assertEquals(perWorker / 10, counts[Deltas.DELETED], "deleted acks");
                    assertEquals(1, counts[Deltas.NOT_FOUND], "not-found acks");
                    assertEquals(0, counts[Deltas.FAILED]);
                }
            }
            finally
            {
                pool.shutdownNow();
                runner.close();
            }
            final long total = (long)workers * (perWorker + perWorker / 10 + perWorker / 10 + 1);
            assertEquals(total, committer.deltasCommitted());
            assertTrue(committer.batches() < total / 4,
                "group commit should batch: " + committer.batches() + " batches for " + total + " deltas");
            assertTrue(committer.maxBatchSeen() > 1);
            // One flush per batch at most; the checkpointer's data syncs come on top.
            assertTrue(committer.journal().flushes() <= committer.batches(), "at most one flush per batch");
            assertTrue(syncs.get() > 0);
            assertEquals((long)workers * (perWorker - perWorker / 10), TestJournal.indexed(committer, index));
            // Duplicates are released at once, deletes after readers moved on (none are reading here).
            assertEquals((long)workers * (perWorker / 10) * 2, released.size());
        }
        finally
        {
            for (final Wakeup w : wakeups)
            {
                w.close();
            }
        }
    }

    /** Publishes occupies, duplicates, deletes and one missing delete; returns ack counts by result. */
    private static int[] runWorker(final CommitterClient client, final int id, final int count)
    {
        final int[] results = new int[5];
        final boolean[] seen = new boolean[count * 3 + 1];
        final CommitterClient.AckHandler handler = (token, result) ->
        {
            if (seen[(int)token])
            {
                throw new AssertionError("token acknowledged twice: " + token);
            }
            seen[(int)token] = true;
            results[result]++;
        };
        int acked = 0;
        int expected = 0;
        for (int n = 0; n < count; n++)
        {
            final UnsafeBuffer h = hash(id, n);
            while (!client.publishOccupy(expected, h, 0, n * 4096L, 100 + n, 0, 0))
            {
                acked += client.pollAcks(handler, 100);
            }
            expected++;
            client.flush();
        }
        acked = drain(client, handler, acked, expected);
        for (int n = 0; n < count / 10; n++)
        {
            while (!client.publishOccupy(expected, hash(id, n), 0, (1_000_000L + n) * 4096L, 100 + n, 0, 0))
            {
                acked += client.pollAcks(handler, 100);
            }
            expected++;
            while (!client.publishFree(expected, hash(id, count - 1 - n), 0))
            {
                acked += client.pollAcks(handler, 100);
            }
            expected++;
            client.flush();
        }
        client.publishFree(expected++, hash(id, 1_000_000), 0);
        client.flush();
        drain(client, handler, acked, expected);
        return results;
    }

    private static int drain(final CommitterClient client, final CommitterClient.AckHandler handler,
        final int alreadyAcked, final int expected)
    {
        int acked = alreadyAcked;
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (acked < expected)
        {
            acked += client.pollAcks(handler, 1000);
            if (System.nanoTime() > deadline)
            {
                throw new AssertionError("only " + acked + " of " + expected + " acked");
            }
            Thread.onSpinWait();
        }
        return acked;
    }

    /** A failing wakeup (a broken eventfd) must not make the committer commit the same batch twice. */
    @Test
    void shouldCommitABatchOnceEvenWhenWakingItsWorkerFails() throws Exception
    {
        final List<Long> released = new ArrayList<>();
        final ErrorHandler errors = new ErrorHandler();
        try (BlockIndex index = new BlockIndex(dir.toFile(), 16L << 20, 8, true))
        {
            final Wakeup broken = new Wakeup();
            final WorkerLink link = new WorkerLink(0, 1 << 16, broken);
            final Committer committer = TestJournal.committer(dir, index, 1 << 16, new WorkerLink[]{link},
                (offset, cls) -> released.add(offset), () -> 0, true, 64, 0L, new SystemNanoClock(), errors);
            final CommitterClient client = new CommitterClient(committer, link);
            broken.prepareToSleep();
            broken.close(); // the next wake() writes to a closed eventfd
            assertTrue(client.publishOccupy(1, hash(3, 3), 0, 4096, 10, 0, 0));
            for (int cycle = 0; cycle < 2; cycle++)
            {
                try
                {
                    committer.doWork();
                }
                catch (final RuntimeException e)
                {
                    // What Agrona's AgentRunner does: report, then call doWork() again.
                }
            }
            final List<Integer> results = new ArrayList<>();
            client.pollAcks((token, result) -> results.add(result), 10);
            assertEquals(List.of(Deltas.STORED), results, "one ack, STORED");
            assertEquals(List.of(), released, "no block freed");
            assertEquals(1, committer.batches());
            assertEquals(1, TestJournal.indexed(committer, index));
            assertTrue(errors.errors() > 0, "the failed wakeup was reported");
        }
    }

    /** A worker that stops polling fills its ack ring: its acks wait in order, and nobody else waits for it. */
    @Test
    void shouldKeepAcknowledgingOtherWorkersWhileOneWorkersAckRingIsFull() throws Exception
    {
        try (Wakeup w0 = new Wakeup(); Wakeup w1 = new Wakeup();
            BlockIndex index = new BlockIndex(dir.toFile(), 16L << 20, 8, true))
        {
            final WorkerLink fast = new WorkerLink(0, 1 << 16, w0);
            final WorkerLink stuck = new WorkerLink(1, 256, w1); // room for a handful of acks
            final Committer committer = TestJournal.committer(dir, index, 1 << 16, new WorkerLink[]{fast, stuck},
                (offset, cls) -> { }, () -> 0, true, 1024, 0L, new SystemNanoClock(), new ErrorHandler());
            final CommitterClient fastClient = new CommitterClient(committer, fast);
            final CommitterClient stuckClient = new CommitterClient(committer, stuck);
            for (int n = 0; n < 50; n++)
            {
                assertTrue(stuckClient.publishOccupy(n, hash(1, n), 0, n * 4096L, 10, 0, 0));
            }
            committer.doWork();
            assertTrue(committer.backloggedAcks() > 30, "the small ring should overflow: " + committer.backloggedAcks());

            for (int n = 0; n < 5; n++)
            {
                assertTrue(fastClient.publishOccupy(n, hash(0, n), 0, (100 + n) * 4096L, 10, 0, 0));
            }
            committer.doWork();
            final List<Long> fastAcks = new ArrayList<>();
            fastClient.pollAcks((token, result) -> fastAcks.add(token), 100);
            assertEquals(List.of(0L, 1L, 2L, 3L, 4L), fastAcks, "the next batch was not held up by the stuck worker");

            final List<Long> stuckAcks = new ArrayList<>();
            for (int round = 0; round < 100 && stuckAcks.size() < 50; round++)
            {
                stuckClient.pollAcks((token, result) ->
                {
                    assertEquals(Deltas.STORED, result);
                    stuckAcks.add(token);
                }, 100);
                committer.doWork();
            }
            final List<Long> expected = new ArrayList<>();
            for (long n = 0; n < 50; n++)
            {
                expected.add(n);
            }
            assertEquals(expected, stuckAcks, "every ack exactly once, in commit order");
            assertEquals(0, committer.backloggedAcks());
        }
    }

    @Test
    void shouldKeepFreedBlockInLimboWhileAnOlderReadIsInFlight() throws Exception
    {
        final ConcurrentLinkedQueue<Long> released = new ConcurrentLinkedQueue<>();
        try (Wakeup wakeup = new Wakeup(); BlockIndex index = new BlockIndex(dir.toFile(), 16L << 20, 8, true))
        {
            final WorkerLink link = new WorkerLink(0, 1 << 16, wakeup);
            final Committer committer = TestJournal.committer(dir, index, 1 << 16, new WorkerLink[]{link},
                (offset, cls) -> released.add(offset), () -> 0, true, 64, 0L, new SystemNanoClock(),
                new ErrorHandler());
            final CommitterClient client = new CommitterClient(committer, link);
            final ReadEpochs reads = new ReadEpochs(link);
            final UnsafeBuffer h = hash(9, 9);
            final int[] last = {-1};
            final CommitterClient.AckHandler handler = (token, result) -> last[0] = result;

            client.publishOccupy(1, h, 0, 8192, 10, 0, 0);
            committer.doWork();
            client.pollAcks(handler, 10);
            assertEquals(Deltas.STORED, last[0]);

            // A GET looked the block up in the current epoch and its read is still in flight.
            final long tag = reads.begin(client.epoch());
            client.publishFree(2, h, 0);
            committer.doWork();
            client.pollAcks(handler, 10);
            assertEquals(Deltas.DELETED, last[0]);
            committer.doWork();
            assertTrue(released.isEmpty(), "block reused while a read of it was in flight");
            assertEquals(1, committer.limboBlocks());

            // A read that started after the delete committed does not hold it back.
            final long later = reads.begin(client.epoch());
            reads.end(tag);
            committer.doWork();
            assertEquals(List.of(8192L), new ArrayList<>(released));
            reads.end(later);
            assertEquals(WorkerLink.NO_READS, link.oldestReadEpoch());
        }
    }
}
