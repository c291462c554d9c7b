package io.ringblocks.server;

import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.ringblocks.storage.SmallFilesystem;
import io.ringblocks.storage.StoreConfig;

import static io.ringblocks.server.ServerOperationsTest.DELETE;
import static io.ringblocks.server.ServerOperationsTest.GET;
import static io.ringblocks.server.ServerOperationsTest.OK;
import static io.ringblocks.server.ServerOperationsTest.PING;
import static io.ringblocks.server.ServerOperationsTest.PUT;
import static io.ringblocks.server.ServerOperationsTest.STATS;
import static io.ringblocks.server.ServerOperationsTest.random;
import static io.ringblocks.server.ServerOperationsTest.sha256;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Real full filesystems (tmpfs and loop-mounted ext4, {@link SmallFilesystem}) below a far larger
 * {@code --max-size}: PUTs get NO_SPACE and never INTERNAL_ERROR, DELETEs and GETs keep working, growth failures
 * are counted and rarely logged, space freed by another program is used again, and a restart on a full disk
 * serves every acknowledged block.
 */
class DiskFullTest
{
    private static final int NO_SPACE = 5;

    @TempDir
    Path dir;

    private static StoreConfig store(final Path data)
    {
        // The production growth step (64 MiB) and a --max-size far beyond the filesystem.
        return StoreConfig.builder(data).maxSize(1L << 30).growStep(64L << 20).indexMapSize(1L << 30).maxBatch(4096)
            .conclude();
    }

    /** PUTs distinct blocks until {@code limit} NO_SPACE answers in a row; any other failure fails the test. */
    private static long fill(final RawClient c, final Random random, final List<byte[]> stored, final int limit)
        throws Exception
    {
        long bytes = 0;
        int noSpace = 0;
        for (int i = 0; noSpace < limit; i++)
        {
            assertTrue(i < 2000, "the store never filled up");
            final byte[] block = random(random, i % 4 == 3 ? 4096 : 1_000_000);
            final RawClient.Response r = c.call(PUT, 0, i, block);
            if (r.status() == OK)
            {
                stored.add(block);
                bytes += block.length;
                noSpace = 0;
            }
            else
            {
                assertEquals(NO_SPACE, r.status(), "a full disk is NO_SPACE, never another status");
                noSpace++;
            }
        }
        return bytes;
    }

    private static long stat(final RawClient c, final String name) throws Exception
    {
        final String text = new String(c.call(STATS, 0, 9, new byte[0]).body(), StandardCharsets.UTF_8);
        for (final String line : text.split("\n"))
        {
            if (line.startsWith(name + " "))
            {
                return Long.parseLong(line.substring(name.length() + 1));
            }
        }
        throw new AssertionError("no " + name + " in STATS");
    }

    private static void assertAllReadable(final RawClient c, final List<byte[]> stored) throws Exception
    {
        for (final byte[] block : stored)
        {
            final RawClient.Response r = c.call(GET, 0, 100, sha256(block));
            assertEquals(OK, r.status());
            assertArrayEquals(block, r.body());
        }
    }

    @Test
    void shouldAnswerNoSpaceWhenTheFilesystemIsFullAndKeepServing() throws Exception
    {
        try (SmallFilesystem fs = SmallFilesystem.tmpfs(dir, 16))
        {
            final ServerConfig config = ServerHarness.config(dir).toBuilder().store(store(fs.path().resolve("data")))
                .conclude();
            try (RingblocksServer server = RingblocksServer.start(config); RawClient c = new RawClient(server.port()))
            {
                final List<byte[]> stored = new ArrayList<>();
                final long bytes = fill(c, new Random(12), stored, 5);
                assertTrue(bytes >= 2_000_000L && bytes < 16L << 20, "stored " + bytes + " bytes");
                assertAllReadable(c, stored);
                assertEquals(OK, c.call(PING, 0, 101, new byte[0]).status());
                assertTrue(server.errors() >= 1, "the failed growth is reported to the error handler");
            }
        }
    }

    /** 64 MiB of tmpfs (67 MB) used to answer NO_SPACE at once: its first 64 MiB growth step could not fit. */
    @Test
    void shouldFillASmallTmpfsNearlyToTheBrim() throws Exception
    {
        try (SmallFilesystem fs = SmallFilesystem.tmpfs(dir, 64))
        {
            final ServerConfig config = ServerHarness.config(dir).toBuilder().store(store(fs.path().resolve("data")))
                .conclude();
            try (RingblocksServer server = RingblocksServer.start(config); RawClient c = new RawClient(server.port()))
            {
                final List<byte[]> stored = new ArrayList<>();
                final long bytes = fill(c, new Random(64), stored, 3);
                assertTrue(bytes >= 50_000_000L, "stored only " + bytes + " bytes on a 64 MiB tmpfs");
                assertEquals(0, stat(c, "status_internal_error"));
                assertAllReadable(c, stored);
            }
        }
    }

