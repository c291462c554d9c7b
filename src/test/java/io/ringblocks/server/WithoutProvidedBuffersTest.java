package io.ringblocks.server;

import java.io.ByteArrayOutputStream;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Random;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import io.ringblocks.wire.Opcode;
import io.ringblocks.wire.Protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A worker on a kernel without provided-buffer rings (before 5.19, simulated): every connection owns its receive
 * buffer from accept on, receives are single-shot, and small, large and pipelined requests are served as anywhere.
 */
@Timeout(60)
class WithoutProvidedBuffersTest
{
    @TempDir
    Path dir;

    @BeforeEach
    void refuseProvidedBuffers()
    {
        Inbox.withoutProvidedBuffers = true;
    }

    @AfterEach
    void restore()
    {
        Inbox.withoutProvidedBuffers = false;
    }

    @Test
    void shouldServeSmallLargeAndPipelinedRequestsWithReceiveBuffersOfTheirOwn() throws Exception
    {
        final ServerConfig config = ServerHarness.config(dir).toBuilder().workers(1).maxInFlight(8).conclude();
        final Random random = new Random(11);
        try (RingblocksServer server = RingblocksServer.start(config);
            RawClient client = new RawClient(server.port()))
        {
            final byte[] small = new byte[3_000];
            final byte[] large = new byte[300_000];
            random.nextBytes(small);
            random.nextBytes(large);
            assertArrayEquals(sha256(small), client.call(Opcode.PUT, 0, 1, small).body());
            assertArrayEquals(sha256(large), client.call(Opcode.PUT, 0, 2, large).body());
            assertArrayEquals(large, client.call(Opcode.GET, 0, 3, sha256(large)).body());
            final ByteArrayOutputStream stream = new ByteArrayOutputStream();
            final int requests = 200;
            for (int id = 0; id < requests; id++)
            {
                stream.write(id % 2 == 0 ? RawClient.frame(Protocol.VERSION, Opcode.GET, 0, id, sha256(small)) :
                    RawClient.frame(Protocol.VERSION, Opcode.PING, 0, id, new byte[0]));
            }
            client.send(stream.toByteArray());
            final RawClient.Response[] answers = client.readAnswers(requests);
            for (int id = 0; id < requests; id++)
            {
                assertEquals(0, answers[id].status(), "status of " + id);
                if (id % 2 == 0)
                {
                    assertArrayEquals(small, answers[id].body(), "body of " + id);
                }
            }
            final String stats = server.statsText();
            assertTrue(stats.contains("\nrecv_provided_buffer_workers 0\n"), stats);
            assertTrue(stats.contains("\nrecv_multishot_workers 0\n"), stats);
            assertTrue(stats.contains("\nrecv_buffers_held 1\n"), "the connection owns its buffer: " + stats);
        }
    }

    private static byte[] sha256(final byte[] bytes) throws Exception
    {
        return MessageDigest.getInstance("SHA-256").digest(bytes);
    }
}
