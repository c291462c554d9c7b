package io.ringblocks.server;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Random;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every operation and every per-request error path, end to end over loopback with a raw-socket client. */
class ServerOperationsTest
{
    static final int PING = 1;
    static final int PUT = 2;
    static final int GET = 3;
    static final int HEAD = 4;
    static final int DELETE = 5;
    static final int STATS = 6;

    static final int OK = 0;
    static final int NOT_FOUND = 1;
    static final int BAD_REQUEST = 2;
    static final int HASH_MISMATCH = 3;
    static final int BLOCK_TOO_LARGE = 4;
    static final int UNKNOWN_OPCODE = 7;
    static final int BAD_RANGE = 8;
    static final int FRAME_TOO_LARGE = 11;

    @TempDir
    Path dir;

    private RingblocksServer server;

    @BeforeEach
    void start()
    {
        server = RingblocksServer.start(ServerHarness.config(dir));
    }

    @AfterEach
    void stop()
    {
        server.close();
    }

    static byte[] sha256(final byte[] data) throws Exception
    {
        return MessageDigest.getInstance("SHA-256").digest(data);
    }

    static byte[] random(final Random random, final int size)
    {
        final byte[] b = new byte[size];
        random.nextBytes(b);
        return b;
    }

    @Test
    void shouldPutGetHeadRangeAndDeleteBlocksOfEverySize() throws Exception
    {
        final Random random = new Random(1);
        try (RawClient c = new RawClient(server.port()))
        {
            long id = 1;
            for (final int size : new int[]{1, 100, 4095, 4096, 4097, 16384, 65536, 100_000, 524288, 1048576})
            {
                final byte[] block = random(random, size);
                final byte[] hash = sha256(block);
                RawClient.Response r = c.call(PUT, 0, id, block);
                assertEquals(OK, r.status(), "PUT " + size);
                assertEquals(id, r.requestId());
                assertEquals(PUT, r.opcode());
                assertArrayEquals(hash, r.body());
                id++;

                r = c.call(GET, 0, id++, hash);
                assertEquals(OK, r.status());
                assertArrayEquals(block, r.body(), "GET " + size);

                r = c.call(HEAD, 0, id++, hash);
                assertEquals(OK, r.status());
                assertEquals(size, ByteBuffer.wrap(r.body()).order(ByteOrder.LITTLE_ENDIAN).getInt());

                final long from = size / 3;
                final int len = Math.max(1, size / 4);
                if (from + len <= size)
                {
                    r = c.call(GET, 1, id++, RawClient.range(hash, from, len));
                    assertEquals(OK, r.status(), "ranged GET of " + size);
                    assertArrayEquals(Arrays.copyOfRange(block, (int)from, (int)from + len), r.body());
                }
                r = c.call(GET, 1, id++, RawClient.range(hash, size, 1));
                assertEquals(BAD_RANGE, r.status());

                // VERIFY_HASH: right hash accepted (dedup), wrong hash refused.
                r = c.call(PUT, 1, id++, RawClient.concat(hash, block));
                assertEquals(OK, r.status());
                final byte[] wrong = hash.clone();
                wrong[0] ^= 1;
                r = c.call(PUT, 1, id++, RawClient.concat(wrong, block));
                assertEquals(HASH_MISMATCH, r.status());

                r = c.call(DELETE, 0, id++, hash);
                assertEquals(OK, r.status(), "DELETE " + size);
                r = c.call(GET, 0, id++, hash);
                assertEquals(NOT_FOUND, r.status());
                r = c.call(DELETE, 0, id++, hash);
                assertEquals(NOT_FOUND, r.status());
                r = c.call(HEAD, 0, id++, hash);
                assertEquals(NOT_FOUND, r.status());
            }
            assertEquals(OK, c.call(PING, 0, 99, new byte[0]).status());
        }
        assertEquals(0, server.errors());
    }

    @Test
    void shouldReportStatsAsNameValueLines() throws Exception
    {
        try (RawClient c = new RawClient(server.port()))
        {
            c.call(PUT, 0, 1, "stats".getBytes(StandardCharsets.US_ASCII));
            final RawClient.Response r = c.call(STATS, 0, 2, new byte[0]);
            assertEquals(OK, r.status());
            final String text = new String(r.body(), StandardCharsets.UTF_8);
            for (final String line : text.split("\n"))
            {
                assertTrue(line.matches("[a-z0-9_]+ -?\\d+"), "bad stats line: " + line);
            }
            for (final String key : new String[]{"uptime_ms", "connections", "requests_put", "bytes_in_put",
                "in_flight", "committer_batches", "store_used_bytes", "store_blocks_4k", "recovery_ms"})
            {
                assertTrue(text.contains("\n" + key + " ") || text.startsWith(key + " "), "missing " + key);
            }
            assertTrue(text.contains("requests_put 1\n"));
            // Item 10 of issue 8: the committer's bounded queues, their capacities and how often they held it back.
            assertTrue(text.contains("\ncommitter_limbo_capacity " +
                io.ringblocks.storage.StoreConfig.DEFAULT_LIMBO_CAPACITY + "\n"), text);
            assertTrue(text.contains("\ncommitter_ack_backlog_capacity " +
                io.ringblocks.storage.StoreConfig.DEFAULT_ACK_BACKLOG_CAPACITY + "\n"), text);
            assertTrue(text.contains("\ncommitter_backlogged_acks_max_worker 0\n"), text);
            assertTrue(text.contains("\ncommitter_held_back 0\n"), text);
        }
    }

