package io.ringblocks.server;

import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import io.ringblocks.wire.Opcode;

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
}
