package io.ringblocks.storage;

import org.agrona.concurrent.Agent;
import org.agrona.concurrent.NanoClock;

import io.ringblocks.sys.Errno;

/**
 * Zeroes reserved data-file space ahead of the allocator, on a background thread (the checkpointer's), a slice per
 * {@link #doWork()}.
 * <p>
 * Why zero: space that fallocate only reserved is an unwritten extent. The first O_DIRECT write into it converts the
 * extent, which is slower, and every fdatasync after such writes has to commit the filesystem journal too; zeroed
 * space is a plain overwrite and its fdatasync a cache flush (docs/design.md has the measurements). Zeroing
 * costs a second write of the same bytes, though, which pays off for small blocks (one conversion per few KiB) and
 * not for large ones (a 512 KiB block converts its extent once). So the zeroer paces itself by what is written:
 * <ul>
 *   <li>while most bytes allocated lately went to blocks under {@link DataFile#DIRECT_WRITE_MIN} (and the store is
 *   durable, where every PUT waits for its own write and flush), it keeps up to {@link #LEAD} zeroed ahead of the
 *   allocator's space;</li>
 *   <li>once nothing was allocated for {@link #IDLE_NANOS}, it zeroes everything reserved (the disk is idle);</li>
 *   <li>otherwise (large blocks streaming in) it stays out of the disk's way.</li>
 * </ul>
 * Zeroing must never touch space the allocator owns, since it may hold acknowledged blocks: a slice is claimed
 * under this object's monitor against the end of the allocator's space, and {@link #mayHandOver} refuses a chunk
 * that overlaps the slice being written (the committer retries once it is done, woken by {@code handoverReady}).
 */
final class SpaceZeroer implements Agent
{
    /** Zeroed per {@link #doWork()}: small, so that a handover waiting for the slice to finish barely waits. */
    static final long SLICE = 256 << 10;
    /** How far ahead of the allocator's space paced zeroing works. */
    static final long LEAD = 16L << 20;
    /** Nothing allocated for this long: the store is idle and all reserved space may be zeroed. */
    static final long IDLE_NANOS = 5_000_000L;
    /** The mix of small and large allocations is judged over windows of this length. */
    static final long WINDOW_NANOS = 50_000_000L;

    private final DataFile dataFile;
    /** Without O_DIRECT zeros would only be dirty pages for the next flush: no zeroing at all. */
    private final boolean enabled;
    private final boolean paced;
    private final ErrorHandler errors;
    private final NanoClock clock;
    private final Runnable handoverReady;

    // Guarded by this object's monitor (read without it only by the zeroer thread, the one writing the claim).
    private long handedEnd;
    private long claimFrom = -1;
    private long claimEnd = -1;
    private boolean handoverWaiting;
    private volatile long zeroedTo;

    // Counted by workers under the allocator's lock (one writer at a time), read here without it.
    private final Counter smallBytes = new Counter();
    private final Counter allBytes = new Counter();

    // Zeroer thread only.
    private long seenSmall;
    private long seenAll;
    private long windowSmall;
    private long windowAll;
    private long windowStart;
    private long lastAllocationNanos;
    private volatile boolean smallDominated; // read by the committer through keepingAhead()
    private volatile boolean failed; // read by the committer through keepingAhead()
    private final Counter zeroedBytes = new Counter();

    /**
     * @param paced      zero ahead while small blocks dominate (durable mode), not only when idle.
     * @param handedEnd  where the allocator's space ends (file offset) when the store opens.
     * @param handoverReady wakes the committer after a slice a handover had to wait for.
     */
    SpaceZeroer(final DataFile dataFile, final boolean paced, final long handedEnd, final ErrorHandler errors,
        final NanoClock clock, final Runnable handoverReady)
    {
        this.dataFile = dataFile;
        this.enabled = dataFile.isDirect();
        this.paced = paced;
        this.handedEnd = handedEnd;
        this.zeroedTo = handedEnd;
        this.errors = errors;
        this.clock = clock;
        this.handoverReady = handoverReady;
        windowStart = clock.nanoTime();
        lastAllocationNanos = windowStart - IDLE_NANOS;
    }

    /** Worker, under the allocator's lock: a block of {@code blockSize} bytes was allocated. */
    void allocated(final int blockSize)
    {
        if (blockSize < DataFile.DIRECT_WRITE_MIN)
        {
            smallBytes.add(blockSize);
        }
        allBytes.add(blockSize);
    }

