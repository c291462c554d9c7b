package io.ringblocks.storage;

import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.ringblocks.sys.Errno;
import io.ringblocks.sys.LibC;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** {@link StickySync}: once an fdatasync failed, no later one may report success. */
class StickySyncTest
{
    @TempDir
    Path dir;

    @Test
    void shouldFailEveryCallAfterTheFirstFailure()
    {
        final int fd = LibC.open(dir.resolve("f").toString(), LibC.O_RDWR | LibC.O_CREAT, 0644);
        try
        {
            final StickySync sync = new StickySync();
            assertEquals(0, sync.sync(fd));
            assertEquals(-Errno.EBADF, sync.sync(-1), "a real failure (here: a bad descriptor)");
            assertEquals(-Errno.EBADF, sync.sync(fd), "the file itself syncs, but the failure sticks");
            assertEquals(0, new StickySync().sync(fd), "another file's gate is its own");
        }
        finally
        {
            LibC.close(fd);
        }
    }
}
