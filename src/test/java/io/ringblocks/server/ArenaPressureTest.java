package io.ringblocks.server;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import io.ringblocks.wire.Opcode;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * With provided-buffer receives the worker admits more connections than its arena has receive buffers for. When more
 * of them than that hold a partial frame at once, the ones that find the arena full keep their bytes (in the provided
 * buffer, or unread in the socket) and wait until memory is free: every one of them is answered, none is closed.
 */
@Timeout(120)
class ArenaPressureTest
{
    @TempDir
    Path dir;

    @Test
    void shouldAnswerEveryAdmittedConnectionThatHoldsAPartialFrame() throws Exception
    {
        final int n = 500;
        final ServerConfig config = ServerHarness.config(dir).toBuilder().workers(1).maxConnections(n + 16)
            .arenaSize(8L << 20).conclude();
        final List<RawClient> clients = new ArrayList<>();
        try (RingblocksServer server = RingblocksServer.start(config))
        {
            final byte[] get = RawClient.frame(1, Opcode.GET, 0, 1, new byte[32]);
            for (int i = 0; i < n; i++)
            {
                final RawClient client = new RawClient(server.port());
                clients.add(client);
                client.send(Arrays.copyOf(get, 20)); // the header and part of the hash: the frame is incomplete
            }
            Thread.sleep(500);
            int answered = 0;
            int lost = 0;
            for (final RawClient client : clients)
            {
                try
                {
                    client.send(Arrays.copyOfRange(get, 20, get.length));
                    final RawClient.Response response = client.read();
                    if (response.requestId() == 1)
                    {
                        answered++;
                    }
                }
                catch (final IOException e)
                {
                    lost++;
                }
            }
            assertEquals(n, answered, lost + " admitted connections were closed without an answer");
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
