package io.ringblocks.server;

import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.ringblocks.protocol.TestVectors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Replays protocol-spec/vectors.txt against a live server, byte for byte. */
class ServerVectorsTest
{
    @TempDir
    Path dir;

    @Test
    void shouldAnswerEverySpecVectorByteForByte() throws Exception
    {
        final List<TestVectors.Vector> vectors = TestVectors.parse(Path.of("protocol-spec", "vectors.txt"));
        assertTrue(vectors.size() > 20);
        final HexFormat hex = HexFormat.of();
        try (RingblocksServer server = RingblocksServer.start(ServerHarness.config(dir)))
        {
            RawClient client = null;
            try
            {
                for (final TestVectors.Vector v : vectors)
                {
                    if (client == null || v.newConnection())
                    {
                        if (client != null)
                        {
                            client.close();
                        }
                        client = new RawClient(server.port());
                    }
                    client.send(v.send());
                    final RawClient.Response response = client.read();
                    final byte[] got = RawClient.concat(
                        RawClient.frame(1, response.opcode(), response.status(), response.requestId(), response.body()));
                    if (v.expect() != null)
                    {
                        assertArrayEquals(v.expect(), got, () -> v.name() + ": expected " + hex.formatHex(v.expect()) +
                            " got " + hex.formatHex(got));
                    }
                    else
                    {
                        assertEquals(v.expectStatus(), response.status(), v.name());
                    }
                    if (v.thenSendZeros() > 0)
                    {
                        client.send(new byte[v.thenSendZeros()]); // answered before this body was even sent
                    }
                    if (v.expectClose())
                    {
                        assertTrue(client.closedByServer(), v.name() + ": server should close the connection");
                    }
                }
            }
            finally
            {
                if (client != null)
                {
                    client.close();
                }
            }
        }
    }
}
