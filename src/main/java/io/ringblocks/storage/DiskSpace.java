package io.ringblocks.storage;

import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.LongSupplier;

import io.ringblocks.sys.LibC;

/**
 * The store's share of a filesystem it does not own: how far the data file may grow, when new blocks must be
 * refused so that the index can always commit, and how soon to try again after the filesystem said no.
 * <p>
 * The index is what must never run dry: LMDB writes its pages into {@code data.mdb} as it commits, so a commit on
 * a full filesystem fails (EIO/ENOSPC) and its PUTs would be answered INTERNAL_ERROR. Three rules keep it fed:
 * <ul>
 * <li>{@code data.mdb} keeps an {@link #indexReserve() index reserve} allocated beyond its end (fallocate with
 *     KEEP_SIZE, topped up as the file grows): LMDB's new pages land in space that is already the file's, even
 *     when another program has just taken the filesystem's last byte. A DELETE's commit needs a few pages too; it
 *     frees as many as it copies, and LMDB reuses those two commits later, so a full disk's DELETEs live inside the
 *     reserve indefinitely.</li>
 * <li>The data file grows only into free space beyond twice the reserve ({@link #step}): its steps shrink, down to
 *     one chunk, as the filesystem fills, and the index's future growth keeps its room.</li>
 * <li>While the filesystem's free space is below the reserve ({@link #refusing()}), new PUTs get NO_SPACE even
 *     where the data file still has room: their index entries would eat the reserve that DELETEs need.</li>
 * </ul>
 * Growth that the filesystem refused is retried with an exponential back-off (100 ms doubling to 3.2 s), so freed
 * space is found again within seconds while a full disk costs a statvfs a few times a second at most; the log
 * line about it appears at most once per {@link #LOG_INTERVAL_NANOS}.
 * <p>
 * Committer thread only, except {@link #refusing()} and the counters, which workers and STATS read.
 */
final class DiskSpace implements AutoCloseable
{
    static final long MIN_INDEX_RESERVE = 2L << 20;
    static final long MAX_INDEX_RESERVE = 64L << 20;
    static final long FIRST_BACKOFF_NANOS = 100_000_000L;
    static final long MAX_BACKOFF_NANOS = 3_200_000_000L;
    static final long LOG_INTERVAL_NANOS = 30_000_000_000L;
    private static final long REFRESH_NANOS = 100_000_000L;
    private static final int FALLOC_FL_KEEP_SIZE = 1;
    private static final System.Logger LOG = System.getLogger("ringblocks");

    private final Path dir;
    private final Path indexFile;
    private final LongSupplier usable;
    private int indexFd = -1;
    private long indexToppedUpTo = -1;
    private boolean refreshed;
    private long nextRefreshNanos;
    private long backoffNanos;
    private long retryAtNanos;
    private final long[] lastLogNanos = {0, 0};
    private final boolean[] loggedOnce = {false, false};
    private long failuresSinceLog;
    private volatile boolean refusing;
    private final Counter growFailures = new Counter();
    private volatile long lastUsable = -1;

    /**
     * @param dir       the data directory (its filesystem is the one measured).
     * @param indexFile LMDB's {@code data.mdb}, kept with a preallocated reserve beyond its end.
     */
    DiskSpace(final Path dir, final Path indexFile)
    {
        this(dir, indexFile, fileStoreUsable(dir));
    }

    /** @param usable bytes the filesystem has free for the store, or -1 when unknown (tests inject it). */
    DiskSpace(final Path dir, final Path indexFile, final LongSupplier usable)
    {
        this.dir = dir;
        this.indexFile = indexFile;
        this.usable = usable;
    }

    private static LongSupplier fileStoreUsable(final Path dir)
    {
        final FileStore store;
        try
        {
            store = Files.getFileStore(dir);
        }
        catch (final IOException e)
        {
            return () -> -1L;
        }
        return () ->
        {
            try
            {
                return store.getUsableSpace();
            }
            catch (final IOException e)
            {
                return -1L;
            }
        };
    }

    /** @return true while new blocks must be refused (NO_SPACE): the filesystem's free space is below the reserve. */
    boolean refusing()
    {
        return refusing;
    }

    /** @return data-file growth attempts that failed or found no room (STATS {@code store_grow_failures}). */
    long growFailures()
    {
        return growFailures.get();
    }

    /** @return the filesystem's free space at the last look, -1 when unknown (STATS). */
    long usableBytes()
    {
        return lastUsable;
    }

