package io.ringblocks.storage;

import io.ringblocks.alloc.BuddyAllocator;
import io.ringblocks.sys.Errno;

/**
 * The data file's space: the allocator that workers take blocks from (under a short lock), and, on the committer
 * thread, the file's growth behind it — reserved with fallocate a step at a time ({@link DiskSpace} sizes the steps
 * from the filesystem's free space and backs off when it is full) and handed to the allocator a chunk at a time,
 * zeroed beforehand by the {@link SpaceZeroer} when that pays — so no worker ever blocks in fallocate or in zeroing.
 */
final class DataSpace implements Committer.BlockSpace, Committer.Housekeeping
{
    private static final long DATA_START = Store.DATA_START;
    /** Below this many free chunks the allocator gets reserved space whether it was zeroed yet or not. */
    private static final int URGENT_CHUNKS = 4;
    /** A worker waited for space this recently: hand over chunks without waiting for zeroing. */
    private static final long PRESSURE_NANOS = 100_000_000L;

    private final StoreConfig config;
    private final BuddyAllocator allocator;
    private final DataFile dataFile;
    private final DiskSpace disk;
    private final ErrorHandler errors;
    private SpaceZeroer zeroer;
    /** Asks the committer thread to grow the file (a worker found no space). */
    private Runnable wakeCommitter;
    private volatile boolean growRequested;
    private volatile boolean diskFull;
    private long lastGrowRequestNanos = System.nanoTime() - PRESSURE_NANOS;
    /** A handover whose allocator state could not be committed is retried this much later, reported this often. */
    private static final long HAND_OVER_RETRY_NANOS = 1_000_000_000L;
    private static final long HAND_OVER_REPORT_NANOS = 60_000_000_000L;
    private long handOverRetryAt = System.nanoTime();
    private long handOverReportedAt = System.nanoTime() - HAND_OVER_REPORT_NANOS;

    DataSpace(final StoreConfig config, final BuddyAllocator allocator, final DataFile dataFile, final DiskSpace disk,
        final ErrorHandler errors)
    {
        this.config = config;
        this.allocator = allocator;
        this.dataFile = dataFile;
        this.disk = disk;
        this.errors = errors;
    }

    /** Once the committer exists: its wake-up, and the zeroer working ahead of the allocator. */
    void start(final SpaceZeroer zeroer, final Runnable wakeCommitter)
    {
        this.zeroer = zeroer;
        this.wakeCommitter = wakeCommitter;
    }

    /**
     * Takes space for a block of {@code sizeClass}.
     *
     * @return the block's file offset, {@link Store#NO_SPACE}, or {@link Store#RETRY} while the file is being grown.
     */
    long allocate(final int sizeClass)
    {
        if (disk.refusing())
        {
            // The filesystem is nearly full: what is left is the index's, so DELETEs still commit.
            return Store.NO_SPACE;
        }
        synchronized (allocator)
        {
            final long offset = allocator.allocate(sizeClass);
            if (offset >= 0)
            {
                zeroer.allocated(BuddyAllocator.blockSize(sizeClass));
                return DATA_START + offset;
            }
            if (!allocator.canGrow() || diskFull)
            {
                return Store.NO_SPACE;
            }
        }
        growRequested = true;
        wakeCommitter.run();
        return Store.RETRY;
    }

    /** Returns a block (by file offset) that was allocated but will not be indexed, or was deleted. */
    @Override
    public void release(final long offset, final int sizeClass)
    {
        synchronized (allocator)
        {
            allocator.free(offset - DATA_START, sizeClass);
        }
        diskFull = false;
    }

    /**
     * Committer thread: when free space runs low (or a worker asked for space), hands the allocator one more chunk
     * of the file, and reserves the next {@code growStep} with fallocate once the reserved space is used up.
     * <p>
     * The {@link SpaceZeroer} zeroes reserved space ahead of the allocator on the checkpointer's thread. While it
     * keeps up (small blocks, durable mode) a handover waits for the next chunk to be zeroed, unless the store is
     * about to run dry, a worker had to wait for space lately, or less than a quarter step is free; otherwise
     * (large blocks, relaxed mode) chunks are handed over as they are, since zeroing them would cost the disk a
     * second write of every byte for little gain.
     */
    @Override
    public int doWork()
    {
        disk.refresh(System.nanoTime());
        final long handed = allocatorFileSize();
        final long now = System.nanoTime();
        final long free = allocatorFreeBytes();
        final boolean low = free < config.growStep() / 2;
        final boolean urgent = growRequested || free < URGENT_CHUNKS * config.maxBlockSize();
        if (growRequested)
        {
            lastGrowRequestNanos = now;
        }
        if ((urgent || low) && handed < dataFile.size())
        {
            final boolean pressure = now - lastGrowRequestNanos < PRESSURE_NANOS || free < config.growStep() / 4;
            final boolean waitForZeroing = zeroer.keepingAhead() && !urgent && !pressure;
            if (zeroer.zeroed(handed + config.maxBlockSize()) || !waitForZeroing)
            {
                return handOverChunk();
            }
        }
        if ((growRequested || low) && handed >= dataFile.size())
        {
            return reserve();
        }
        return 0;
    }

