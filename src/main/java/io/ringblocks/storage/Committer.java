package io.ringblocks.storage;

import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.MessageHandler;
import org.agrona.concurrent.NanoClock;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.ringbuffer.ManyToOneRingBuffer;
import org.agrona.concurrent.ringbuffer.RingBufferDescriptor;


/**
 * The only writer of the index. Workers publish deltas (OCCUPY a written block, WRITE_OCCUPY a block for this
 * thread to write — see {@link BlockWriter} —, FREE a hash) into one {@link ManyToOneRingBuffer}; each duty cycle
 * drains what is pending (bounded by {@code maxBatch}), waits at most {@code debounceNanos} for stragglers (in sync
 * mode not after a batch of one), resolves the whole batch against the index as it stands and hands its
 * changes to the {@link IndexJournal}: one write-ahead-log record and, in sync mode, one flush for the batch (group
 * commit), after which the changes are visible in the overlay. Only then is each delta acknowledged, through its
 * worker's {@link WorkerLink} ring, and that worker's ring woken. Workers never wait on this thread, and this thread
 * never waits for LMDB: the {@link Checkpointer} applies the changes there in the background.
 * <p>
 * Freed blocks are not returned to the allocator at once: they wait in limbo, tagged with the epoch of the commit
 * that removed them, until every worker reports that its oldest in-flight read started in a later epoch. A GET
 * whose lookup saw the old entry can therefore never read bytes of a block that was reused meanwhile.
 * <p>
 * Both queues that readers or workers could make grow are bounded: limbo ({@code limboCapacity} blocks) and each
 * worker's acknowledgement backlog ({@code ackBacklogCapacity}). A delta is taken off the ring only while both have
 * room for what it can add ({@link DeltaAdmission}); otherwise it stays in the ring, which fills and pushes back on
 * the workers' publishes, and the committer parks between retries instead of spinning.
 */
public final class Committer implements Agent, MessageHandler
{
    /** Returns a block's space to the allocator. */
    public interface BlockSpace
    {
        void release(long offset, int sizeClass);
    }

    /** Background chores run once per duty cycle on the committer thread (e.g. growing the data file). */
    public interface Housekeeping
    {
        /** Runs after each commit and reclaim step, on the committer thread. */
        int doWork();
    }

    /** Makes completed data-file writes durable; returns 0 or -errno. */
    public interface DataSync
    {
        int syncData();
    }

    private final IndexJournal journal;
    private final ManyToOneRingBuffer deltas;
    private final WorkerLink[] workers;
    private final BlockSpace space;
    private final int maxBatch;
    private final long debounceNanos;
    private final NanoClock clock;
    private final ErrorHandler errors;
    private final AtomicLong epoch = new AtomicLong(1);
    /**
     * Twice the commits that deleted, healed or flagged anything (changed what a lookup of an existing block answers):
     * odd while such a commit's changes are appearing in the overlay, even again after its epoch increment and before
     * its acknowledgements (a seqlock's sequence).
     */
    private final Counter invalidatingCommits = new Counter();
    private final boolean durable;

    /** The batch being assembled: {@code pending} entries of it. */
    private final CommitBatch batch;
    private int pending;
    private long firstPendingNanos;
    private final Acknowledger acks;

    private final Limbo limbo;
    private final DeltaAdmission admission;

    private Housekeeping housekeeping;
    private BlockWriter blockWriter;
    private volatile Thread thread;
    private volatile boolean sleeping;
    private boolean closing;
    private boolean journalFull;
    private final CheckpointTickets tickets = new CheckpointTickets();
    private final Counter journalHeldCycles = new Counter();
    /** How long the final drain at close may wait for checkpoints to make room and to empty the overlay. */
    private static final long CLOSE_NANOS = 30_000_000_000L;
    /** Checkpoints failing this long when the close waits for one: it stops waiting. */
    private static final long CLOSE_GIVE_UP_NANOS = 2_000_000_000L;