    /**
     * Room kept for the index: twice its size plus a MiB (one commit can at most copy every page it has, and
     * LMDB frees copies two commits later), at least {@link #MIN_INDEX_RESERVE}, at most
     * {@link #MAX_INDEX_RESERVE} (a full batch of 4096 deltas touching four fresh pages each).
     */
    long indexReserve()
    {
        long indexBytes = 0;
        try
        {
            indexBytes = Files.size(indexFile);
        }
        catch (final IOException e)
        {
            // not created yet: the minimum applies
        }
        final long wanted = Math.clamp(2 * indexBytes + (1L << 20), MIN_INDEX_RESERVE, MAX_INDEX_RESERVE);
        return (wanted + 4095) & ~4095L;
    }

    /**
     * At most every 100 ms: tops up the index reserve, looks at the filesystem's free space and decides whether new
     * blocks are refused.
     */
    void refresh(final long nowNanos)
    {
        if (refreshed && nowNanos - nextRefreshNanos < 0)
        {
            return;
        }
        refreshed = true;
        nextRefreshNanos = nowNanos + REFRESH_NANOS;
        final long reserve = indexReserve();
        topUpIndex(reserve);
        final long free = usable.getAsLong();
        lastUsable = free;
        final boolean refuse = free >= 0 && free < reserve;
        if (refuse && !refusing && shouldLog(1, nowNanos))
        {
            LOG.log(System.Logger.Level.WARNING, "the filesystem of " + dir + " has " + free + " bytes free, less " +
                "than the " + reserve + " kept for the index: new PUTs get NO_SPACE until space is freed there");
        }
        refusing = refuse;
    }

    /** Keeps {@code reserve} bytes allocated beyond the end of {@code data.mdb}; cheap when nothing changed. */
    private void topUpIndex(final long reserve)
    {
        final long size;
        try
        {
            size = Files.size(indexFile);
        }
        catch (final IOException e)
        {
            return;
        }
        if (size + reserve <= indexToppedUpTo)
        {
            return;
        }
        if (indexFd < 0)
        {
            indexFd = LibC.open(indexFile.toString(), LibC.O_RDWR | LibC.O_CLOEXEC, 0);
            if (indexFd < 0)
            {
                return;
            }
        }
        // KEEP_SIZE: the file's size (which LMDB checks against its meta pages) stays; only its blocks are taken.
        // A partial allocation on a nearly full disk is kept: some reserve beats none, and it is retried later.
        if (LibC.fallocate(indexFd, FALLOC_FL_KEEP_SIZE, size, reserve) == 0)
        {
            indexToppedUpTo = size + reserve;
        }
    }

    /**
     * @param wanted bytes the data file would grow by (the configured step, capped by {@code --max-size}).
     * @param chunk  the allocator's chunk: growth comes in whole chunks.
     * @return how much to grow now: {@code wanted}, less as the filesystem fills (twice the index reserve stays
     *         free), 0 when not even one chunk fits.
     */
    long step(final long wanted, final int chunk)
    {
        final long free = usable.getAsLong();
        lastUsable = free;
        if (free < 0)
        {
            return wanted;
        }
        final long room = free - 2 * indexReserve();
        return room < chunk ? 0 : Math.min(wanted, room / chunk * chunk);
    }

    /** @return false while backing off after a failed growth. */
    boolean mayGrow(final long nowNanos)
    {
        return backoffNanos == 0 || nowNanos - retryAtNanos >= 0;
    }

    /**
     * Growth failed or found no room: doubles the back-off and counts the failure.
     *
     * @return true when the caller should log it now (at most once per {@link #LOG_INTERVAL_NANOS}).
     */
    boolean growthFailed(final long nowNanos, final boolean count)
    {
        backoffNanos = backoffNanos == 0 ? FIRST_BACKOFF_NANOS : Math.min(MAX_BACKOFF_NANOS, backoffNanos * 2);
        retryAtNanos = nowNanos + backoffNanos;
        if (!count)
        {
            return false;
        }
        growFailures.increment();
        failuresSinceLog++;
        return shouldLog(0, nowNanos);
    }

    /** @return failed attempts since the last logged line, including the one being logged. */
    long failuresSinceLog()
    {
        return failuresSinceLog;
    }

    /** Growth worked: the next failure starts the back-off afresh. */
    void grew()
    {
        backoffNanos = 0;
    }

    /** @param kind 0: growth failures, 1: refusing new blocks; each has its own interval. */
    private boolean shouldLog(final int kind, final long nowNanos)
    {
        if (loggedOnce[kind] && nowNanos - lastLogNanos[kind] < LOG_INTERVAL_NANOS)
        {
            return false;
        }
        loggedOnce[kind] = true;
        lastLogNanos[kind] = nowNanos;
        return true;
    }

    /** Call after logging a growth failure: the next line counts from here. */
    void logged()
    {
        failuresSinceLog = 0;
    }

    @Override
    public void close()
    {
        if (indexFd >= 0)
        {
            LibC.close(indexFd);
            indexFd = -1;
        }
    }
}
