package io.ringblocks.server;

import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import io.ringblocks.wire.Flags;
import io.ringblocks.wire.Opcode;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The smallest arena the configuration accepts (2 MiB) still serves: the provided-buffer ring takes at most a quarter
 * of the arena (here none: fewer than 16 buffers would fit), after what the worker cannot start without.
 */
@Timeout(60)
class SmallArenaTest
{
    @TempDir
    Path dir;

    @Test
    void shouldServeWithTheSmallestArenaTheConfigurationAccepts() throws Exception
    {
        final ServerConfig config = ServerHarness.config(dir).toBuilder().workers(1)
            .arenaSize(ServerConfig.MIN_ARENA_SIZE).conclude();
        try (RingblocksServer server = RingblocksServer.start(config);
            RawClient client = new RawClient(server.port()))
        {
            final RawClient.Response answer = client.call(Opcode.PING, 0, 7, new byte[0]);
            assertEquals(0, answer.status());
            assertEquals(7, answer.requestId());
        }
    }

    @Test
    void shouldPutAndGetTheLargestBlockWithTheSmallestArena() throws Exception
    {
        // A GET's buffer is the block's own size (the header leaves from elsewhere), so a 1 MiB block needs a
        // 1 MiB buffer, which a 2 MiB arena has; with the header page in front it needed all 2 MiB, never free.
        final ServerConfig config = ServerHarness.config(dir).toBuilder().workers(1)
            .arenaSize(ServerConfig.MIN_ARENA_SIZE).conclude();
        final byte[] block = new byte[1 << 20];
        new Random(11).nextBytes(block);
        final byte[] hash = MessageDigest.getInstance("SHA-256").digest(block);
        try (RingblocksServer server = RingblocksServer.start(config);
            RawClient client = new RawClient(server.port()))
        {
            final RawClient.Response put = client.call(Opcode.PUT, 0, 1, block);
            assertEquals(0, put.status());
            assertArrayEquals(hash, put.body());
            for (int i = 0; i < 3; i++)
            {
                final RawClient.Response get = client.call(Opcode.GET, 0, 2 + i, hash);
                assertEquals(0, get.status());
                assertArrayEquals(block, get.body());
            }
            final RawClient.Response ranged = client.call(Opcode.GET, Flags.RANGE, 9,
                RawClient.range(hash, 4093, 70_000));
            assertEquals(0, ranged.status());
            assertArrayEquals(Arrays.copyOfRange(block, 4093, 4093 + 70_000), ranged.body());
        }
    }
}
