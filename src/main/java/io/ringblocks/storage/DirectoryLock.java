package io.ringblocks.storage;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import io.ringblocks.sys.Errno;
import io.ringblocks.sys.LibC;

/**
 * The exclusive lock on a data directory: {@code flock(LOCK_EX | LOCK_NB)} on the directory itself and on
 * {@code DIR/ringblocks.lock}, held from before the store reads anything until it has closed its files. Two servers
 * on one directory would hand out the same space twice; the offline checker takes the same lock. flock belongs to
 * the open file description, so a second open in the same JVM is refused as well (a POSIX lock, which is what
 * {@code FileChannel.tryLock} takes, would be per process, and closing any descriptor of the file would drop it).
 * <p>
 * The directory's lock is what excludes: an operator who deletes {@code ringblocks.lock} as a stale lock while a
 * server runs would otherwise let a second one create a new file and lock that. The lock file holds the holder's pid
 * so that the refusal can name it; the kernel drops both locks when the process dies, whatever the file says. Where
 * a directory cannot be flocked (some network filesystems), the file's lock alone remains.
 */
public final class DirectoryLock implements AutoCloseable
{
    /** The lock file's name inside the data directory. */
    public static final String FILE_NAME = "ringblocks.lock";

    private final Path file;
    private int fd;
    private int dirFd;

    private DirectoryLock(final Path file, final int fd, final int dirFd)
    {
        this.file = file;
        this.fd = fd;
        this.dirFd = dirFd;
    }

    /**
     * Takes the lock on {@code dir} (which must exist).
     *
     * @throws IllegalStateException with one line naming the directory and the holder's pid when another process
     *                               (or another store in this one) holds it, or when the lock file cannot be opened.
     */
    public static DirectoryLock acquire(final Path dir)
    {
        final Path file = dir.resolve(FILE_NAME);
        final int dirFd = lockDirectory(dir, file, LibC.LOCK_EX);
        final int fd = LibC.open(file.toString(), LibC.O_RDWR | LibC.O_CREAT | LibC.O_CLOEXEC, 0644);
        lockFile(dir, file, fd, dirFd, LibC.LOCK_EX);
        writePid(fd);
        return new DirectoryLock(file, fd, dirFd);
    }

    /**
     * Takes the lock on {@code dir} shared, for a reader that writes nothing (the offline checker without repair):
     * it excludes a server, not another reader. Nothing is created or written, so a read-only directory (a
     * snapshot) can be locked; the lock file is locked too where it exists.
     *
     * @throws IllegalStateException with one line when a server (or another store in this JVM) holds the lock.
     */
    public static DirectoryLock acquireShared(final Path dir)
    {
        final Path file = dir.resolve(FILE_NAME);
        final int dirFd = lockDirectory(dir, file, LibC.LOCK_SH);
        final int fd = LibC.open(file.toString(), LibC.O_RDONLY | LibC.O_CLOEXEC, 0);
        if (fd == -Errno.ENOENT)
        {
            return new DirectoryLock(file, -1, dirFd); // the directory's lock excludes a server on its own
        }
        lockFile(dir, file, fd, dirFd, LibC.LOCK_SH);
        return new DirectoryLock(file, fd, dirFd);
    }

    /** Locks the opened lock file ({@code fd}, or the negative errno of its open); on failure closes both. */
    private static void lockFile(final Path dir, final Path file, final int fd, final int dirFd, final int mode)
    {
        if (fd < 0)
        {
            closeQuietly(dirFd);
            throw new IllegalStateException("cannot open lock file " + file + ": " + Errno.describe(fd));
        }
        final int rc = LibC.flock(fd, mode | LibC.LOCK_NB);
        if (rc < 0)
        {
            LibC.close(fd);
            closeQuietly(dirFd);
            if (rc == -Errno.EAGAIN)
            {
                throw inUse(dir, file);
            }
            throw new IllegalStateException("cannot lock " + file + ": " + Errno.describe(rc));
        }
    }

    /** @return the directory's locked descriptor, or -1 where directories cannot be flocked. */
    private static int lockDirectory(final Path dir, final Path file, final int mode)
    {
        final int dirFd = LibC.open(dir.toString(), LibC.O_RDONLY | LibC.O_DIRECTORY | LibC.O_CLOEXEC, 0);
        if (dirFd < 0)
        {
            throw new IllegalStateException("cannot open data directory " + dir + ": " + Errno.describe(dirFd));
        }
        final int rc = LibC.flock(dirFd, mode | LibC.LOCK_NB);
        if (rc == 0)
        {
            return dirFd;
        }
        LibC.close(dirFd);
        if (rc == -Errno.EAGAIN)
        {
            throw inUse(dir, file);
        }
        return -1; // e.g. EBADF or ENOLCK on a network filesystem: the lock file's flock still excludes
    }

    private static IllegalStateException inUse(final Path dir, final Path file)
    {
        return new IllegalStateException("data directory " + dir + " is in use by another ringblocks process" +
            " (pid " + holder(file) + ", lock " + file + "): stop it first or use another --data directory");
    }

    private static void closeQuietly(final int fd)
    {
        if (fd >= 0)
        {
            LibC.close(fd);
        }
    }

    private static void writePid(final int fd)
    {
        final byte[] pid = (ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII);
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment bytes = arena.allocate(pid.length);
            bytes.copyFrom(MemorySegment.ofArray(pid));
            // Best effort: the pid only makes the refusal message helpful, the flock is what excludes.
            LibC.ftruncate(fd, 0);
            LibC.pwrite(fd, bytes, pid.length, 0);
        }
    }

    /**
     * @return the pid the holder wrote, or "unknown" when it has not written it yet, or when that process is gone: a
     * check ({@link #acquireShared}) writes no pid, so the file still names the last server.
     */
    private static String holder(final Path file)
    {
        try
        {
            final String pid = Files.readString(file, StandardCharsets.US_ASCII).trim();
            if (!pid.matches("[0-9]{1,10}"))
            {
                return "unknown";
            }
            final boolean alive = ProcessHandle.of(Long.parseLong(pid)).map(ProcessHandle::isAlive).orElse(false);
            return alive ? pid : "unknown: the last one to write it, " + pid + ", has exited; a tools/rbcheck may " +
                "hold it";
        }
        catch (final IOException e)
        {
            return "unknown";
        }
    }

    public Path file()
    {
        return file;
    }

    /** Releases the locks (closing the descriptors drops them); the file and its stale pid stay, harmless. */
    @Override
    public void close()
    {
        if (fd >= 0)
        {
            LibC.close(fd);
            fd = -1;
        }
        if (dirFd >= 0)
        {
            LibC.close(dirFd);
            dirFd = -1;
        }
    }
}
