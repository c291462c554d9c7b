package io.ringblocks.storage;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.LockSupport;

import org.agrona.concurrent.AgentRunner;
import org.agrona.concurrent.NanoClock;
import org.agrona.concurrent.SleepingIdleStrategy;

/**
 * Committers for tests, each over a real write-ahead log (in the index's directory), overlay and a checkpointer
 * thread. Call {@link #closeAll()} after each test.
 */
final class TestJournal
{
    /** A small log (created, zeroed, for every test store) and small overlay tables. */
    static final JournalConfig SMALL = JournalConfig.builder().logSize(2L << 20).overlaySlots(1 << 14).conclude();
    private static final List<AutoCloseable> OPEN = new ArrayList<>();
    private static final byte[] STORE_ID = new byte[16];

    private TestJournal()
    {
    }

    static Committer committer(
        final Path dir,
        final BlockIndex index,
        final int ringCapacity,
        final WorkerLink[] links,
        final Committer.BlockSpace space,
        final Committer.DataSync sync,
        final boolean durable,
        final int maxBatch,
        final long debounceNanos,
        final int limboCapacity,
        final int ackBacklogCapacity,
        final NanoClock clock,
        final ErrorHandler errors)
    {
        return committer(dir, index, ringCapacity, links, space, sync, durable, maxBatch, debounceNanos,
            limboCapacity, ackBacklogCapacity, clock, errors, 1_000_000_000L);
    }

    /** @param syncIntervalNanos relaxed mode's periodic flush interval. */
    static synchronized Committer committer(
        final Path dir,
        final BlockIndex index,
        final int ringCapacity,
        final WorkerLink[] links,
        final Committer.BlockSpace space,
        final Committer.DataSync sync,
        final boolean durable,
        final int maxBatch,
        final long debounceNanos,
        final int limboCapacity,
        final int ackBacklogCapacity,
        final NanoClock clock,
        final ErrorHandler errors,
        final long syncIntervalNanos)
    {
        final WriteAheadLog log = WriteAheadLog.open(dir, 4L << 20, STORE_ID, true);
        OPEN.add(log);
        final long[] checkpoint = index.checkpoint();
        final WriteAheadLog.Replay tail = log.replay(checkpoint[0],
            checkpoint[1] == 0 ? WriteAheadLog.PAGE : checkpoint[1], (int)checkpoint[2], (s, t, h, o, a, b, c, d, e) -> { });
        log.startAppending(tail.lastSequence() + 1, tail.nextPosition(), tail.lastCrc(), tail.nextPosition());
        final Overlay overlay = new Overlay(1 << 14);
        OPEN.add(overlay);
        index.attach(overlay);
        final Checkpointer checkpointer = new Checkpointer(index, overlay, sync, log::sync, errors);
        final AgentRunner runner = new AgentRunner(new SleepingIdleStrategy(1_000_000L), Throwable::printStackTrace,
            null, checkpointer);
        AgentRunner.startOnThread(runner);
        OPEN.add(0, runner); // closed first
        final IndexJournal journal = new IndexJournal(log, overlay, checkpointer, index, sync, durable, false,
            syncIntervalNanos, 1_000_000_000L, maxBatch, 1, errors);
        return new Committer(journal, ringCapacity, links, space, maxBatch, debounceNanos, limboCapacity,
            ackBacklogCapacity, clock, errors);
    }

    /** With the default limbo and backlog capacities. */
    static Committer committer(final Path dir, final BlockIndex index, final int ringCapacity,
        final WorkerLink[] links, final Committer.BlockSpace space, final Committer.DataSync sync,
        final boolean durable, final int maxBatch, final long debounceNanos, final NanoClock clock,
        final ErrorHandler errors)
    {
        return committer(dir, index, ringCapacity, links, space, sync, durable, maxBatch, debounceNanos,
            StoreConfig.DEFAULT_LIMBO_CAPACITY, StoreConfig.DEFAULT_ACK_BACKLOG_CAPACITY, clock, errors);
    }

    /** On the committer's thread (a test driving doWork itself): applies everything in the overlay to LMDB. */
    static void checkpoint(final Committer committer)
    {
        final IndexJournal journal = committer.journal();
        final long deadline = System.nanoTime() + 10_000_000_000L;
        while (!journal.drained())
        {
            if (System.nanoTime() - deadline > 0)
            {
                throw new AssertionError("checkpoint did not complete");
            }
            if (journal.doWork(WorkerLink.NO_READS, true, false) == 0)
            {
                LockSupport.parkNanos(200_000L);
            }
        }
    }

    /** @return the blocks LMDB holds once everything in the overlay was checkpointed (the committer's thread). */
    static long indexed(final Committer committer, final BlockIndex index)
    {
        checkpoint(committer);
        return index.count();
    }

    static synchronized void closeAll() throws Exception
    {
        for (final AutoCloseable c : OPEN)
        {
            c.close();
        }
        OPEN.clear();
    }
}