    // Statistics, written by the committer thread only.
    private final Counter batches = new Counter();
    private final Counter deltasCommitted = new Counter();
    private volatile long maxBatchSeen;
    private volatile long lastBatch;
    private volatile long limboBlocks;
    private final Counter commitNanosTotal = new Counter();
    private final Counter corruptMarked = new Counter();
    private final Counter[] batchSizeLog2 = newCounters(32);

    /**
     * @param journal            where each batch's changes go (log, flush, overlay).
     * @param limboCapacity      most freed blocks waiting for readers (> 0).
     * @param ackBacklogCapacity most acknowledgements queued per worker whose ack ring is full (> 0).
     */
    public Committer(
        final IndexJournal journal,
        final int ringCapacity,
        final WorkerLink[] workers,
        final BlockSpace space,
        final int maxBatch,
        final long debounceNanos,
        final int limboCapacity,
        final int ackBacklogCapacity,
        final NanoClock clock,
        final ErrorHandler errors)
    {
        if (maxBatch <= 0 || debounceNanos < 0)
        {
            throw new IllegalArgumentException("maxBatch must be > 0 and debounce >= 0");
        }
        this.journal = journal;
        this.durable = journal.durable();
        this.workers = workers.clone();
        this.space = space;
        this.maxBatch = maxBatch;
        this.debounceNanos = debounceNanos;
        this.clock = clock;
        this.errors = errors;
        journal.epoch(epoch);
        deltas = new ManyToOneRingBuffer(new UnsafeBuffer(
            ByteBuffer.allocateDirect(ringCapacity + RingBufferDescriptor.TRAILER_LENGTH)));
        batch = new CommitBatch(maxBatch);
        acks = new Acknowledger(this.workers, ackBacklogCapacity, errors);
        limbo = new Limbo(limboCapacity);
        admission = new DeltaAdmission(this, limbo, acks, this.workers.length);
    }

    /**
     * @return false when a flush failed or the final drain left changes outside LMDB: the shutdown must not be
     * recorded as clean (the log is replayed at the next start).
     */
    public boolean lastFlushSucceeded()
    {
        return journal.healthy() && journal.drained();
    }

    /** @return false once a log append or flush failed: every later change is answered FAILED (any thread). */
    public boolean journalHealthy()
    {
        return journal.healthy();
    }

    /** Sets the chores run each duty cycle; call before the committer starts. */
    public void housekeeping(final Housekeeping chores)
    {
        this.housekeeping = chores;
    }

    /**
     * Lets workers hand small blocks over unwritten ({@link Deltas#WRITE_OCCUPY}): the committer writes them
     * through {@code dataFd} next to the batch's log record (see {@link BlockWriter}). Call before it starts.
     */
    public void writeBlocksThrough(final int dataFd)
    {
        blockWriter = new BlockWriter(dataFd, maxBatch);
    }

    /** @return whether workers may publish {@link Deltas#WRITE_OCCUPY}. */
    public boolean writesBlocks()
    {
        return blockWriter != null;
    }

    /** @return blocks this committer wrote itself. */
    public long blocksWritten()
    {
        return blockWriter == null ? 0 : blockWriter.writes();
    }

    /** @return the ring workers publish deltas into. */
    public ManyToOneRingBuffer deltas()
    {
        return deltas;
    }

    /**
     * @return twice the commits that deleted, healed or flagged corrupt a block, plus one while such a commit's
     * changes are appearing: it turns odd before the first is visible and even after all are, and before any is
     * acknowledged. Read (even) before pinning a snapshot and found unchanged later, it tells that nothing the snapshot
     * found has been deleted or flagged since (block caches skip the index lookup while so).
     */
    public long invalidatingCommits()
    {
        return invalidatingCommits.get();
    }

    /** @return the current index epoch; it advances after every commit. */
    public long epoch()
    {
        return epoch.get();
    }

    @Override
    public String roleName()
    {
        return "ringblocks-committer";
    }

    @Override
    public void onStart()
    {
        thread = Thread.currentThread();
    }

