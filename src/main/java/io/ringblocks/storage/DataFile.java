package io.ringblocks.storage;

import java.io.File;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;

import io.ringblocks.sys.Errno;
import io.ringblocks.sys.LibC;

/**
 * The one file that holds every block. Opened with O_DIRECT by default (all I/O is 4 KiB aligned; the page cache
 * would only double-buffer what the client already has); a filesystem that refuses O_DIRECT (tmpfs) gets a
 * buffered file and one logged warning. Grown in steps with fallocate (ftruncate where fallocate is not
 * supported), never per block; a failed step leaves the file as it was. Worker rings read and write it; this class only opens, grows and syncs it.
 */
public final class DataFile implements AutoCloseable
{
    private static final System.Logger LOG = System.getLogger("ringblocks");
    private static final long ZERO_CHUNK = 1 << 20;
    private static final int FALLOC_FL_KEEP_SIZE = 1;
    /**
     * Relaxed mode writes smaller blocks through the page cache (their latency is the device's round trip) and these
     * O_DIRECT: through the page cache, 64 KiB PUTs at 64 connections ran at half their O_DIRECT rate (memory copies
     * and a periodic flush of a second's worth).
     */
    public static final int DIRECT_WRITE_MIN = 64 << 10;

    private final int fd;
    private final StickySync syncs = new StickySync();
    private final int readFd;
    private final int smallWriteFd;
    private final boolean direct;
    private final Path path;
    private volatile long size;
    private boolean warnedSparse;
    private MemorySegment zeros;

    /**
     * @param wantDirect request O_DIRECT.
     * @param readCache  open a second, buffered read-only descriptor for block reads ({@link #readFd()}).
     */
    public DataFile(final Path path, final boolean wantDirect, final boolean readCache)
    {
        this(path, wantDirect, readCache, false);
    }

    /**
     * @param bufferSmallWrites relaxed mode: blocks below {@link #DIRECT_WRITE_MIN} go through the page cache (a
     *                          second, buffered read-write descriptor that block reads use too), larger ones stay
     *                          O_DIRECT ({@link #writeFd(int)}).
     */
    public DataFile(final Path path, final boolean wantDirect, final boolean readCache,
        final boolean bufferSmallWrites)
    {
        this.path = path;
        final Opened opened = open(path, LibC.O_RDWR | LibC.O_CREAT | LibC.O_CLOEXEC, 0644, wantDirect, "data file");
        fd = opened.fd();
        direct = opened.direct();
        if (bufferSmallWrites && direct)
        {
            // Small writes and all reads share one buffered descriptor; the kernel writes back and invalidates
            // cached pages around every O_DIRECT write, so the two kinds of write never see each other's stale bytes.
            final int bfd = LibC.open(path.toString(), LibC.O_RDWR | LibC.O_CLOEXEC, 0);
            if (bfd < 0)
            {
                LibC.close(fd);
                throw new IllegalStateException("cannot open data file for buffered writes " + path + ": " +
                    Errno.describe(bfd));
            }
            readFd = bfd;
            smallWriteFd = bfd;
        }
        else if (readCache && direct)
        {
            // Direct writes invalidate the cached pages they cover, so buffered reads never see stale bytes.
            final int rfd = LibC.open(path.toString(), LibC.O_RDONLY | LibC.O_CLOEXEC, 0);
            if (rfd < 0)
            {
                LibC.close(fd);
                throw new IllegalStateException("cannot open data file for reading " + path + ": " + Errno.describe(rfd));
            }
            readFd = rfd;
            smallWriteFd = fd;
        }
        else
        {
            readFd = fd;
            smallWriteFd = fd;
        }
        try
        {
            size = Files.size(path);
        }
        catch (final java.io.IOException e)
        {
            if (readFd != fd)
            {
                LibC.close(readFd);
            }
            LibC.close(fd);
            throw new IllegalStateException("cannot stat data file " + path + ": " + IoErrors.describe(e), e);
        }
    }

    public int fd()
    {
        return fd;
    }

    /** A descriptor and whether it has O_DIRECT. */
    record Opened(int fd, boolean direct)
    {
    }

    /**
     * Opens {@code path} with O_DIRECT when wanted, falling back (with one warning) to buffered I/O on a filesystem
     * that refuses it (tmpfs: -EINVAL) or accepts it without doing direct I/O (as statx tells since Linux 6.1); the
     * write-ahead log opens its file the same way.
     *
     * @param what names the file in messages ("data file", "write-ahead log").
     * @throws IllegalStateException when the file cannot be opened at all.
     */
    static Opened open(final Path path, final int flags, final int mode, final boolean wantDirect, final String what)
    {
        int opened = wantDirect ? LibC.open(path.toString(), flags | LibC.O_DIRECT, mode) : -Errno.EINVAL;
        boolean isDirect = wantDirect && opened >= 0;
        if (wantDirect && opened == -Errno.EINVAL)
        {
            LOG.log(System.Logger.Level.WARNING, "the filesystem of " + path +
                " refuses O_DIRECT (-EINVAL): using buffered I/O for the " + what);
        }
        if (isDirect && LibC.directIoAlignment(opened) == 0)
        {
            // Accepted, yet written through the page cache: its writes are not on the device when they complete, so
            // the file is treated as buffered (flushed like one) rather than trusted to be direct.
            LOG.log(System.Logger.Level.WARNING, "the filesystem of " + path + " accepts O_DIRECT but does no " +
                "direct I/O for it (statx: no alignment): using buffered I/O for the " + what);
            LibC.close(opened);
            opened = -Errno.EINVAL;
        }
        if (opened < 0)
        {
            opened = LibC.open(path.toString(), flags, mode);
            isDirect = false;
        }
        if (opened < 0)
        {
            throw new IllegalStateException("cannot open " + what + " " + path + ": " + Errno.describe(opened));
        }
        return new Opened(opened, isDirect);
    }

