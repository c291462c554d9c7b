package io.ringblocks.storage;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.ringblocks.sys.Errno;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Growing the data file on a real filesystem that has less room than the step: the grow fails with ENOSPC and
 * leaves the file exactly as it was (size and blocks), so the next start finds whole chunks and the space is not
 * lost. Before the fix, ext4's fallocate had extended the file by what fit before it failed.
 */
class DataFileGrowTest
{
    @TempDir
    Path dir;

    @Test
    void shouldLeaveTheFileAsItWasWhenGrowingFailsOnExt4() throws Exception
    {
        try (SmallFilesystem fs = SmallFilesystem.ext4(dir, 32))
        {
            assertFailedGrowLeavesFileAsItWas(fs);
        }
    }

    @Test
    void shouldLeaveTheFileAsItWasWhenGrowingFailsOnTmpfs() throws Exception
    {
        try (SmallFilesystem fs = SmallFilesystem.tmpfs(dir, 16))
        {
            assertFailedGrowLeavesFileAsItWas(fs);
        }
    }

    private static void assertFailedGrowLeavesFileAsItWas(final SmallFilesystem fs) throws Exception
    {
        final Path path = fs.path().resolve("blocks.dat");
        try (DataFile file = new DataFile(path, true, true))
        {
            assertEquals(0, file.growTo(4L << 20));
            final long freeBefore = Files.getFileStore(fs.path()).getUnallocatedSpace();
            assertEquals(-Errno.ENOSPC, file.growTo(64L << 20), "the step does not fit");
            assertEquals(4L << 20, file.size());
            assertEquals(4L << 20, Files.size(path), "the file's size is unchanged");
            final long freeAfter = Files.getFileStore(fs.path()).getUnallocatedSpace();
            assertTrue(Math.abs(freeBefore - freeAfter) <= 64 << 10,
                "blocks taken by the failed fallocate are given back: " + freeBefore + " -> " + freeAfter);
            assertEquals(0, file.growTo(5L << 20), "a step that fits still works");
            assertEquals(5L << 20, Files.size(path));
        }
    }
}
