package io.ringblocks.server;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import io.ringblocks.wire.Opcode;
import io.ringblocks.wire.Protocol;

import static io.ringblocks.server.ServerHarness.stat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * More connections send at once than the worker has provided receive buffers (the smallest arena: 32 of them):
 * those that find none (-ENOBUFS) receive into a buffer of their own, and every request is answered, once and right.
 */
@Timeout(60)
class ProvidedBufferExhaustionTest
{
    private static final int CONNECTIONS = 200;
    /** At least this many rounds; more (up to {@link #MAX_ROUNDS}) while no receive has found the buffers gone. */
    private static final int ROUNDS = 5;
    private static final int MAX_ROUNDS = 50;

    @TempDir
    Path dir;

    @Test
    void shouldAnswerEveryConnectionWhenMoreSendAtOnceThanThereAreProvidedBuffers() throws Exception
    {
        final ServerConfig config = ServerHarness.config(dir).toBuilder().workers(1)
            .arenaSize(ServerConfig.MIN_ARENA_SIZE).maxConnections(CONNECTIONS + 16).conclude();
        final List<RawClient> clients = new ArrayList<>();
        try (RingblocksServer server = RingblocksServer.start(config))
        {
            for (int i = 0; i < CONNECTIONS; i++)
            {
                clients.add(new RawClient(server.port()));
            }
            // A worker that keeps up returns its buffers before they run out: rounds go on until one did not.
            for (int round = 0; round < ROUNDS || round < MAX_ROUNDS &&
                stat(server, "recv_provided_exhausted") == 0 && stat(server, "recv_provided_buffer_workers") > 0;
                round++)
            {
                // Everyone's request is written before anyone's answer is read.
                for (int i = 0; i < CONNECTIONS; i++)
                {
                    clients.get(i).send(RawClient.frame(Protocol.VERSION, Opcode.PING, 0, round * 1000L + i,
                        new byte[0]));
                }
                for (int i = 0; i < CONNECTIONS; i++)
                {
                    final RawClient.Response answer = clients.get(i).read();
                    assertEquals(0, answer.status(), "connection " + i);
                    assertEquals(round * 1000L + i, answer.requestId(), "connection " + i);
                }
            }
            final long exhausted = stat(server, "recv_provided_exhausted");
            final long provided = stat(server, "recv_provided_buffer_workers");
            // Where the kernel has provided-buffer rings, some receives found none and took the fallback.
            assertTrue(provided == 0 || exhausted > 0,
                "no receive found the provided buffers exhausted: the fallback was not tested");
        }
        finally
        {
            for (final RawClient client : clients)
            {
                client.close();
            }
        }
    }
}
