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
 * The exclusive lock on a data directory: {@code flock(LOCK_EX | LOCK_NB)} on {@code DIR/ringblocks.lock}, held
 * from before the store reads anything until it has closed its files. Two servers on one directory would hand out
 * the same space twice; the offline checker takes the same lock. flock belongs to the open file description, so a
 * second open in the same JVM is refused as well (a POSIX lock, which is what {@code FileChannel.tryLock} takes,
 * would be per process, and closing any descriptor of the file would drop it). The holder writes its pid into the
 * file so that the refusal can name it; the kernel drops the lock when the process dies, whatever the file says.
 */
public final class DirectoryLock implements AutoCloseable
{
    /** The lock file's name inside the data directory. */
    public static final String FILE_NAME = "ringblocks.lock";

    private final Path file;
    private int fd;

    private DirectoryLock(final Path file, final int fd)
    {
        this.file = file;
        this.fd = fd;
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
        final int fd = LibC.open(file.toString(), LibC.O_RDWR | LibC.O_CREAT | LibC.O_CLOEXEC, 0644);
        if (fd < 0)
        {
            throw new IllegalStateException("cannot open lock file " + file + ": " + Errno.describe(fd));
        }
        final int rc = LibC.flock(fd, LibC.LOCK_EX | LibC.LOCK_NB);
        if (rc < 0)
        {
            LibC.close(fd);
            if (rc == -Errno.EAGAIN)
            {
                throw new IllegalStateException("data directory " + dir + " is in use by another ringblocks process" +
                    " (pid " + holder(file) + ", lock " + file + "): stop it first or use another --data directory");
            }
            throw new IllegalStateException("cannot lock " + file + ": " + Errno.describe(rc));
        }
        writePid(fd);
        return new DirectoryLock(file, fd);
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

    /** @return the pid the holder wrote, or "unknown" when it has not written it yet. */
    private static String holder(final Path file)
    {
        try
        {
            final String pid = Files.readString(file, StandardCharsets.US_ASCII).trim();
            return pid.matches("[0-9]{1,10}") ? pid : "unknown";
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

    /** Releases the lock (closing the descriptor drops it); the file and its stale pid stay, harmless. */
    @Override
    public void close()
    {
        if (fd >= 0)
        {
            LibC.close(fd);
            fd = -1;
        }
    }
}