    /** Adds the next reserved chunk, zeroed or not, to the allocator; not while the zeroer is writing into it. */
    int handOverChunk()
    {
        final long now = System.nanoTime();
        if (now - handOverRetryAt < 0)
        {
            return 0;
        }
        synchronized (allocator)
        {
            final long from = DATA_START + allocator.fileSize();
            final long zeroerEnd = zeroer.handedEnd();
            if (!zeroer.mayHandOver(from, from + allocator.maxBlockSize()))
            {
                return 0; // the zeroer wakes the committer when its slice is done
            }
            try
            {
                allocator.grow(1);
            }
            catch (final IllegalStateException e)
            {
                // No memory to commit for the allocator's state: PUTs wait for space (and are answered BUSY after
                // the request timeout) while it is retried every second; the chunk stays the zeroer's to zero.
                zeroer.handOverUndone(from, zeroerEnd);
                handOverRetryAt = now + HAND_OVER_RETRY_NANOS;
                if (now - handOverReportedAt >= HAND_OVER_REPORT_NANOS)
                {
                    handOverReportedAt = now;
                    errors.onError("store", e.getMessage() + "; PUTs that need new space wait (retried every second)");
                }
                return 0;
            }
        }
        diskFull = false;
        growRequested = false;
        return 1;
    }

    /**
     * Reserves the next step of the file (fallocate); a full disk shows up here, not in a write. The step shrinks
     * as the filesystem fills ({@link DiskSpace#step}); a growth that fails or finds no room backs off before the
     * next try, and while a PUT is waiting for it ({@code growRequested}) or PUTs are being refused
     * ({@code diskFull}) it counts as a failure, logged at most once per interval.
     */
    int reserve()
    {
        final long fileSize = dataFile.size();
        final long capacity;
        synchronized (allocator)
        {
            capacity = DATA_START + allocator.capacity();
        }
        final boolean wanted = growRequested || diskFull;
        growRequested = false;
        if (fileSize >= capacity)
        {
            return 0;
        }
        final long now = System.nanoTime();
        if (!disk.mayGrow(now))
        {
            if (wanted)
            {
                diskFull = true; // answer NO_SPACE now rather than park PUTs for the rest of the back-off
            }
            return 0;
        }
        final long wantedStep = Math.min(config.growStep(), capacity - fileSize);
        final long step = disk.step(wantedStep, config.maxBlockSize());
        final int rc = step > 0 ? dataFile.growTo(fileSize + step) : -Errno.ENOSPC;
        if (rc < 0)
        {
            if (disk.growthFailed(now, wanted))
            {
                errors.onError("store", "cannot grow " + dataFile.file() + (step > 0 ?
                    " by " + step + " bytes: " + Errno.describe(rc) :
                    ": its filesystem has " + disk.usableBytes() + " bytes free and " + 2 * disk.indexReserve() +
                    " of them stay free for the index") + " (" + disk.failuresSinceLog() + " failed attempts since " +
                    "the last report); PUTs get NO_SPACE until space is freed there");
                disk.logged();
            }
            if (wanted)
            {
                diskFull = true;
            }
            return 1;
        }
        disk.grew();
        diskFull = false; // room again: workers may take RETRY instead of NO_SPACE while chunks are handed over
        return 1;
    }

    /** @return data-file growth attempts that failed or found no room while space was wanted (STATS). */
    long growFailures()
    {
        return disk.growFailures();
    }

    /** @return the data directory's filesystem free space at the last look, -1 when unknown (STATS). */
    long diskFreeBytes()
    {
        return disk.usableBytes();
    }

    /** @return the end of the reserved space zeroed ahead of the allocator (for tests). */
    long zeroedTo()
    {
        return zeroer.zeroedTo();
    }

    /** @return bytes of reserved space zeroed ahead of the allocator since the store opened (STATS). */
    long zeroedBytes()
    {
        return zeroer.zeroedBytes();
    }

    /** @return the file offset where the space handed to the allocator ends. */
    long allocatorFileSize()
    {
        synchronized (allocator)
        {
            return DATA_START + allocator.fileSize();
        }
    }

    private long allocatorFreeBytes()
    {
        synchronized (allocator)
        {
            return allocator.freeBytes();
        }
    }

    /** A consistent snapshot of the allocator's figures for STATS. */
    void allocatorStats(final long[] usedPerClass, final long[] freePerClass, final long[] totals)
    {
        synchronized (allocator)
        {
            for (int c = 0; c <= allocator.maxSizeClass() && c < usedPerClass.length; c++)
            {
                usedPerClass[c] = allocator.allocatedBlocks(c);
                freePerClass[c] = allocator.freeBlocks(c);
            }
            totals[0] = allocator.usedBytes();
            totals[1] = allocator.freeBytes();
            totals[2] = allocator.fileSize();
            totals[3] = allocator.capacity();
        }
    }

    /** @return true while the data file could not grow for a PUT (until a DELETE or freed space gives room again). */
    boolean full()
    {
        return diskFull;
    }

}
