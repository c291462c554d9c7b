package io.ringblocks.storage;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.MessageHandler;
import org.agrona.concurrent.NanoClock;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.ringbuffer.ManyToOneRingBuffer;
import org.agrona.concurrent.ringbuffer.RingBufferDescriptor;
import org.lmdbjava.Txn;

import io.ringblocks.uring.Errno;

/**
 * The only LMDB writer. Workers publish deltas (OCCUPY a written block, FREE a hash) into one
 * {@link ManyToOneRingBuffer}; each duty cycle drains what is pending (bounded by {@code maxBatch}), waits at most
 * {@code debounceNanos} for stragglers, and applies the whole batch in ONE write transaction: in sync mode the
 * data file is fdatasync'ed first (the blocks' bytes are then durable) and the LMDB commit is synced, so a single
 * pair of flushes covers the batch (group commit). Only then is each delta acknowledged, through its worker's
 * {@link WorkerLink} ring, and that worker's ring woken. Workers never wait on this thread.
 * <p>
 * Freed blocks are not returned to the allocator at once: they wait in limbo, tagged with the epoch of the commit
 * that removed them, until every worker reports that its oldest in-flight read started in a later epoch. A GET
 * whose lookup saw the old entry can therefore never read bytes of a block that was reused meanwhile.
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
        /** @param idle true when no batch is open and no delta arrived for a millisecond: optional work may run. */
        int doWork(boolean idle);
    }

    /** Makes completed data-file writes durable; returns 0 or -errno. */
    public interface DataSync
    {
        int syncData();
    }

    private final BlockIndex index;
    private final ManyToOneRingBuffer deltas;
    private final WorkerLink[] workers;
    private final BlockSpace space;
    private final DataSync dataSync;
    private final boolean durable;
    private final int maxBatch;
    private final long debounceNanos;
    private final long relaxedSyncIntervalNanos;
    private final NanoClock clock;
    private final ErrorHandler errors;
    private final AtomicLong epoch = new AtomicLong(1);

    // The batch being assembled, struct-of-arrays.
    private final int[] type;
    private final int[] worker;
    private final long[] token;
    private final long[] blockOffset;
    private final int[] length;
    private final int[] sizeClass;
    private final int[] crc;
    private final long[] replacedOffset;
    private final int[] replacedClass;
    private final int[] result;
    private final UnsafeBuffer hashes;
    private int pending;
    private long firstPendingNanos;
    private final Acknowledger acks;

    private final UnsafeBuffer key = new UnsafeBuffer(ByteBuffer.allocateDirect(BlockIndex.KEY_LENGTH));
    private final UnsafeBuffer value = new UnsafeBuffer(ByteBuffer.allocateDirect(BlockIndex.VALUE_LENGTH));

    // Limbo: freed blocks waiting for readers to move past their epoch.
    private long[] limboOffset = new long[1024];
    private int[] limboClass = new int[1024];
    private long[] limboEpoch = new long[1024];
    private long[] limboGeneration = new long[1024];
    private int limboHead;
    private int limboTail;

    private static final long IDLE_NANOS = 1_000_000L;
    private Housekeeping housekeeping;
    private long lastDeltaNanos;
    private volatile Thread thread;
    private volatile boolean sleeping;
    private long lastRelaxedSync;
    private long syncGeneration = 1;
    private long flushedGeneration;
    private boolean flushFailed;

    // Statistics, written by the committer thread only.
    private volatile long batches;
    private volatile long deltasCommitted;
    private volatile long maxBatchSeen;
    private volatile long lastBatch;
    private volatile long limboBlocks;
    private volatile long commitNanosTotal;
    private volatile long dataSyncNanosTotal;
    private volatile long corruptMarked;
    private final long[] batchSizeLog2 = new long[32];

    public Committer(
        final BlockIndex index,
        final int ringCapacity,
        final WorkerLink[] workers,
        final BlockSpace space,
        final DataSync dataSync,
        final boolean durable,
        final int maxBatch,
        final long debounceNanos,
        final NanoClock clock,
        final ErrorHandler errors)
    {
        if (maxBatch <= 0 || debounceNanos < 0)
        {
            throw new IllegalArgumentException("maxBatch must be > 0 and debounce >= 0");
        }
        this.index = index;
        this.workers = workers.clone();
        this.space = space;
        this.dataSync = dataSync;
        this.durable = durable;
        this.maxBatch = maxBatch;
        this.debounceNanos = debounceNanos;
        this.relaxedSyncIntervalNanos = 1_000_000_000L;
        this.clock = clock;
        this.errors = errors;
        deltas = new ManyToOneRingBuffer(new UnsafeBuffer(
            ByteBuffer.allocateDirect(ringCapacity + RingBufferDescriptor.TRAILER_LENGTH)));
        type = new int[maxBatch];
        worker = new int[maxBatch];
        token = new long[maxBatch];
        blockOffset = new long[maxBatch];
        length = new int[maxBatch];
        sizeClass = new int[maxBatch];
        crc = new int[maxBatch];
        replacedOffset = new long[maxBatch];
        replacedClass = new int[maxBatch];
        result = new int[maxBatch];
        hashes = new UnsafeBuffer(ByteBuffer.allocateDirect(maxBatch * BlockIndex.KEY_LENGTH));
        acks = new Acknowledger(this.workers, errors);
        lastRelaxedSync = clock.nanoTime();
    }

    /** @return false when the last relaxed-mode flush failed (the shutdown must not be recorded as clean). */
    public boolean lastFlushSucceeded()
    {
        return !flushFailed;
    }

    /** Relaxed mode: continues the flush generations after the newest one found on disk. */
    public void startGeneration(final long generation)
    {
        syncGeneration = Math.max(1, generation);
    }

    /** Sets the chores run each duty cycle; call before the committer starts. */
    public void housekeeping(final Housekeeping chores)
    {
        this.housekeeping = chores;
    }

    /** @return the ring workers publish deltas into. */
    public ManyToOneRingBuffer deltas()
    {
        return deltas;
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
        if (pending < maxBatch)
        {
            work += deltas.read(this, maxBatch - pending);
        }
        if (pending > 0 && (pending == maxBatch || clock.nanoTime() - firstPendingNanos >= debounceNanos))
        {
            // The batch is taken before anything can throw: were it still pending when the agent runner calls
            // doWork() again, a second commit would answer its OCCUPYs DUPLICATE and free blocks the index holds.
            final int count = pending;
            pending = 0;
            commit(count);
            work += count;
            work += acks.acknowledge(count, worker, token, result);
        }
        work += reclaim();
        if (housekeeping != null)
        {
            // Idle: no batch open and no delta for a while, so optional chores (zeroing) will not delay a commit.
            final boolean quiet = work == 0 && pending == 0 && clock.nanoTime() - lastDeltaNanos >= IDLE_NANOS;
            work += housekeeping.doWork(quiet);
        }
        if (!durable && clock.nanoTime() - lastRelaxedSync >= relaxedSyncIntervalNanos)
        {
            relaxedSync();
        }
        return work;
    }

    @Override
    public void onMessage(final int msgTypeId, final MutableDirectBuffer buffer, final int index, final int len)
    {
        if (pending == 0)
        {
            firstPendingNanos = clock.nanoTime();
            lastDeltaNanos = firstPendingNanos;
        }
        final int i = pending;
        type[i] = msgTypeId;
        worker[i] = buffer.getInt(index + Deltas.WORKER_OFFSET, Deltas.ORDER);
        token[i] = buffer.getLong(index + Deltas.TOKEN_OFFSET, Deltas.ORDER);
        hashes.putBytes(i * BlockIndex.KEY_LENGTH, buffer, index + Deltas.HASH_OFFSET, BlockIndex.KEY_LENGTH);
        if (msgTypeId == Deltas.OCCUPY)
        {
            blockOffset[i] = buffer.getLong(index + Deltas.BLOCK_OFFSET_OFFSET, Deltas.ORDER);
            length[i] = buffer.getInt(index + Deltas.LENGTH_OFFSET, Deltas.ORDER);
            sizeClass[i] = buffer.getInt(index + Deltas.CLASS_OFFSET, Deltas.ORDER);
            crc[i] = buffer.getInt(index + Deltas.CRC_OFFSET, Deltas.ORDER);
        }
        else if (msgTypeId == Deltas.MARK_CORRUPT)
        {
            blockOffset[i] = buffer.getLong(index + Deltas.BLOCK_OFFSET_OFFSET, Deltas.ORDER);
        }
        pending++;
    }

    private void commit(final int count)
    {
        final long start = System.nanoTime();
        final long commitEpoch = epoch.get();
        boolean ok = true;
        if (durable && hasOccupy(count))
        {
            final long syncStart = System.nanoTime();
            final int rc = dataSync.syncData();
            dataSyncNanosTotal += System.nanoTime() - syncStart;
            if (rc < 0)
            {
                errors.onError("committer", "fdatasync of the data file failed: " + Errno.describe(rc));
                ok = false;
            }
        }
        int freedCount = 0;
        if (ok)
        {
            try (Txn<DirectBuffer> txn = index.writeTxn())
            {
                for (int i = 0; i < count; i++)
                {
                    key.putBytes(0, hashes, i * BlockIndex.KEY_LENGTH, BlockIndex.KEY_LENGTH);
                    replacedOffset[i] = -1;
                    if (type[i] == Deltas.OCCUPY)
                    {
                        final DirectBuffer found = index.get(txn, key);
                        if (found != null && (BlockIndex.flags(found) & BlockIndex.CORRUPT) == 0)
                        {
                            result[i] = Deltas.DUPLICATE;
                        }
                        else
                        {
                            if (found != null)
                            {
                                // Heal: the corrupt copy is replaced and freed like a deleted block (via limbo, as
                                // a GET may still be reading it); a second heal now finds a sound entry: DUPLICATE.
                                replacedOffset[i] = BlockIndex.offset(found);
                                replacedClass[i] = BlockIndex.sizeClass(found);
                                freedCount++;
                            }
                            BlockIndex.encode(value, blockOffset[i], length[i], sizeClass[i],
                                durable ? 0 : syncGeneration, crc[i], 0);
                            index.put(txn, key, value);
                            result[i] = Deltas.STORED;
                        }
                    }
                    else if (type[i] == Deltas.MARK_CORRUPT)
                    {
                        result[i] = markCorrupt(txn, blockOffset[i]);
                    }
                    else
                    {
                        final DirectBuffer found = index.get(txn, key);
                        if (found == null)
                        {
                            result[i] = Deltas.NOT_FOUND;
                        }
                        else
                        {
                            // Copy before delete: the value points into the LMDB map.
                            blockOffset[i] = BlockIndex.offset(found);
                            sizeClass[i] = BlockIndex.sizeClass(found);
                            index.delete(txn, key);
                            result[i] = Deltas.DELETED;
                            freedCount++;
                        }
                    }
                }
                txn.commit();
            }
            catch (final RuntimeException e)
            {
                errors.onError("committer: LMDB commit of " + count + " deltas", e);
                ok = false;
            }
        }
        if (!ok)
        {
            for (int i = 0; i < count; i++)
            {
                if (type[i] == Deltas.OCCUPY)
                {
                    space.release(blockOffset[i], sizeClass[i]);
                }
                result[i] = Deltas.FAILED;
            }
        }
        else
        {
            // Readers that renew their snapshot after this increment cannot see what the batch deleted.
            epoch.incrementAndGet();
            for (int i = 0; i < count; i++)
            {
                if (result[i] == Deltas.DUPLICATE)
                {
                    // Never indexed, so never visible to a reader: free at once.
                    space.release(blockOffset[i], sizeClass[i]);
                }
                else if (result[i] == Deltas.DELETED)
                {
                    addToLimbo(blockOffset[i], sizeClass[i], commitEpoch, syncGeneration);
                }
                else if (result[i] == Deltas.MARKED)
                {
                    corruptMarked++;
                }
                if (replacedOffset[i] >= 0)
                {
                    addToLimbo(replacedOffset[i], replacedClass[i], commitEpoch, syncGeneration);
                }
            }
        }
        batches++;
        deltasCommitted += count;
        lastBatch = count;
        if (count > maxBatchSeen)
        {
            maxBatchSeen = count;
        }
        batchSizeLog2[31 - Integer.numberOfLeadingZeros(count)]++;
        commitNanosTotal += System.nanoTime() - start;
        if (freedCount > 0)
        {
            limboBlocks = limboTail - limboHead;
        }
    }

    /**
     * Flags the entry in {@link #key} corrupt, but only if it still points at {@code offset}: a failed read of a
     * block that was deleted (or healed) since must not condemn the entry that replaced it.
     */
    private int markCorrupt(final Txn<DirectBuffer> txn, final long offset)
    {
        final DirectBuffer found = index.get(txn, key);
        if (found == null || BlockIndex.offset(found) != offset)
        {
            return Deltas.NOT_FOUND;
        }
        final int flags = BlockIndex.flags(found);
        if ((flags & BlockIndex.CORRUPT) == 0)
        {
            // Copy before put: the value points into the LMDB map.
            BlockIndex.encode(value, offset, BlockIndex.length(found), BlockIndex.sizeClass(found),
                BlockIndex.generation(found), BlockIndex.crc(found), flags | BlockIndex.CORRUPT);
            index.put(txn, key, value);
            return Deltas.MARKED;
        }
        return Deltas.DUPLICATE; // flagged already
    }

    private boolean hasOccupy(final int count)
    {
        for (int i = 0; i < count; i++)
        {
            if (type[i] == Deltas.OCCUPY)
            {
                return true;
            }
        }
        return false;
    }

    private void addToLimbo(final long offset, final int cls, final long tag, final long generation)
    {
        if (limboTail == limboOffset.length)
        {
            compactOrGrowLimbo();
        }
        limboOffset[limboTail] = offset;
        limboClass[limboTail] = cls;
        limboEpoch[limboTail] = tag;
        limboGeneration[limboTail] = generation;
        limboTail++;
    }

    private void compactOrGrowLimbo()
    {
        final int live = limboTail - limboHead;
        if (live * 2 > limboOffset.length)
        {
            limboOffset = Arrays.copyOf(limboOffset, limboOffset.length * 2);
            limboClass = Arrays.copyOf(limboClass, limboClass.length * 2);
            limboEpoch = Arrays.copyOf(limboEpoch, limboEpoch.length * 2);
            limboGeneration = Arrays.copyOf(limboGeneration, limboGeneration.length * 2);
        }
        System.arraycopy(limboOffset, limboHead, limboOffset, 0, live);
        System.arraycopy(limboClass, limboHead, limboClass, 0, live);
        System.arraycopy(limboEpoch, limboHead, limboEpoch, 0, live);
        System.arraycopy(limboGeneration, limboHead, limboGeneration, 0, live);
        limboHead = 0;
        limboTail = live;
    }

    /** Returns limbo blocks to the allocator once every worker's oldest in-flight read is newer. */
    private int reclaim()
    {
        if (limboHead == limboTail)
        {
            return 0;
        }
        long oldest = WorkerLink.NO_READS;
        for (final WorkerLink link : workers)
        {
            oldest = Math.min(oldest, link.oldestReadEpoch());
        }
        int reclaimed = 0;
        // Tags are non-decreasing along the limbo queue. In relaxed mode the delete must also be flushed first:
        // a power loss could otherwise roll the index back to an entry whose space was already rewritten.
        while (limboHead < limboTail && limboEpoch[limboHead] < oldest &&
            (durable || limboGeneration[limboHead] <= flushedGeneration))
        {
            space.release(limboOffset[limboHead], limboClass[limboHead]);
            limboHead++;
            reclaimed++;
        }
        if (limboHead == limboTail)
        {
            limboHead = 0;
            limboTail = 0;
        }
        limboBlocks = limboTail - limboHead;
        return reclaimed;
    }

    /**
     * Relaxed mode's periodic flush. Everything committed under generation {@code g} is on disk once the data file
     * and the index were flushed; only then is {@code g} recorded as durable, so after a power loss recovery knows
     * which blocks it must verify.
     */
    private void relaxedSync()
    {
        lastRelaxedSync = clock.nanoTime();
        final long flushed = syncGeneration++;
        try
        {
            final int rc = dataSync.syncData();
            if (rc < 0)
            {
                errors.onError("committer", "periodic fdatasync failed: " + Errno.describe(rc));
                flushFailed = true;
                return;
            }
            index.sync();
            index.putMetaLong(BlockIndex.DURABLE_GENERATION, flushed, false);
            flushedGeneration = flushed;
            flushFailed = false;
        }
        catch (final RuntimeException e)
        {
            errors.onError("committer: periodic sync", e);
            flushFailed = true;
        }
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
        // Final drain so that nothing published before shutdown is left unacknowledged.
        int guard = 0;
        while ((deltas.size() > 0 || pending > 0) && guard++ < 1000)
        {
            if (pending > 0)
            {
                firstPendingNanos = Long.MIN_VALUE / 2;
            }
            doWork();
        }
        if (!durable)
        {
            relaxedSync();
        }
    }

    public long batches()
    {
        return batches;
    }

    public long deltasCommitted()
    {
        return deltasCommitted;
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

    public long commitNanosTotal()
    {
        return commitNanosTotal;
    }

    /** @return time spent in fdatasync of the data file (sync mode), part of {@link #commitNanosTotal()}. */
    public long dataSyncNanosTotal()
    {
        return dataSyncNanosTotal;
    }

    /** @return index entries flagged corrupt so far (each at most once until healed). */
    public long corruptMarked()
    {
        return corruptMarked;
    }

    /** @return how many batches had a size in [2^k, 2^(k+1)); racy snapshot for STATS. */
    public long batchesOfSizeLog2(final int k)
    {
        return batchSizeLog2[k];
    }

    /**
     * Idles without burning a core: yields while a batch is open (debounce), otherwise announces it is sleeping,
     * re-checks the ring and parks until a worker's {@link #wake()} or {@code maxParkNanos} (200 µs while limbo
     * blocks or backlogged acknowledgements wait for a retry).
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
                final long park = limboHead != limboTail || acks.backlogged() > 0 ? 200_000L : maxParkNanos;
                sleeping = true;
                if (deltas.size() == 0)
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