    @Override
    public int doWork()
    {
        int work = acks.flushBacklogs();
        // A batch is taken only when all of it fits the overlay and the log; until a checkpoint makes room the
        // deltas stay in the ring, which pushes back on the workers.
        journalFull = !journal.hasRoom();
        if (journalFull && pending == 0)
        {
            journalHeldCycles.increment();
        }
        admission.startRead();
        if (pending < maxBatch && !journalFull)
        {
            work += deltas.controlledRead(admission, maxBatch - pending);
        }
        // Held back, no straggler can join the batch: no point in waiting for the debounce. Nor in sync mode when the
        // last batch was a single delta: one writer at a time (a client waiting for each PUT) has no straggler to
        // wait for, and concurrent writers are grouped anyway by what arrives while a batch is being flushed.
        if (pending > 0 && (pending == maxBatch || admission.heldBack() || journalFull ||
            lastBatch == 1 && durable || clock.nanoTime() - firstPendingNanos >= debounceNanos))
        {
            // The batch is taken before anything can throw: were it still pending when the agent runner calls
            // doWork() again, a second commit would answer its OCCUPYs DUPLICATE and free blocks the index holds.
            final int count = pending;
            pending = 0;
            admission.batchTaken();
            commit(count);
            work += count;
            work += batch.acknowledge(count, acks);
        }
        final long oldest = oldestPin();
        work += reclaim(oldest);
        // Closing, every reader has stopped: the overlay's grace periods need not wait for pins.
        work += journal.doWork(closing ? WorkerLink.NO_READS : oldest, closing, tickets.wanted(journal));
        if (housekeeping != null)
        {
            work += housekeeping.doWork();
        }
        return work;
    }

    @Override
    public void onMessage(final int msgTypeId, final MutableDirectBuffer buffer, final int index, final int len)
    {
        if (pending == 0)
        {
            firstPendingNanos = clock.nanoTime();
        }
        batch.add(pending, msgTypeId, buffer, index);
        pending++;
    }

    private void commit(final int count)
    {
        final long start = System.nanoTime();
        try
        {
            stageAndCommit(count);
        }
        catch (final RuntimeException e)
        {
            // Whatever part of the batch took effect, it cannot be told apart now: the journal stops (a restart
            // replays what reached the log) and every entry is answered FAILED, so no worker waits for ever.
            journal.failNow();
            errors.onError("committer", e);
            batch.failKeepingSpace(count);
        }
        batches.increment();
        deltasCommitted.add(count);
        lastBatch = count;
        if (count > maxBatchSeen)
        {
            maxBatchSeen = count;
        }
        batchSizeLog2[31 - Integer.numberOfLeadingZeros(count)].increment();
        commitNanosTotal.add(System.nanoTime() - start);
        if (batch.freed() > 0)
        {
            limboBlocks = limbo.size();
        }
    }

    private void stageAndCommit(final int count)
    {
        final long commitEpoch = epoch.get();
        journal.beginBatch();
        if (blockWriter != null)
        {
            blockWriter.clear();
        }
        batch.stage(count, journal, blockWriter);
        final boolean invalidating = batch.invalidating();
        if (invalidating)
        {
            // Odd while the batch's deletions and marks appear in the overlay: cached hits ask the index meanwhile.
            invalidatingCommits.increment();
            VarHandle.storeStoreFence(); // the odd count is visible before any change of the batch is
        }
        int rc = -1;
        try
        {
            rc = journal.commit(batch.wroteBlocks(), blockWriter);
            if (rc >= 0)
            {
                // Readers that pin after this increment find the batch's changes in the overlay.
                epoch.incrementAndGet();
            }
        }
        finally
        {
            if (invalidating)
            {
                invalidatingCommits.increment(); // even again, after the epoch: whoever sees it pins after the batch
            }
        }
        if (rc < 0)
        {
            batch.fail(count, space, errors);
        }
        else
        {
            corruptMarked.add(
                batch.settle(count, space, limbo, commitEpoch, journal.lastSequence(), closing, errors));
        }
    }

    /** @return the oldest epoch any worker's snapshot or in-flight read is pinned at. */
    private long oldestPin()
    {
        long oldest = WorkerLink.NO_READS;
        for (final WorkerLink link : workers)
        {
            oldest = Math.min(oldest, link.oldestReadEpoch());
        }
        return oldest;
    }

