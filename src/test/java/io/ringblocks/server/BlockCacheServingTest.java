package io.ringblocks.server;

import java.io.ByteArrayOutputStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import io.ringblocks.wire.Opcode;
import io.ringblocks.wire.Protocol;

import static io.ringblocks.server.ServerHarness.stat;
import static io.ringblocks.server.ServerOperationsTest.NOT_FOUND;
import static io.ringblocks.server.ServerOperationsTest.OK;
import static io.ringblocks.server.ServerOperationsTest.sha256;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * GETs answered from the block cache over real sockets: the same bytes as from the file (whole and ranged, also
 * when sends come back short), only for blocks that still exist, and only when the cache is on.
 */
@Timeout(60)
class BlockCacheServingTest
{
    private static final int RANGE = 1;

    @TempDir
    Path dir;

    private static ServerConfig config(final Path dir, final long cache)
    {
        return ServerHarness.config(dir).toBuilder().workers(1).maxInFlight(256).blockCacheSize(cache).conclude();
    }

    @Test
    void shouldAnswerRepeatedGetsFromTheCacheWithTheSameBytes() throws Exception
    {
        final Random random = new Random(7);
        final int[] sizes = {1, 100, 4096, 4097, 16 << 10, (16 << 10) + 1, 40_000};
        try (RingblocksServer server = RingblocksServer.start(config(dir, 1 << 20));
            RawClient client = new RawClient(server.port()))
        {
            final byte[][] blocks = new byte[sizes.length][];
            final byte[][] hashes = new byte[sizes.length][];
            for (int i = 0; i < sizes.length; i++)
            {
                blocks[i] = ServerOperationsTest.random(random, sizes[i]);
                hashes[i] = sha256(blocks[i]);
                assertEquals(OK, client.call(Opcode.PUT, 0, i, blocks[i]).status());
            }
            for (int round = 0; round < 4; round++)
            {
                for (int i = 0; i < sizes.length; i++)
                {
                    final RawClient.Response r = client.call(Opcode.GET, 0, 100 + i, hashes[i]);
                    assertEquals(OK, r.status());
                    assertArrayEquals(blocks[i], r.body(), "round " + round + " block of " + sizes[i]);
                    final int from = sizes[i] / 3;
                    final int length = sizes[i] - from - sizes[i] / 4;
                    final RawClient.Response ranged = client.call(Opcode.GET, RANGE, 200 + i,
                        RawClient.range(hashes[i], from, length));
                    assertEquals(OK, ranged.status());
                    assertArrayEquals(Arrays.copyOfRange(blocks[i], from, from + length), ranged.body());
                }
            }
            final int cacheable = 5; // up to 16 KiB
            assertEquals(cacheable, stat(server, "cache_admissions"), "admitted on the second read");
            // Round 0 reads each block from the file twice (whole, then ranged: admitted); rounds 1..3 hit twice.
            assertEquals(cacheable * 6, stat(server, "cache_hits"));
            assertEquals(cacheable, stat(server, "cache_blocks"));
        }
    }

    @Test
    void shouldNotAnswerADeletedBlockFromTheCache() throws Exception
    {
        final byte[] block = ServerOperationsTest.random(new Random(8), 4096);
        final byte[] hash = sha256(block);
        try (RingblocksServer server = RingblocksServer.start(config(dir, 1 << 20));
            RawClient client = new RawClient(server.port()))
        {
            assertEquals(OK, client.call(Opcode.PUT, 0, 1, block).status());
            for (int i = 0; i < 3; i++)
            {
                assertArrayEquals(block, client.call(Opcode.GET, 0, 2, hash).body());
            }
            assertEquals(1, stat(server, "cache_hits"));
            assertEquals(OK, client.call(Opcode.DELETE, 0, 3, hash).status());
            assertEquals(NOT_FOUND, client.call(Opcode.GET, 0, 4, hash).status(), "the index answers first");
            assertEquals(NOT_FOUND, client.call(Opcode.HEAD, 0, 5, hash).status());
            assertEquals(0, stat(server, "cache_blocks"), "the deleted block's copy was dropped");
            assertEquals(OK, client.call(Opcode.PUT, 0, 6, block).status());
            assertArrayEquals(block, client.call(Opcode.GET, 0, 7, hash).body());
        }
    }