    /** @return the descriptor block reads use: buffered when the read cache is on, else {@link #fd()}. */
    public int readFd()
    {
        return readFd;
    }

    /**
     * @return the descriptor a block of {@code blockSize} bytes is written through: the buffered one for small
     * blocks in relaxed mode (no device round trip before the acknowledgement), else the O_DIRECT one.
     */
    public int writeFd(final int blockSize)
    {
        return blockSize < DIRECT_WRITE_MIN ? smallWriteFd : fd;
    }

    public boolean isDirect()
    {
        return direct;
    }

    public long size()
    {
        return size;
    }

    public File file()
    {
        return path.toFile();
    }

    /**
     * Extends the file to {@code newSize} bytes: fallocate with KEEP_SIZE first (space is reserved, so a full disk
     * shows up here rather than as a failed block write), then ftruncate to the new size; ftruncate alone where the
     * filesystem has no fallocate. A failure leaves the file exactly as it was: fallocate may have allocated part
     * of the range before it ran out (on ext4 a plain fallocate even moves the size as it goes), and truncating to
     * the unchanged size gives those blocks back, so the size only ever moves in whole steps.
     *
     * @return 0 or {@code -errno} (e.g. -ENOSPC).
     */
    public int growTo(final long newSize)
    {
        if (newSize <= size)
        {
            return 0;
        }
        int rc = LibC.fallocate(fd, FALLOC_FL_KEEP_SIZE, size, newSize - size);
        if (rc == -Errno.EOPNOTSUPP)
        {
            if (!warnedSparse)
            {
                warnedSparse = true;
                LOG.log(System.Logger.Level.WARNING, "the filesystem of " + path + " cannot reserve space " +
                    "(fallocate: " + Errno.describe(rc) + "): the data file grows sparse, so a full disk shows up as " +
                    "a failed block write; in sync mode a failed write of a small block stops all writes until a " +
                    "restart, instead of answering NO_SPACE");
            }
            rc = LibC.ftruncate(fd, newSize);
        }
        else if (rc == 0)
        {
            rc = LibC.ftruncate(fd, newSize);
        }
        if (rc < 0)
        {
            LibC.ftruncate(fd, size); // ext4 truncates blocks beyond the end even when the size does not change
            return rc;
        }
        size = newSize;
        return 0;
    }

    /** Shrinks the file to {@code newSize} (a trailing partial chunk nothing indexed lives in). @return 0 or -errno. */
    public int truncateTo(final long newSize)
    {
        if (newSize >= size)
        {
            return 0;
        }
        final int rc = LibC.ftruncate(fd, newSize);
        if (rc == 0)
        {
            size = newSize;
        }
        return rc;
    }

    /**
     * Writes zeros over {@code [offset, offset + length)} (both 4 KiB aligned), through the O_DIRECT descriptor
     * when there is one so no dirty pages pile up for the next fdatasync. Space that fallocate only reserved is an
     * unwritten extent: the first block write into it changes the file's metadata, and every fdatasync after such
     * writes has to commit the filesystem journal too. Zeroed space is plain overwrite, whose fdatasync is a
     * cache flush.
     *
     * @return 0 or -errno.
     */
    public int zero(final long offset, final long length)
    {
        if (zeros == null)
        {
            zeros = Arena.ofAuto().allocate(ZERO_CHUNK, 4096);
        }
        for (long done = 0; done < length; )
        {
            final long n = LibC.pwrite(fd, zeros, Math.min(ZERO_CHUNK, length - done), offset + done);
            if (n == 0)
            {
                return -Errno.EIO; // no progress on a regular file: never loop on it
            }
            if (n < 0 && n != -Errno.EINTR)
            {
                return (int)n;
            }
            done += Math.max(0, n);
        }
        return 0;
    }

    /**
     * fdatasync: makes completed block writes durable (the committer's and the checkpointer's calls take turns, and a
     * failure sticks: {@link StickySync}). @return 0 or -errno.
     */
    public int sync()
    {
        return syncs.sync(fd);
    }

    @Override
    public void close()
    {
        if (readFd != fd)
        {
            LibC.close(readFd);
        }
        LibC.close(fd);
    }
}
