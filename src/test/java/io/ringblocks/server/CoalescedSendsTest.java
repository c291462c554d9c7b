package io.ringblocks.server;

import java.io.ByteArrayOutputStream;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import io.ringblocks.wire.Opcode;
import io.ringblocks.wire.Protocol;

import static io.ringblocks.server.ServerHarness.stat;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Responses a connection has ready in one duty cycle leave together (one SENDMSG): many pipelined requests written
 * at once are answered, each exactly once and right, in fewer sends than responses (STATS {@code sends}).
 */
@Timeout(60)
class CoalescedSendsTest
{
    private static final int REQUESTS = 256;

    @TempDir
    Path dir;

    @Test
    void shouldAnswerPipelinedRequestsInFewerSendsThanResponses() throws Exception
    {
        final ServerConfig config = ServerHarness.config(dir).toBuilder().workers(1).maxInFlight(REQUESTS)
            .conclude();
        final Random random = new Random(31);
        final byte[][] blocks = new byte[8][];
        final byte[][] hashes = new byte[8][];
        try (RingblocksServer server = RingblocksServer.start(config);
            RawClient client = new RawClient(server.port()))
        {
            for (int i = 0; i < blocks.length; i++)
            {
                blocks[i] = new byte[1 + random.nextInt(20_000)];
                random.nextBytes(blocks[i]);
                hashes[i] = MessageDigest.getInstance("SHA-256").digest(blocks[i]);
                assertEquals(0, client.call(Opcode.PUT, 0, 1_000 + i, blocks[i]).status());
            }
            final long sendsBefore = stat(server, "sends");
            // GETs (answered after a file read) and PINGs (answered at once), all in one write.
            final ByteArrayOutputStream pipeline = new ByteArrayOutputStream();
            for (int id = 0; id < REQUESTS; id++)
            {
                pipeline.write(id % 2 == 0 ?
                    RawClient.frame(Protocol.VERSION, Opcode.GET, 0, id, hashes[id / 2 % blocks.length]) :
                    RawClient.frame(Protocol.VERSION, Opcode.PING, 0, id, new byte[0]));
            }
            client.send(pipeline.toByteArray());
            final boolean[] answered = new boolean[REQUESTS];
            for (int i = 0; i < REQUESTS; i++)
            {
                final RawClient.Response response = client.read();
                final int id = (int)response.requestId();
                assertFalse(answered[id], "answered twice: " + id);
                answered[id] = true;
                assertEquals(0, response.status(), "status of " + id);
                if (id % 2 == 0)
                {
                    assertEquals(Opcode.GET, response.opcode());
                    assertArrayEquals(blocks[id / 2 % blocks.length], response.body(), "body of " + id);
                }
                else
                {
                    assertEquals(Opcode.PING, response.opcode());
                }
            }
            final long sends = stat(server, "sends") - sendsBefore;
            assertTrue(sends < REQUESTS / 4, REQUESTS + " responses took " + sends + " sends");
            assertTrue(sends > 0);
            assertEquals(REQUESTS, answeredCount(answered), "every request answered");
        }
    }

    private static int answeredCount(final boolean[] answered)
    {
        int n = 0;
        for (final boolean a : answered)
        {
            n += a ? 1 : 0;
        }
        return n;
    }
}