    @Test
    void shouldAnswerPerRequestErrorsAndKeepTheConnection() throws Exception
    {
        try (RawClient c = new RawClient(server.port()))
        {
            assertEquals(BAD_REQUEST, c.call(PUT, 0, 1, new byte[0]).status(), "empty PUT");
            assertEquals(BAD_REQUEST, c.call(GET, 0, 2, new byte[31]).status(), "short hash");
            assertEquals(BAD_REQUEST, c.call(HEAD, 0, 3, new byte[33]).status(), "long hash");
            assertEquals(BAD_REQUEST, c.call(DELETE, 4, 4, new byte[32]).status(), "undefined flag");
            assertEquals(UNKNOWN_OPCODE, c.call(0x42, 0, 5, new byte[0]).status());
            assertEquals(BAD_REQUEST, c.call(PUT, 1, 6, new byte[32]).status(), "VERIFY with no payload");
            // A payload one byte over the block limit still fits the frame limit: answered, body skipped.
            final byte[] tooBig = new byte[(1 << 20) + 1];
            assertEquals(BLOCK_TOO_LARGE, c.call(PUT, 0, 7, tooBig).status());
            final RawClient.Response pong = c.call(PING, 0, 8, new byte[0]);
            assertEquals(OK, pong.status());
            assertEquals(8, pong.requestId());
        }
    }

    @Test
    void shouldRejectOversizedFrameWithoutReadingItAndClose() throws Exception
    {
        try (RawClient c = new RawClient(server.port()); RawClient other = new RawClient(server.port()))
        {
            c.send(new byte[]{(byte)0xff, (byte)0xff, (byte)0xff, (byte)0x7f});
            final RawClient.Response r = c.read();
            assertEquals(FRAME_TOO_LARGE, r.status());
            assertEquals(0, r.opcode());
            assertEquals(0, r.requestId());
            assertTrue(c.closedByServer());
            assertEquals(OK, other.call(PING, 0, 1, new byte[0]).status(), "other connections unaffected");
        }
    }

    @Test
    void shouldSurviveTruncatedFramesRandomBytesAndAbruptDisconnects() throws Exception
    {
        final Random random = new Random(7);
        try (RawClient witness = new RawClient(server.port()))
        {
            for (int i = 0; i < 50; i++)
            {
                try (RawClient c = new RawClient(server.port()))
                {
                    if (i % 3 == 0)
                    {
                        // Truncated: a PUT header announcing 64 KiB, then half of it, then gone.
                        final byte[] frame = RawClient.frame(1, PUT, 0, i, new byte[65536]);
                        c.send(Arrays.copyOf(frame, 30_000));
                    }
                    else
                    {
                        c.send(random(random, 1 + random.nextInt(5000)));
                    }
                }
                assertEquals(OK, witness.call(PING, 0, i, new byte[0]).status());
            }
            // The server is still whole: a full PUT/GET round trip works.
            final byte[] block = random(random, 70_000);
            assertEquals(OK, witness.call(PUT, 0, 1000, block).status());
            assertArrayEquals(block, witness.call(GET, 0, 1001, sha256(block)).body());
        }
        assertEquals(0, server.errors(), "bad input is not a server fault");
    }

    @Test
    void shouldAnswerThousandPipelinedRequestsOnOneConnection() throws Exception
    {
        final Random random = new Random(3);
        try (RawClient c = new RawClient(server.port()))
        {
            final byte[][] blocks = new byte[500][];
            final java.io.ByteArrayOutputStream burst = new java.io.ByteArrayOutputStream();
            for (int i = 0; i < blocks.length; i++)
            {
                blocks[i] = random(random, 1 + random.nextInt(20_000));
                burst.write(RawClient.frame(1, PUT, 0, i, blocks[i]));
            }
            for (int i = 0; i < blocks.length; i++)
            {
                burst.write(RawClient.frame(1, HEAD, 0, 10_000 + i, sha256(blocks[i])));
            }
            // Everything goes out before a single response is read.
            final Thread writer = new Thread(() ->
            {
                try
                {
                    c.send(burst.toByteArray());
                }
                catch (final java.io.IOException e)
                {
                    throw new IllegalStateException(e);
                }
            });
            writer.start();
            final boolean[] seen = new boolean[20_000];
            int heads = 0;
            for (int n = 0; n < 1000; n++)
            {
                final RawClient.Response r = c.read();
                final int id = (int)r.requestId();
                assertTrue(!seen[id], "duplicate response " + id);
                seen[id] = true;
                if (id < 10_000)
                {
                    assertEquals(OK, r.status());
                    assertArrayEquals(sha256(blocks[id]), r.body());
                }
                else
                {
                    // A HEAD may overtake its PUT: pipelined requests are independent.
                    if (r.status() == OK)
                    {
                        heads++;
                        assertEquals(blocks[id - 10_000].length,
                            ByteBuffer.wrap(r.body()).order(ByteOrder.LITTLE_ENDIAN).getInt());
                    }
                    else
                    {
                        assertEquals(NOT_FOUND, r.status());
                    }
                }
            }
            writer.join();
            assertTrue(heads > 0);
            for (int i = 0; i < blocks.length; i++)
            {
                assertArrayEquals(blocks[i], c.call(GET, 0, 50_000 + i, sha256(blocks[i])).body());
            }
        }
    }
}