    /**
     * Returns limbo blocks to the allocator once every worker's oldest in-flight read is newer, and once the log
     * record of their deletion is durable: a power loss could otherwise bring back an entry whose space was
     * rewritten (relaxed mode flushes only periodically).
     */
    private int reclaim(final long oldest)
    {
        if (limbo.isEmpty())
        {
            return 0;
        }
        final int reclaimed = limbo.release(oldest, journal.durableSequence(), space);
        limboBlocks = limbo.size();
        return reclaimed;
    }

    /**
     * Any thread: returns once every change committed before the call is in LMDB (a checkpoint completed after it).
     *
     * @return false when that did not happen within {@code timeoutNanos}.
     */
    public boolean checkpoint(final long timeoutNanos)
    {
        final long ticket = tickets.take();
        final long deadline = System.nanoTime() + timeoutNanos;
        while (!tickets.served(ticket))
        {
            final Thread t = thread;
            if (t != null)
            {
                LockSupport.unpark(t);
            }
            if (System.nanoTime() - deadline > 0)
            {
                return false;
            }
            LockSupport.parkNanos(1_000_000L);
        }
        return true;
    }

    /**
     * Any thread, never blocks: asks for a checkpoint of every change committed so far, like {@link #checkpoint}
     * without the wait.
     *
     * @return a ticket for {@link #checkpointed(long)}.
     */
    public long requestCheckpoint()
    {
        final long ticket = tickets.take();
        final Thread t = thread;
        if (t != null)
        {
            LockSupport.unpark(t);
        }
        return ticket;
    }

    /**
     * @return true once every change committed before {@code ticket} was requested is in LMDB, or once the journal
     * failed (then {@link #checkpointsFailed()}: LMDB may lack logged changes that no checkpoint will bring).
     */
    public boolean checkpointed(final long ticket)
    {
        return tickets.served(ticket);
    }

    /** @return true when tickets are served without a checkpoint because the journal failed. */
    public boolean checkpointsFailed()
    {
        return tickets.failed();
    }

    /** Called by a worker after publishing: unparks the committer if it is idle. */
    public void wake()
    {
        if (sleeping)
        {
            final Thread t = thread;
            if (t != null)
            {
                LockSupport.unpark(t);
            }
        }
    }

    @Override
    public void onClose()
    {
        // Final drain so that nothing published before shutdown is left unacknowledged. Limbo and the ack backlogs
        // stop bounding it: a read that never completes must not keep deletes uncommitted (nothing is reused after
        // this, and the allocator is rebuilt from the index at the next open). Then a last checkpoint empties the
        // overlay into LMDB, so that a clean start replays nothing; the workers are stopped, so no reader's pin
        // holds the overlay's grace periods back.
        closing = true;
        admission.unbound();
        final long deadline = System.nanoTime() + CLOSE_NANOS;
        while (closeHasWork() && System.nanoTime() - deadline < 0)
        {
            if (pending > 0)
            {
                firstPendingNanos = Long.MIN_VALUE / 2;
            }
            if (doWork() == 0)
            {
                // AgentRunner.close() interrupts this thread after a while; an interrupted park returns at once.
                Thread.interrupted();
                LockSupport.parkNanos(100_000L); // a checkpoint is running on its own thread
            }
        }
        if (!journal.drained() && journal.healthy())
        {
            errors.onError("committer", "the final checkpoint did not complete: the log is replayed at the next start");
        }
        try
        {
            journal.finalSync();
            journal.close();
        }
        finally
        {
            if (blockWriter != null)
            {
                blockWriter.close();
            }
        }
    }

    /**
     * A failed journal answers the rest FAILED at once and will never drain: no point waiting for it. Nor for
     * checkpoints that keep failing (a full or read-only index): the log, replayed at the next start, has all it
     * took, and what a full log holds back in the ring can never go in.
     */
    private boolean closeHasWork()
    {
        final boolean stuck = journal.checkpointsFailingNanos(System.nanoTime()) >= CLOSE_GIVE_UP_NANOS;
        if (deltas.size() > 0 || pending > 0)
        {
            return !(stuck && journalFull);
        }
        return !journal.drained() && journal.healthy() && !stuck;
    }