    /**
     * Committer, under the allocator's lock: may the allocator take {@code [from, to)}? False while that space is
     * being zeroed; the committer is woken to retry when the slice is done.
     */
    synchronized boolean mayHandOver(final long from, final long to)
    {
        if (claimFrom < to && claimEnd > from)
        {
            handoverWaiting = true;
            return false;
        }
        handedEnd = Math.max(handedEnd, to);
        return true;
    }

    /**
     * Committer, under the allocator's lock: the handover {@link #mayHandOver} allowed from {@code from} failed. A
     * slice claimed meanwhile (past the chunk) may have moved {@code zeroedTo} beyond it, so the chunk can later count
     * as zeroed when it was not: that only paces handovers, it never decides what a block reads.
     */
    synchronized void handOverUndone(final long from, final long previousEnd)
    {
        if (handedEnd > previousEnd)
        {
            handedEnd = Math.max(previousEnd, Math.min(handedEnd, from));
        }
    }

    /** @return the end of the space handed to the allocator, as the zeroer knows it (for {@link #handOverUndone}). */
    synchronized long handedEnd()
    {
        return handedEnd;
    }

    /** @return true when {@code [from, to)} was zeroed before the allocator took it. */
    boolean zeroed(final long to)
    {
        return zeroedTo >= to;
    }

    /** @return true while the zeroer keeps space zeroed ahead of the allocator, so a handover may wait for it. */
    boolean keepingAhead()
    {
        return enabled && paced && smallDominated && !failed;
    }

    @Override
    public String roleName()
    {
        return "ringblocks-zeroer";
    }

    /** Zeroer thread: zeroes the next slice if the pacing allows. @return 1 when a slice was written, else 0. */
    @Override
    public int doWork()
    {
        if (!claimSlice())
        {
            return 0;
        }
        int rc = -Errno.EIO;
        try
        {
            rc = dataFile.zero(claimFrom, claimEnd - claimFrom);
        }
        finally
        {
            finishSlice(rc); // a claim left standing would refuse every later handover
        }
        return 1;
    }

    /** Zeroer thread: decides whether to zero now and claims the next slice; true when one was claimed. */
    boolean claimSlice()
    {
        final long now = clock.nanoTime();
        observe(now);
        final boolean idle = now - lastAllocationNanos >= IDLE_NANOS;
        if (!enabled || !idle && !(paced && smallDominated))
        {
            return false;
        }
        final long size = dataFile.size();
        synchronized (this)
        {
            if (failed && zeroedTo >= size)
            {
                return false;
            }
            final long from = Math.max(zeroedTo, handedEnd); // never space the allocator owns: it may hold blocks
            final long end = Math.min(from + SLICE, idle ? size : Math.min(size, handedEnd + LEAD));
            if (from >= end)
            {
                return false;
            }
            claimFrom = from;
            claimEnd = end;
            return true;
        }
    }

    /** Zeroer thread: the claimed slice was written ({@code rc} 0) or not (-errno); releases the claim. */
    void finishSlice(final int rc)
    {
        final long from;
        final long end;
        final boolean waiting;
        synchronized (this)
        {
            from = claimFrom;
            end = claimEnd;
            claimFrom = -1;
            claimEnd = -1;
            waiting = handoverWaiting;
            handoverWaiting = false;
            if (rc < 0)
            {
                zeroedTo = Math.max(zeroedTo, dataFile.size()); // stop trying until the file grows; unzeroed works
            }
            else
            {
                zeroedTo = end;
            }
        }
        if (rc < 0)
        {
            if (!failed)
            {
                errors.onError("store", "cannot zero new data file space at " + from + ": " + Errno.describe(rc));
            }
            failed = true;
        }
        else
        {
            failed = false;
            zeroedBytes.add(end - from);
        }
        if (waiting)
        {
            handoverReady.run();
        }
    }

    private void observe(final long now)
    {
        final long small = smallBytes.get();
        final long all = allBytes.get();
        if (all != seenAll)
        {
            lastAllocationNanos = now;
        }
        windowSmall += small - seenSmall;
        windowAll += all - seenAll;
        seenSmall = small;
        seenAll = all;
        if (now - windowStart >= WINDOW_NANOS)
        {
            // An empty window keeps the last judgement: the idle rule covers a store that stopped writing.
            if (windowAll > 0)
            {
                smallDominated = 2 * windowSmall >= windowAll;
            }
            windowSmall = 0;
            windowAll = 0;
            windowStart = now;
        }
    }

    /** @return the end of the reserved space zeroed ahead of the allocator. */
    long zeroedTo()
    {
        return zeroedTo;
    }

    /** @return bytes zeroed since the store opened (STATS). */
    long zeroedBytes()
    {
        return zeroedBytes.get();
    }
}