    /**
     * The reproduction: a 100 MB ext4 under {@code --max-size 1g}. The old store left a partly extended
     * file behind, answered INTERNAL_ERROR from failed commits, logged every retry and would not start again.
     */
    @Test
    void shouldStayCorrectAndRecoverOnAFullExt4() throws Exception
    {
        try (SmallFilesystem fs = SmallFilesystem.ext4(dir, 100))
        {
            final Path data = fs.path().resolve("data");
            final Path filler = fs.path().resolve("another-program");
            final Path lastByte = fs.path().resolve("another-program-2");
            fs.filler(filler, 20L << 20);
            final ServerConfig config = ServerHarness.config(dir).toBuilder().store(store(data)).conclude();
            final Random random = new Random(100);
            final List<byte[]> stored = new ArrayList<>();
            try (RingblocksServer server = RingblocksServer.start(config); RawClient c = new RawClient(server.port()))
            {
                final long bytes = fill(c, random, stored, 5);
                assertTrue(bytes >= 40_000_000L, "stored only " + bytes + " bytes");

                // Another program takes the last byte: DELETEs still commit (the index has its reserve), PUTs
                // get NO_SPACE, GETs work.
                fs.fill(lastByte);
                Thread.sleep(300); // the committer looks at the filesystem every 100 ms
                // Pipelined, so that they commit together: one transaction copying most of the index's pages,
                // more than LMDB's free pages hold, so its file must grow into the reserve.
                final int deletes = stored.size() / 2;
                for (int k = 0; k < deletes; k++)
                {
                    c.send(DELETE, 0, 200 + k, sha256(stored.get(2 * k)));
                }
                for (int k = 0; k < deletes; k++)
                {
                    assertEquals(OK, c.read().status(), "DELETE works on a full disk");
                }
                for (int k = deletes - 1; k >= 0; k--)
                {
                    stored.remove(2 * k);
                }
                Thread.sleep(100);
                assertEquals(NO_SPACE, c.call(PUT, 0, 300, random(random, 4096)).status());
                assertAllReadable(c, stored);
                assertEquals(0, stat(c, "status_internal_error"), "never INTERNAL_ERROR for a full disk");
                assertTrue(stat(c, "store_grow_failures") >= 1, "failed growth is counted");
                assertTrue(server.errors() <= 2, "growth failures are logged rarely: " + server.errors() + " lines");

                // The other program frees its space: after the back-off, PUTs are stored again.
                Files.delete(filler);
                Files.delete(lastByte);
                final long deadline = System.nanoTime() + 15_000_000_000L;
                int status;
                do
                {
                    Thread.sleep(100);
                    final byte[] block = random(random, 1_000_000);
                    status = c.call(PUT, 0, 400, block).status();
                    if (status == OK)
                    {
                        stored.add(block);
                    }
                    else
                    {
                        assertEquals(NO_SPACE, status);
                    }
                }
                while (status != OK && System.nanoTime() < deadline);
                assertEquals(OK, status, "freed space is used again");
                fill(c, random, stored, 3);
                assertEquals(0, stat(c, "status_internal_error"));
            }

            // Restart on a full disk, with the trailing partial chunk an interrupted grow of the old code left.
            final Path blocks = data.resolve("blocks.dat");
            final long size = Files.size(blocks);
            try (RandomAccessFile file = new RandomAccessFile(blocks.toFile(), "rw"))
            {
                file.setLength(size + (300 << 10));
            }
            fs.fill(lastByte);
            try (RingblocksServer server = RingblocksServer.start(config); RawClient c = new RawClient(server.port()))
            {
                assertEquals(stored.size(), server.store().recoveredBlocks());
                assertAllReadable(c, stored);
                assertEquals(NO_SPACE, c.call(PUT, 0, 500, random(random, 4096)).status());
                assertEquals(OK, c.call(DELETE, 0, 501, sha256(stored.remove(0))).status());
                assertEquals(0, stat(c, "status_internal_error"));
            }
            assertEquals(size, Files.size(blocks), "the unused partial chunk was cut off");
        }
    }

    /**
     * The one case a restart on a full disk must refuse: the data file ends inside a chunk that indexed blocks live
     * in (it cannot be cut, and it cannot grow). One line naming the file and what to do, no stack of causes.
     */
    @Test
    void shouldRefuseToStartWithOneLineWhenIndexedBlocksLieInAPartialChunkThatCannotGrow() throws Exception
    {
        try (SmallFilesystem fs = SmallFilesystem.tmpfs(dir, 16))
        {
            final ServerConfig config = ServerHarness.config(dir).toBuilder().store(store(fs.path().resolve("data")))
                .conclude();
            try (RingblocksServer server = RingblocksServer.start(config); RawClient c = new RawClient(server.port()))
            {
                fill(c, new Random(16), new ArrayList<>(), 5); // every chunk of the file holds blocks
            }
            final Path blocks = fs.path().resolve("data").resolve("blocks.dat");
            try (RandomAccessFile file = new RandomAccessFile(blocks.toFile(), "rw"))
            {
                file.setLength(file.length() - (512 << 10));
            }
            fs.fill(fs.path().resolve("another-program"));
            final IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> RingblocksServer.start(config).close());
            assertTrue(e.getMessage().contains(blocks.toString()) && !e.getMessage().contains("\n"),
                "one line naming the file: " + e.getMessage());
        }
    }
}
