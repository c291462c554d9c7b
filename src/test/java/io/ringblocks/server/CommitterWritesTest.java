package io.ringblocks.server;

import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import io.ringblocks.storage.StoreConfig;
import io.ringblocks.wire.Opcode;

import static io.ringblocks.server.ServerHarness.stat;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * In sync mode the workers hand blocks under 64 KiB to the committer unwritten (STATS
 * {@code committer_block_writes}); larger ones, duplicates and relaxed mode are written by the workers. Whoever
 * writes them, every block reads back byte for byte, also after a restart.
 */
@Timeout(60)
class CommitterWritesTest
{
    @TempDir
    Path dir;

    @Test
    void shouldHaveTheCommitterWriteSmallBlocksInSyncMode() throws Exception
    {
        final byte[][] blocks = blocks(new int[]{1, 4096, 4097, 65_535, 65_536, 300_000}, 7);
        // Padded to 4 KiB pages: 1, 4096 and 4097 bytes are under 64 KiB; 65,535 bytes pad to 64 KiB.
        final byte[][] hashes = store(ServerHarness.config(dir), blocks, 3);
        // A restart reads them from the index the log was checkpointed into.
        assertReadBack(ServerHarness.config(dir), blocks, hashes);
    }

    @Test
    void shouldLetTheWorkersWriteInRelaxedMode() throws Exception
    {
        final StoreConfig relaxed = ServerHarness.store(dir, 256L << 20).toBuilder().durable(false).conclude();
        final ServerConfig config = ServerHarness.config(dir).toBuilder().store(relaxed).conclude();
        final byte[][] blocks = blocks(new int[]{1, 4096, 70_000}, 11);
        store(config, blocks, 0);
    }

    /** PUTs every block twice (the second a duplicate), checks the committer's count, reads all back. */
    private static byte[][] store(final ServerConfig config, final byte[][] blocks, final long expectedWrites)
        throws Exception
    {
        final byte[][] hashes = new byte[blocks.length][];
        try (RingblocksServer server = RingblocksServer.start(config);
            RawClient client = new RawClient(server.port()))
        {
            final long before = stat(server, "committer_block_writes");
            for (int round = 0; round < 2; round++)
            {
                for (int i = 0; i < blocks.length; i++)
                {
                    final RawClient.Response r = client.call(Opcode.PUT, 0, round * 100 + i, blocks[i]);
                    assertEquals(0, r.status(), "PUT " + i);
                    hashes[i] = MessageDigest.getInstance("SHA-256").digest(blocks[i]);
                    assertArrayEquals(hashes[i], r.body());
                }
            }
            assertEquals(expectedWrites, stat(server, "committer_block_writes") - before,
                "blocks the committer wrote (each new small block once, no duplicate)");
            for (int i = 0; i < blocks.length; i++)
            {
                final RawClient.Response r = client.call(Opcode.GET, 0, 500 + i, hashes[i]);
                assertEquals(0, r.status(), "GET " + i);
                assertArrayEquals(blocks[i], r.body(), "block " + i);
            }
        }
        return hashes;
    }

    private static void assertReadBack(final ServerConfig config, final byte[][] blocks, final byte[][] hashes)
        throws Exception
    {
        try (RingblocksServer server = RingblocksServer.start(config);
            RawClient client = new RawClient(server.port()))
        {
            for (int i = 0; i < blocks.length; i++)
            {
                final RawClient.Response r = client.call(Opcode.GET, 0, 900 + i, hashes[i]);
                assertEquals(0, r.status(), "GET after restart " + i);
                assertArrayEquals(blocks[i], r.body(), "block " + i + " after restart");
            }
        }
    }

    private static byte[][] blocks(final int[] sizes, final long seed)
    {
        final Random random = new Random(seed);
        final byte[][] blocks = new byte[sizes.length][];
        for (int i = 0; i < sizes.length; i++)
        {
            blocks[i] = new byte[sizes[i]];
            random.nextBytes(blocks[i]);
        }
        return blocks;
    }
}
