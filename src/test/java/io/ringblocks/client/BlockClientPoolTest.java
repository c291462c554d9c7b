package io.ringblocks.client;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalInt;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(20)
class BlockClientPoolTest
{
    @Test
    void shouldServeSixteenThreadsVerifyingEveryByte() throws Exception
    {
        final int threads = 16;
        final int opsPerThread = 200;
        try (FakeServer server = new FakeServer();
             BlockClientPool pool = BlockClientPool.connect(server.options().poolSize(4).build());
             ExecutorService executor = Executors.newFixedThreadPool(threads))
        {
            assertEquals(4, pool.size());
            assertEquals(4, server.awaitConnections(4));
            final List<Future<Integer>> results = new ArrayList<>();
            for (int t = 0; t < threads; t++)
            {
                final long seed = t;
                results.add(executor.submit(() -> exercise(pool, new SplittableRandom(seed), opsPerThread)));
            }
            int total = 0;
            for (final Future<Integer> result : results)
            {
                total += result.get();
            }
            assertEquals(threads * opsPerThread, total);
            assertEquals(0, pool.inFlight());
            assertEquals(4, server.connectionsAccepted(), "no reconnects");
        }
    }

    /** Mixes blocking and asynchronous operations over the pool, checking each answer against a local model. */
    private static int exercise(final BlockClientPool pool, final SplittableRandom random, final int ops)
    {
        final List<byte[]> mine = new ArrayList<>();
        final List<Hash> hashes = new ArrayList<>();
        int done = 0;
        for (int op = 0; op < ops; op++)
        {
            final int choice = mine.isEmpty() ? 0 : random.nextInt(6);
            switch (choice)
            {
                case 0 ->
                {
                    final byte[] block = new byte[1 + random.nextInt(16 * 1024)];
                    random.nextBytes(block);
                    final Hash hash = random.nextBoolean() ? pool.put(block) : pool.async().put(block).join();
                    assertEquals(Hash.of(block), hash);
                    mine.add(block);
                    hashes.add(hash);
                }
                case 1 ->
                {
                    final int i = random.nextInt(mine.size());
                    assertArrayEquals(mine.get(i), pool.get(hashes.get(i)));
                }
                case 2 ->
                {
                    final int i = random.nextInt(mine.size());
                    assertArrayEquals(mine.get(i), pool.async().get(hashes.get(i)).join());
                }
                case 3 ->
                {
                    final int i = random.nextInt(mine.size());
                    final byte[] block = mine.get(i);
                    final int offset = random.nextInt(block.length);
                    final int length = random.nextInt(block.length - offset + 1);
                    final byte[] range = random.nextBoolean() ?
                        pool.getRange(hashes.get(i), offset, length) :
                        pool.async().getRange(hashes.get(i), offset, length).join();
                    assertArrayEquals(Arrays.copyOfRange(block, offset, length == 0 ? block.length : offset + length),
                        range);
                }
                case 4 ->
                {
                    final int i = random.nextInt(mine.size());
                    assertEquals(OptionalInt.of(mine.get(i).length), random.nextBoolean() ?
                        pool.head(hashes.get(i)) : pool.async().head(hashes.get(i)).join());
                }
                default ->
                {
                    // Blocks are random, so no other thread stores the same content: delete is ours alone.
                    final int i = random.nextInt(mine.size());
                    final Hash hash = hashes.remove(i);
                    mine.remove(i);
                    assertTrue(random.nextBoolean() ? pool.delete(hash) : pool.async().delete(hash).join());
                    assertFalse(pool.delete(hash));
                    assertThrows(NotFoundException.class, () -> pool.get(hash));
                }
            }
            done++;
        }
        return done;
    }

