package io.ringblocks.storage;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A real, small filesystem for disk-full tests: a loop-mounted ext4 image or a tmpfs, mounted under a test's
 * temporary directory and unmounted by {@link #close()} (call it from a finally block or {@code @AfterEach}).
 * Needs root; without it (or without loop devices / mkfs.ext4) the calling test is skipped, never failed.
 */
public final class SmallFilesystem implements AutoCloseable
{
    private final Path mount;
    private final Path image;

    private SmallFilesystem(final Path mount, final Path image)
    {
        this.mount = mount;
        this.image = image;
    }

    /** Mounts a {@code megabytes}-MB ext4 image (made with mkfs.ext4, on a loop device) at {@code dir/ext4}. */
    public static SmallFilesystem ext4(final Path dir, final int megabytes) throws Exception
    {
        assumeTrue(run("which", "mkfs.ext4") == 0 || run("sh", "-c", "apt-get install -y -q e2fsprogs") == 0,
            "needs mkfs.ext4 (e2fsprogs)");
        final Path image = dir.resolve("ext4.img");
        final Path mount = Files.createDirectories(dir.resolve("ext4"));
        run("truncate", "-s", megabytes + "M", image.toString());
        assumeTrue(run("mkfs.ext4", "-q", "-F", image.toString()) == 0, "mkfs.ext4 failed");
        assumeTrue(run("mount", "-o", "loop", image.toString(), mount.toString()) == 0,
            "needs root and a free loop device to mount an ext4 image");
        return new SmallFilesystem(mount, image);
    }

    /** Mounts a tmpfs of {@code megabytes} MiB at {@code dir/tmpfs}. */
    public static SmallFilesystem tmpfs(final Path dir, final int megabytes) throws Exception
    {
        final Path mount = Files.createDirectories(dir.resolve("tmpfs"));
        assumeTrue(run("mount", "-t", "tmpfs", "-o", "size=" + megabytes + "m", "tmpfs", mount.toString()) == 0,
            "needs root to mount a small tmpfs");
        return new SmallFilesystem(mount, null);
    }

    /** Mounts a ramfs at {@code dir/ramfs}: a filesystem that refuses O_DIRECT with EINVAL (tmpfs accepts it since Linux 6.6). */
    public static SmallFilesystem ramfs(final Path dir) throws Exception
    {
        final Path mount = Files.createDirectories(dir.resolve("ramfs"));
        assumeTrue(run("mount", "-t", "ramfs", "ramfs", mount.toString()) == 0, "needs root to mount a ramfs");
        return new SmallFilesystem(mount, null);
    }

    public Path path()
    {
        return mount;
    }

    /** @return bytes an unprivileged writer could still use (statvfs f_bavail). */
    public long usableBytes() throws IOException
    {
        return Files.getFileStore(mount).getUsableSpace();
    }

    /**
     * Another program fills the filesystem: writes {@code file} until the filesystem refuses (ENOSPC), as root,
     * so even the blocks ext4 keeps for root are gone.
     *
     * @return bytes written.
     */
    public long fill(final Path file) throws IOException
    {
        long written = 0;
        final byte[] big = new byte[1 << 20];
        final byte[] small = new byte[4096];
        try (OutputStream out = Files.newOutputStream(file))
        {
            for (final byte[] piece : new byte[][]{big, small})
            {
                try
                {
                    while (true)
                    {
                        out.write(piece);
                        out.flush();
                        written += piece.length;
                    }
                }
                catch (final IOException full)
                {
                    // this piece size no longer fits; try the smaller one, then stop
                }
            }
        }
        catch (final IOException closeFailed)
        {
            // close flushes nothing more (unbuffered stream); a full disk may still complain
        }
        return written;
    }

    /** Writes {@code bytes} to {@code file} (a filler that leaves the rest of the filesystem to the store). */
    public void filler(final Path file, final long bytes) throws IOException
    {
        final byte[] piece = new byte[1 << 20];
        try (OutputStream out = Files.newOutputStream(file))
        {
            for (long done = 0; done < bytes; done += piece.length)
            {
                out.write(piece, 0, (int)Math.min(piece.length, bytes - done));
            }
        }
    }

    @Override
    public void close() throws Exception
    {
        // A lazy unmount cannot fail on a busy mount (e.g. a server that did not stop): the mount is gone either way.
        if (run("umount", mount.toString()) != 0)
        {
            run("umount", "-l", mount.toString());
        }
        if (image != null)
        {
            Files.deleteIfExists(image);
        }
    }

    static int run(final String... command) throws Exception
    {
        final Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        if (!p.waitFor(60, TimeUnit.SECONDS))
        {
            p.destroyForcibly();
            return -1;
        }
        return p.exitValue();
    }
}