    public long batches()
    {
        return batches.get();
    }

    public long deltasCommitted()
    {
        return deltasCommitted.get();
    }

    public long maxBatchSeen()
    {
        return maxBatchSeen;
    }

    public long lastBatch()
    {
        return lastBatch;
    }

    /** @return acknowledgements waiting for a worker's full ring (racy, for STATS and tests). */
    public int backloggedAcks()
    {
        return acks.backlogged();
    }

    public long limboBlocks()
    {
        return limboBlocks;
    }

    /** @return most freed blocks limbo holds; when full, the committer stops taking deltas. */
    public int limboCapacity()
    {
        return limbo.capacity();
    }

    /** @return most acknowledgements queued per worker; when one is full, the committer stops taking deltas. */
    public int ackBacklogCapacity()
    {
        return acks.capacity();
    }

    /** @return the longest acknowledgement backlog of any one worker (racy, for STATS and tests). */
    public int largestAckBacklog()
    {
        return acks.largestBacklog();
    }

    /**
     * @return duty cycles in which the committer left deltas in the ring because limbo, a backlog, the overlay or
     * the log was full.
     */
    public long heldBackCycles()
    {
        return admission.heldBackCycles() + journalHeldCycles.get();
    }

    /** @return the write-ahead side of the index (log, overlay, checkpoints), for STATS. */
    public IndexJournal journal()
    {
        return journal;
    }

    /** @return limbo entries allocated (tests: memory never grows past the capacity). */
    int limboAllocated()
    {
        return limbo.allocated();
    }

    /** @return acknowledgement-backlog entries allocated for worker {@code w} (tests). */
    int ackBacklogAllocated(final int w)
    {
        return acks.allocated(w);
    }

    public long commitNanosTotal()
    {
        return commitNanosTotal.get();
    }

    /** @return time spent flushing batches (sync mode), part of {@link #commitNanosTotal()}. */
    public long dataSyncNanosTotal()
    {
        return journal.flushNanosTotal();
    }

    /** @return index entries flagged corrupt so far (each at most once until healed). */
    public long corruptMarked()
    {
        return corruptMarked.get();
    }

    /** @return how many batches had a size in [2^k, 2^(k+1)) (any thread). */
    public long batchesOfSizeLog2(final int k)
    {
        return batchSizeLog2[k].get();
    }

    private static Counter[] newCounters(final int n)
    {
        final Counter[] counters = new Counter[n];
        for (int i = 0; i < n; i++)
        {
            counters[i] = new Counter();
        }
        return counters;
    }

    /**
     * Idles without burning a core: yields while a batch is open (debounce), otherwise announces it is sleeping,
     * re-checks the ring and parks until a worker's {@link #wake()} or {@code maxParkNanos} (200 µs while limbo
     * blocks or backlogged acknowledgements wait for a retry, also when deltas wait in a ring it was held back from).
     */
    public IdleStrategy idleStrategy(final long maxParkNanos)
    {
        return new IdleStrategy()
        {
            @Override
            public void idle(final int workCount)
            {
                if (workCount > 0)
                {
                    return;
                }
                idle();
            }

            @Override
            public void idle()
            {
                if (pending > 0)
                {
                    Thread.yield(); // a batch is open: its debounce is a few µs
                    return;
                }
                // Limbo blocks and backlogged acks need a retry soon; new deltas still wake the committer at once.
                final long park = !limbo.isEmpty() || acks.backlogged() > 0 || journalFull ? 200_000L : maxParkNanos;
                sleeping = true;
                // Held back, the ring is not empty but must not be retried at once: that would spin.
                if (deltas.size() == 0 || admission.heldBack() || journalFull)
                {
                    LockSupport.parkNanos(park);
                }
                sleeping = false;
            }

            @Override
            public void reset()
            {
            }
        };
    }
}
