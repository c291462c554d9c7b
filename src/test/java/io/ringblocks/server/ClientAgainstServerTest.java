package io.ringblocks.server;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.ringblocks.client.AsyncBlockClient;
import io.ringblocks.client.BadRangeException;
import io.ringblocks.client.BlockClient;
import io.ringblocks.client.BlockClientPool;
import io.ringblocks.client.ClientOptions;
import io.ringblocks.client.Hash;
import io.ringblocks.client.HashMismatchException;
import io.ringblocks.client.NotFoundException;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The client library against the real server over loopback: correctness under concurrency, seconds long, every byte
 * verified (speed is measured by rbbench, never asserted here).
 */
class ClientAgainstServerTest
{
    @TempDir
    Path dir;

    @Test
    void shouldServeEveryOperationThroughTheBlockingClient() throws Exception
    {
        try (RingblocksServer server = RingblocksServer.start(ServerHarness.config(dir));
            BlockClient client = BlockClient.connect("127.0.0.1", server.port()))
        {
            final byte[] data = "hello".getBytes(StandardCharsets.US_ASCII);
            final Hash hash = client.put(data);
            assertEquals("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824", hash.toHex());
            assertArrayEquals(data, client.get(hash));
            assertArrayEquals("ell".getBytes(StandardCharsets.US_ASCII), client.getRange(hash, 1, 3));
            assertEquals(OptionalInt.of(5), client.head(hash));
            assertThrows(BadRangeException.class, () -> client.getRange(hash, 5, 1));
            assertThrows(HashMismatchException.class, () -> client.put(new byte[]{1, 2, 3}, hash));
            final Map<String, Long> stats = client.stats();
            assertTrue(stats.get("requests_put") >= 1);
            assertTrue(stats.get("latency_put_count") >= 1, "server-side latency per opcode");
            assertTrue(stats.get("latency_put_p50_us") <= stats.get("latency_put_p99_us"));
            assertTrue(stats.get("latency_put_p99_us") <= stats.get("latency_put_max_us"));
            assertTrue(client.ping().toNanos() > 0);
            assertTrue(client.delete(hash));
            assertFalse(client.delete(hash));
            assertEquals(OptionalInt.empty(), client.head(hash));
            assertThrows(NotFoundException.class, () -> client.get(hash));
        }
    }

    @Test
    void shouldReadBlocksAndRangesLargerThanItsOwnPutLimit() throws Exception
    {
        final byte[] block = new byte[16 * 1024];
        new Random(7).nextBytes(block);
        try (RingblocksServer server = RingblocksServer.start(ServerHarness.config(dir));
            BlockClient writer = BlockClient.connect("127.0.0.1", server.port());
            BlockClient reader = BlockClient.connect(ClientOptions.builder().host("127.0.0.1").port(server.port())
                .maxBlockSize(4096).build()))
        {
            final Hash hash = writer.put(block);
            assertArrayEquals(block, reader.get(hash));
            assertArrayEquals(java.util.Arrays.copyOfRange(block, 8192, 12288), reader.getRange(hash, 8192, 4096));
            assertArrayEquals(java.util.Arrays.copyOfRange(block, 10000, block.length), reader.getRange(hash, 10000, 0));
            assertThrows(IllegalArgumentException.class, () -> reader.put(block), "its own PUT limit still holds");
        }
    }

    @Test
    void shouldVerifyEveryByteWithSixteenThreadsSharingAPool() throws Exception
    {
        try (RingblocksServer server = RingblocksServer.start(ServerHarness.config(dir));
            BlockClientPool pool = BlockClientPool.connect(
                ClientOptions.builder().host("127.0.0.1").port(server.port()).poolSize(4).build()))
        {
            final ExecutorService threads = Executors.newFixedThreadPool(16);
            try
            {
                final List<Future<Integer>> results = new ArrayList<>();
                for (int t = 0; t < 16; t++)
                {
                    final long seed = t;
                    results.add(threads.submit(() ->
                    {
                        final Random random = new Random(seed);
                        final List<byte[]> mine = new ArrayList<>();
                        int checked = 0;
                        for (int i = 0; i < 150; i++)
                        {
                            if (mine.isEmpty() || random.nextInt(3) == 0)
                            {
                                final byte[] block = new byte[1 + random.nextInt(i % 10 == 0 ? 400_000 : 20_000)];
                                random.nextBytes(block);
                                assertEquals(Hash.of(block), pool.put(block));
                                mine.add(block);
                            }
                            else if (random.nextInt(10) == 0)
                            {
                                final byte[] block = mine.remove(random.nextInt(mine.size()));
                                assertTrue(pool.delete(Hash.of(block)));
                            }
                            else
                            {
                                final byte[] block = mine.get(random.nextInt(mine.size()));
                                assertArrayEquals(block, pool.get(Hash.of(block)));
                                checked++;
                            }
                        }
                        return checked;
                    }));
                }
                int checked = 0;
                for (final Future<Integer> f : results)
                {
                    checked += f.get(120, TimeUnit.SECONDS);
                }
                assertTrue(checked > 500);
            }
            finally
            {
                threads.shutdownNow();
            }
            assertEquals(0, server.errors());
        }
    }

    @Test
    void shouldPipelineTwoThousandAsyncRequestsOverOneConnection() throws Exception
    {
        try (RingblocksServer server = RingblocksServer.start(ServerHarness.config(dir));
            AsyncBlockClient client = AsyncBlockClient.connect(ClientOptions.of("127.0.0.1", server.port())))
        {
            final Random random = new Random(5);
            final byte[][] blocks = new byte[1000][];
            final List<CompletableFuture<Hash>> puts = new ArrayList<>();
            for (int i = 0; i < blocks.length; i++)
            {
                blocks[i] = new byte[1 + random.nextInt(8192)];
                random.nextBytes(blocks[i]);
                puts.add(client.put(blocks[i]));
            }
            for (int i = 0; i < blocks.length; i++)
            {
                assertEquals(Hash.of(blocks[i]), puts.get(i).get(60, TimeUnit.SECONDS));
            }
            final List<CompletableFuture<byte[]>> gets = new ArrayList<>();
            for (final byte[] block : blocks)
            {
                gets.add(client.get(Hash.of(block)));
            }
            for (int i = 0; i < blocks.length; i++)
            {
                assertArrayEquals(blocks[i], gets.get(i).get(60, TimeUnit.SECONDS));
            }
        }
    }

    @Test
    void shouldReconnectAfterTheServerRestarts() throws Exception
    {
        final ServerConfig first = ServerHarness.config(dir);
        RingblocksServer server = RingblocksServer.start(first);
        final int port = server.port();
        try (BlockClient client = BlockClient.connect(ClientOptions.builder().host("127.0.0.1").port(port)
            .reconnectAttempts(20).build()))
        {
            final byte[] block = new byte[10_000];
            new Random(8).nextBytes(block);
            final Hash hash = client.put(block);
            server.close();
            server = RingblocksServer.start(first.toBuilder().port(port).conclude());
            // The first call after the restart may see the old connection die; later ones reconnect.
            byte[] back = null;
            for (int attempt = 0; attempt < 5 && back == null; attempt++)
            {
                try
                {
                    back = client.get(hash);
                }
                catch (final io.ringblocks.client.ConnectionLostException e)
                {
                    Thread.sleep(50);
                }
            }
            assertArrayEquals(block, back, "acknowledged block survives the restart and the client reconnects");
        }
        finally
        {
            server.close();
        }
    }
}