    @Test
    void shouldReadFromTheFileWhenTheCacheIsOff() throws Exception
    {
        final byte[] block = ServerOperationsTest.random(new Random(9), 4096);
        final byte[] hash = sha256(block);
        try (RingblocksServer server = RingblocksServer.start(config(dir, 0));
            RawClient client = new RawClient(server.port()))
        {
            assertEquals(OK, client.call(Opcode.PUT, 0, 1, block).status());
            for (int i = 0; i < 4; i++)
            {
                assertArrayEquals(block, client.call(Opcode.GET, 0, 2, hash).body());
            }
            assertEquals(0, stat(server, "cache_hits"));
            assertEquals(0, stat(server, "cache_blocks"));
        }
    }

    /**
     * Hundreds of pipelined GETs of cached blocks (header and body in two parts, up to 64 parts per send) and PINGs
     * in one write, read only after a pause through a small receive buffer, so sends wait on the reader. (The
     * server's socket buffer can take most of it, so a short completion is not guaranteed here.)
     */
    @Test
    void shouldAnswerPipelinedTwoPartResponsesToASlowReader() throws Exception
    {
        final Random random = new Random(10);
        final byte[][] blocks = new byte[4][];
        final byte[][] hashes = new byte[4][];
        final int requests = 240;
        try (RingblocksServer server = RingblocksServer.start(config(dir, 1 << 20));
            RawClient client = new RawClient(server.port(), 16 << 10))
        {
            for (int i = 0; i < blocks.length; i++)
            {
                blocks[i] = ServerOperationsTest.random(random, (16 << 10) - i * 1000);
                hashes[i] = sha256(blocks[i]);
                assertEquals(OK, client.call(Opcode.PUT, 0, i, blocks[i]).status());
                for (int read = 0; read < 2; read++)
                {
                    assertArrayEquals(blocks[i], client.call(Opcode.GET, 0, i, hashes[i]).body());
                }
            }
            final ByteArrayOutputStream pipeline = new ByteArrayOutputStream();
            for (int id = 0; id < requests; id++)
            {
                pipeline.write(id % 3 == 2 ?
                    RawClient.frame(Protocol.VERSION, Opcode.PING, 0, id, new byte[0]) :
                    RawClient.frame(Protocol.VERSION, Opcode.GET, 0, id, hashes[id % blocks.length]));
            }
            client.send(pipeline.toByteArray());
            Thread.sleep(300); // the (small) socket buffers fill
            for (int id = 0; id < requests; id++)
            {
                final RawClient.Response r = client.read();
                assertEquals(id, r.requestId(), "answers keep request order on a connection");
                assertEquals(OK, r.status());
                if (id % 3 == 2)
                {
                    assertEquals(Opcode.PING, r.opcode());
                }
                else
                {
                    assertArrayEquals(blocks[id % blocks.length], r.body(), "body of " + id);
                }
            }
            assertTrue(stat(server, "cache_hits") >= requests * 2 / 3);
        }
    }