    @Test
    void shouldSpreadPipelinedRequestsOverAllConnections() throws Exception
    {
        try (FakeServer server = new FakeServer();
             BlockClientPool pool = BlockClientPool.connect(server.options().poolSize(3).build()))
        {
            // Held unanswered until all six are issued, so every pick sees the others still in flight however
            // long the test thread stalls; a response delay alone lets early pings complete and skew the spread.
            server.pause();
            final List<CompletableFuture<java.time.Duration>> pings = new ArrayList<>();
            for (int i = 0; i < 6; i++)
            {
                pings.add(pool.async().ping());
            }
            assertEquals(6, pool.inFlight());
            server.resume();
            pings.forEach(CompletableFuture::join);
            // 6 unanswered pings over 3 idle connections: least-in-flight gives each exactly two.
            assertEquals(List.of(2L, 2L, 2L), server.requestsPerConnection());
            assertTrue(pool.stats().containsKey("uptime_ms"));
            assertTrue(pool.async().stats().join().containsKey("blocks"));
            assertTrue(pool.ping().toNanos() >= 0);
            assertEquals(3, server.connectionsAccepted());
            assertEquals(0, pool.inFlight());
        }
    }

    @Test
    void shouldSendNothingToARefusedConnectionWhileAnotherIsUp() throws Exception
    {
        try (FakeServer server = new FakeServer();
             BlockClientPool pool = BlockClientPool.connect(server.options().poolSize(2)
                 .reconnectBackoff(Duration.ofSeconds(10)).build()))
        {
            assertEquals(2, server.awaitConnections(2));
            server.connectionError(StatusCode.BUSY); // the server evicts one connection
            assertThrows(ServerBusyException.class, pool::ping);
            for (int i = 0; i < 6; i++)
            {
                assertTrue(pool.ping().toNanos() >= 0);
            }
            assertEquals(2, server.connectionsAccepted(), "the refused one was not re-established within the backoff");
        }
    }

    @Test
    void shouldSendNothingToADroppedConnectionWhileAnotherIsUp() throws Exception
    {
        try (FakeServer server = new FakeServer();
             BlockClientPool pool = BlockClientPool.connect(server.options().poolSize(2).build()))
        {
            assertEquals(2, server.awaitConnections(2));
            server.dropOnRequest(1);
            assertThrows(ConnectionLostException.class, pool::ping);
            for (int i = 0; i < 6; i++)
            {
                assertTrue(pool.ping().toNanos() >= 0);
            }
            assertEquals(2, server.connectionsAccepted(), "the connection that was up took them all");
            assertEquals(List.of(1L, 6L), server.requestsPerConnection().stream().sorted().toList());

            // Once requests overlap, the dropped one is re-established: the pool does not shrink to one connection.
            server.pause();
            final var first = pool.async().ping();
            final var second = pool.async().ping();
            assertEquals(3, server.awaitConnections(3), "the second request reconnected the dropped connection");
            server.resume();
            assertTrue(first.get().toNanos() >= 0);
            assertTrue(second.get().toNanos() >= 0);
        }
    }

    @Test
    void shouldNeverPickAConnectionThatMayNotReconnect() throws Exception
    {
        try (FakeServer server = new FakeServer();
             BlockClientPool pool = BlockClientPool.connect(server.options().poolSize(2).reconnectAttempts(0).build()))
        {
            assertEquals(2, server.awaitConnections(2));
            server.dropOnRequest(1);
            assertThrows(ConnectionLostException.class, pool::ping);
            server.pause(); // requests overlap: the live connection has one outstanding when the next is picked
            final var first = pool.async().ping();
            final var second = pool.async().ping();
            server.resume();
            assertTrue(first.get().toNanos() >= 0);
            assertTrue(second.get().toNanos() >= 0, "not sent to the connection that can never come back");
            assertEquals(2, server.connectionsAccepted());
        }
    }

    @Test
    void shouldCloseEveryConnectionThroughEitherFace() throws Exception
    {
        final FakeServer server = new FakeServer();
        try
        {
            final BlockClientPool pool = BlockClientPool.connect("127.0.0.1", server.port());
            assertEquals(ClientOptions.DEFAULT_POOL_SIZE, pool.size());
            pool.async().close();
            assertThrows(IllegalStateException.class, pool::ping);
            assertThrows(java.util.concurrent.CompletionException.class, () -> pool.async().ping().join());
            pool.close();
            final int port = server.port();
            server.close();
            assertThrows(ConnectionLostException.class, () -> BlockClientPool.connect("127.0.0.1", port));
        }
        finally
        {
            server.close();
        }
    }
}
