package io.ringblocks.storage;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class IoErrorsTest
{
    @Test
    void shouldNameTheCauseNotJustThePath()
    {
        // The JDK's messages for these are only the path: "cannot read it: /data/index/data.mdb" read as damage.
        assertEquals("permission denied (EACCES)", IoErrors.describe(new AccessDeniedException("/d/index/data.mdb")));
        assertEquals("no such file (ENOENT)", IoErrors.describe(new NoSuchFileException("/d/wal.log")));
        assertEquals("Read-only file system",
            IoErrors.describe(new FileSystemException("/d/wal.log", null, "Read-only file system")));
        assertEquals("Input/output error", IoErrors.describe(new IOException("Input/output error")));
    }
}