    /**
     * Two workers, each with the block cached (hits skip the index while no commit deleted anything): a DELETE
     * acknowledged on any connection is seen by a GET on every other one, round after round, and a re-PUT is
     * served again.
     */
    @Test
    void shouldSeeADeletionAcknowledgedOnAnyWorkerFromEveryWorkersCache() throws Exception
    {
        final byte[] block = ServerOperationsTest.random(new Random(12), 4096);
        final byte[] hash = sha256(block);
        final ServerConfig config = config(dir, 1 << 20).toBuilder().workers(2).conclude();
        final RawClient[] clients = new RawClient[16]; // all on one worker: one chance in 32768
        try (RingblocksServer server = RingblocksServer.start(config))
        {
            try
            {
                for (int i = 0; i < clients.length; i++)
                {
                    clients[i] = new RawClient(server.port());
                }
                assertEquals(OK, clients[0].call(Opcode.PUT, 0, 1, block).status());
                for (int round = 0; round < 20; round++)
                {
                    for (final RawClient client : clients)
                    {
                        for (int i = 0; i < 3; i++)
                        {
                            assertArrayEquals(block, client.call(Opcode.GET, 0, 2, hash).body(), "round " + round);
                        }
                    }
                    assertEquals(OK, clients[round % clients.length].call(Opcode.DELETE, 0, 3, hash).status());
                    for (final RawClient client : clients)
                    {
                        assertEquals(NOT_FOUND, client.call(Opcode.GET, 0, 4, hash).status(), "round " + round);
                    }
                    assertEquals(OK, clients[(round + 3) % clients.length].call(Opcode.PUT, 0, 5, block).status());
                }
                assertTrue(stat(server, "cache_hits") > 20 * clients.length);
                assertTrue(stat(server, "cache_index_skips") > 20 * clients.length,
                    "between deletions, hits skip the index");
            }
            finally
            {
                for (final RawClient client : clients)
                {
                    if (client != null)
                    {
                        client.close();
                    }
                }
            }
        }
    }

    /** A client that resets its connection with cached GETs queued must not leave their entries pinned. */
    @Test
    void shouldUnpinEntriesOfAConnectionThatBrokeWithResponsesQueued() throws Exception
    {
        final Random random = new Random(11);
        final byte[] first = ServerOperationsTest.random(random, 16 << 10);
        final byte[] second = ServerOperationsTest.random(random, 16 << 10);
        try (RingblocksServer server = RingblocksServer.start(config(dir, 16 << 10)); // room for one such block
            RawClient client = new RawClient(server.port()))
        {
            assertEquals(OK, client.call(Opcode.PUT, 0, 1, first).status());
            assertEquals(OK, client.call(Opcode.PUT, 0, 2, second).status());
            for (int i = 0; i < 2; i++)
            {
                assertArrayEquals(first, client.call(Opcode.GET, 0, 3, sha256(first)).body());
            }
            assertEquals(1, stat(server, "cache_admissions"));
            try (RawClient greedy = new RawClient(server.port(), 4 << 10))
            {
                // More responses than the socket buffers hold (2000 x 16 KiB), never read: some stay queued, pinned.
                final ByteArrayOutputStream pipeline = new ByteArrayOutputStream();
                for (int id = 0; id < 2000; id++)
                {
                    pipeline.write(RawClient.frame(Protocol.VERSION, Opcode.GET, 0, id, sha256(first)));
                }
                greedy.send(pipeline.toByteArray());
                assertTrue(awaitStat(server, "cache_pinned", 1), "responses wait, sent from the pinned entry");
                greedy.socket.setSoLinger(true, 0); // close with a reset
            }
            assertTrue(awaitStat(server, "cache_pinned", 0), "the broken connection's responses were dropped");
            // A full cache lets one in eight offered blocks displace others: sixteen reads are plenty.
            for (int i = 0; i < 16; i++)
            {
                assertArrayEquals(second, client.call(Opcode.GET, 0, 5, sha256(second)).body());
            }
            assertEquals(2, stat(server, "cache_admissions"), "the first block's entry was evicted");
            assertEquals(1, stat(server, "cache_blocks"));
        }
    }

    /** @return true once STATS {@code name} reads {@code value} (at least 1 for 1), false after 10 s. */
    private static boolean awaitStat(final RingblocksServer server, final String name, final long value)
        throws InterruptedException
    {
        final long deadline = System.nanoTime() + 10_000_000_000L;
        while (System.nanoTime() < deadline)
        {
            final long now = stat(server, name);
            if (value == 0 ? now == 0 : now >= value)
            {
                return true;
            }
            Thread.sleep(10);
        }
        return false;
    }
}
