package io.ringblocks.storage;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.agrona.concurrent.AgentRunner;
import org.agrona.concurrent.SystemNanoClock;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.ringblocks.uring.Wakeup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Limbo and the acknowledgement backlogs are bounded: when one is full the committer leaves deltas in its ring
 * (workers' publishes then fail: back-pressure), nothing is lost, and memory never grows past the capacities.
 * Driven by hand (doWork on the test thread), so every step is deterministic.
 */
class CommitterBoundsTest
{
    private static final int MAX_BATCH = 16;
    private static final int LIMBO = 64;
    private static final int BACKLOG = 8;
    /** Room for 73 FREE or 56 OCCUPY deltas. */
    private static final int SMALL_RING = 4096;

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
        h.putLong(8, 0xB0_0000L + n * 31L + worker);
        return h;
    }

    /** Acks by token, each at most once. */
    private static final class Acks implements CommitterClient.AckHandler
    {
        final int[] result;
        final List<Long> order = new ArrayList<>();

        Acks(final int tokens)
        {
            result = new int[tokens];
            java.util.Arrays.fill(result, -1);
        }

        @Override
        public void onAck(final long token, final int r)
        {
            assertEquals(-1, result[(int)token], "token acknowledged twice: " + token);
            result[(int)token] = r;
            order.add(token);
        }

        int count()
        {
            return order.size();
        }
    }

    private static void storeBlocks(final Committer committer, final CommitterClient client, final int worker,
        final int blocks, final Acks acks)
    {
        for (int n = 0; n < blocks; n++)
        {
            while (!client.publishOccupy(n, hash(worker, n), 0, n * 4096L, 100, 0, 0))
            {
                committer.doWork();
                client.pollAcks(acks, 1000);
            }
        }
        for (int round = 0; round < 1000 && acks.count() < blocks; round++)
        {
            committer.doWork();
            client.pollAcks(acks, 1000);
        }
        for (int n = 0; n < blocks; n++)
        {
            assertEquals(Deltas.STORED, acks.result[n], "block " + n);
        }
    }

    @Test
    void shouldStopTakingDeletesWhileLimboIsFullAndCommitThemOnceTheReaderMovesOn() throws Exception
    {
        final int blocks = 200;
        final List<Long> released = new ArrayList<>();
        try (Wakeup wakeup = new Wakeup(); BlockIndex index = new BlockIndex(dir.toFile(), 16L << 20, 8, true))
        {
            final WorkerLink link = new WorkerLink(0, 1 << 16, wakeup);
            final Committer committer = TestJournal.committer(dir, index, SMALL_RING, new WorkerLink[]{link},
                (offset, cls) -> released.add(offset), () -> 0, true, MAX_BATCH, 0L, LIMBO, 1024,
                new SystemNanoClock(), new ErrorHandler());
            final CommitterClient client = new CommitterClient(committer, link);
            storeBlocks(committer, client, 0, blocks, new Acks(blocks));

            // A GET's read that never completes pins the current epoch: no deleted block may be reused.
            final ReadEpochs reads = new ReadEpochs(link);
            final long stuck = reads.begin(client.epoch());
            final Acks acks = new Acks(blocks);
            int published = 0;
            boolean pushedBack = false;
            for (int round = 0; round < 1000 && published < blocks; round++)
            {
                if (client.publishFree(published, hash(0, published), 0))
                {
                    published++;
                    continue;
                }
                pushedBack = true; // the ring is full: the worker would keep the request in WAIT_PUBLISH
                committer.doWork();
                client.pollAcks(acks, 1000);
                assertTrue(committer.limboBlocks() <= LIMBO, "limbo past its capacity: " + committer.limboBlocks());
                assertTrue(committer.limboAllocated() <= LIMBO, "limbo memory past its capacity");
            }
            assertTrue(pushedBack, "publishes must be pushed back");
            assertTrue(published < blocks, "the worker cannot publish every delete while limbo is full");
            assertEquals(LIMBO, committer.limboBlocks());
            assertEquals(LIMBO, acks.count(), "only the deletes limbo had room for are committed");
            assertTrue(committer.heldBackCycles() > 0);
            assertEquals(List.of(), released, "nothing reused under the stuck read");
            assertEquals(blocks - LIMBO, TestJournal.indexed(committer, index));

            // The read completes: limbo drains, the waiting deletes are taken, committed and acknowledged.
            reads.end(stuck);
            for (int round = 0; round < 1000 && acks.count() < blocks; round++)
            {
                if (published < blocks && client.publishFree(published, hash(0, published), 0))
                {
                    published++;
                    continue;
                }
                committer.doWork();
                client.pollAcks(acks, 1000);
                assertTrue(committer.limboAllocated() <= LIMBO, "limbo memory past its capacity");
            }
            committer.doWork();
            for (int n = 0; n < blocks; n++)
            {
                assertEquals(Deltas.DELETED, acks.result[n], "delete " + n);
            }
            assertEquals(0, TestJournal.indexed(committer, index));
            assertEquals(blocks, released.size(), "every deleted block back in the allocator");
            assertEquals(0, committer.limboBlocks());
        }
    }

    @Test
    void shouldStopTakingDeltasWhileAWorkersAckBacklogIsFullAndCatchUpWhenItPolls() throws Exception
    {
        final int deltas = 200;
        try (Wakeup w0 = new Wakeup(); Wakeup w1 = new Wakeup();
            BlockIndex index = new BlockIndex(dir.toFile(), 16L << 20, 8, true))
        {
            final WorkerLink other = new WorkerLink(0, 1 << 16, w0);
            final WorkerLink stuck = new WorkerLink(1, 256, w1); // room for 10 acks
            final Committer committer = TestJournal.committer(dir, index, SMALL_RING, new WorkerLink[]{other, stuck},
                (offset, cls) -> { }, () -> 0, true, MAX_BATCH, 0L, LIMBO, BACKLOG, new SystemNanoClock(),
                new ErrorHandler());
            final CommitterClient stuckClient = new CommitterClient(committer, stuck);
            final CommitterClient otherClient = new CommitterClient(committer, other);

            // The stuck worker publishes but never polls its acknowledgements.
            int published = 0;
            for (int round = 0; round < 1000 && published < deltas; round++)
            {
                if (stuckClient.publishOccupy(published, hash(1, published), 0, published * 4096L, 10, 0, 0))
                {
                    published++;
                    continue;
                }
                committer.doWork();
                assertTrue(committer.largestAckBacklog() <= BACKLOG, "backlog past its capacity");
                assertTrue(committer.ackBacklogAllocated(1) <= BACKLOG, "backlog memory past its capacity");
            }
            assertTrue(published < deltas, "the stuck worker's publishes must be pushed back");
            assertEquals(BACKLOG, committer.largestAckBacklog());
            assertEquals(BACKLOG, committer.backloggedAcks());
            assertTrue(committer.heldBackCycles() > 0);
            assertTrue(committer.deltasCommitted() <= 10 + BACKLOG, "committed " + committer.deltasCommitted());

            // Documented trade-off of one shared ring: the others wait behind the full backlog too.
            assertFalse(otherClient.publishOccupy(0, hash(0, 0), 0, 1L << 30, 10, 0, 0), "the ring is full");

            final Acks stuckAcks = new Acks(deltas);
            for (int round = 0; round < 10_000 && stuckAcks.count() < deltas; round++)
            {
                if (published < deltas &&
                    stuckClient.publishOccupy(published, hash(1, published), 0, published * 4096L, 10, 0, 0))
                {
                    published++;
                    continue;
                }
                stuckClient.pollAcks(stuckAcks, 3); // a slow poller: a few acks at a time
                committer.doWork();
                assertTrue(committer.ackBacklogAllocated(1) <= BACKLOG, "backlog memory past its capacity");
            }
            final List<Long> inOrder = new ArrayList<>();
            for (long n = 0; n < deltas; n++)
            {
                inOrder.add(n);
                assertEquals(Deltas.STORED, stuckAcks.result[(int)n]);
            }
            assertEquals(inOrder, stuckAcks.order, "every ack exactly once, in commit order");
            assertEquals(0, committer.backloggedAcks());

            assertTrue(otherClient.publishOccupy(0, hash(0, 0), 0, 1L << 30, 10, 0, 0));
            committer.doWork();
            final Acks otherAcks = new Acks(1);
            otherClient.pollAcks(otherAcks, 10);
            assertEquals(Deltas.STORED, otherAcks.result[0]);
            assertEquals(deltas + 1, TestJournal.indexed(committer, index));
        }
    }

    /** Shutdown's final drain must commit what was published even though a read never completes. */
    @Test
    void shouldCommitPendingDeletesAtCloseWhileLimboIsFullAndAReadIsStuck() throws Exception
    {
        final int blocks = 200;
        try (Wakeup wakeup = new Wakeup(); BlockIndex index = new BlockIndex(dir.toFile(), 16L << 20, 8, true))
        {
            final WorkerLink link = new WorkerLink(0, 1 << 16, wakeup);
            final ErrorHandler errors = new ErrorHandler();
            final Committer committer = TestJournal.committer(dir, index, SMALL_RING, new WorkerLink[]{link},
                (offset, cls) -> { }, () -> 0, true, MAX_BATCH, 0L, LIMBO, 1024, new SystemNanoClock(), errors);
            final CommitterClient client = new CommitterClient(committer, link);
            storeBlocks(committer, client, 0, blocks, new Acks(blocks));
            final ReadEpochs reads = new ReadEpochs(link);
            reads.begin(client.epoch()); // never ends
            final Acks acks = new Acks(blocks);
            int published = 0;
            for (int round = 0; round < 1000 && published < blocks; round++)
            {
                if (client.publishFree(published, hash(0, published), 0))
                {
                    published++;
                    continue;
                }
                committer.doWork();
            }
            assertEquals(LIMBO, committer.limboBlocks());
            assertTrue(published < blocks, "held back: the ring filled up");

            committer.onClose();
            client.pollAcks(acks, 1000);
            assertEquals(published, acks.count(), "every published delete acknowledged");
            for (int n = 0; n < published; n++)
            {
                assertEquals(Deltas.DELETED, acks.result[n], "delete " + n);
            }
            assertEquals(blocks - published, TestJournal.indexed(committer, index));
            assertEquals(0, errors.errors(), "a full limbo at close is expected, not an error");
            assertTrue(committer.limboAllocated() <= LIMBO);
        }
    }

    /**
     * Held back, the ring is not empty, yet the committer must park between retries: a spin would burn a core for as
     * long as a read is stuck. Counts retries, not time: parking retries every 200 µs (about 2,500 in half a second,
     * plus wakeups), a spin retries millions of times.
     */
    @Test
    void shouldParkBetweenRetriesWhileHeldBack() throws Exception
    {
        try (Wakeup wakeup = new Wakeup(); BlockIndex index = new BlockIndex(dir.toFile(), 16L << 20, 8, false))
        {
            final WorkerLink link = new WorkerLink(0, 1 << 16, wakeup);
            final Committer committer = TestJournal.committer(dir, index, SMALL_RING, new WorkerLink[]{link},
                (offset, cls) -> { }, () -> 0, true, MAX_BATCH, 0L, LIMBO, 1024, new SystemNanoClock(),
                new ErrorHandler());
            final CommitterClient client = new CommitterClient(committer, link);
            final int blocks = 200;
            storeBlocks(committer, client, 0, blocks, new Acks(blocks));
            new ReadEpochs(link).begin(client.epoch()); // never ends
            int published = 0;
            for (int round = 0; round < 1000 && published < blocks; round++)
            {
                if (client.publishFree(published, hash(0, published), 0))
                {
                    published++;
                    continue;
                }
                committer.doWork();
            }
            assertEquals(LIMBO, committer.limboBlocks());
            assertTrue(committer.deltas().size() > 0);

            final AgentRunner runner = new AgentRunner(committer.idleStrategy(1_000_000L),
                Throwable::printStackTrace, null, committer);
            AgentRunner.startOnThread(runner);
            try
            {
                final long before = committer.heldBackCycles();
                Thread.sleep(500);
                final long retries = committer.heldBackCycles() - before;
                assertTrue(retries > 0, "the committer retries while held back");
                assertTrue(retries < 50_000, "the committer spins while held back: " + retries + " retries");
            }
            finally
            {
                runner.close();
            }
        }
    }

    @Test
    void shouldRejectALimboThatCannotTakeOneBatch()
    {
        final StoreConfig d = StoreConfig.builder(dir).maxSize(1L << 30).conclude();
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> d.toBuilder().limboCapacity(d.maxBatch() - 1).ackBacklogCapacity(1024).conclude());
        assertTrue(e.getMessage().contains("limboCapacity"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
            () -> d.toBuilder().limboCapacity(d.maxBatch()).ackBacklogCapacity(0).conclude());
        assertEquals(StoreConfig.DEFAULT_LIMBO_CAPACITY, d.limboCapacity());
    }
}
