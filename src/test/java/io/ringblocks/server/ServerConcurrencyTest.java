package io.ringblocks.server;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static io.ringblocks.server.ServerHarness.stat;
import static io.ringblocks.server.ServerOperationsTest.DELETE;
import static io.ringblocks.server.ServerOperationsTest.GET;
import static io.ringblocks.server.ServerOperationsTest.NOT_FOUND;
import static io.ringblocks.server.ServerOperationsTest.OK;
import static io.ringblocks.server.ServerOperationsTest.PING;
import static io.ringblocks.server.ServerOperationsTest.PUT;
import static io.ringblocks.server.ServerOperationsTest.random;
import static io.ringblocks.server.ServerOperationsTest.sha256;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ServerConcurrencyTest
{
    private static final int NO_SPACE = 5;
    private static final int BUSY = 9;

    @TempDir
    Path dir;

    @Test
    void shouldServeTwoHundredConcurrentConnectionsMixingPutGetDelete() throws Exception
    {
        try (RingblocksServer server = RingblocksServer.start(ServerHarness.config(dir)))
        {
            final ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();
            final AtomicLong verified = new AtomicLong();
            try
            {
                final List<Future<?>> futures = new ArrayList<>();
                for (int t = 0; t < 200; t++)
                {
                    final long seed = t;
                    futures.add(pool.submit(() ->
                    {
                        final Random random = new Random(seed);
                        final List<byte[]> mine = new ArrayList<>();
                        try (RawClient c = new RawClient(server.port()))
                        {
                            for (int i = 0; i < 60; i++)
                            {
                                final int dice = random.nextInt(10);
                                if (dice < 5 || mine.isEmpty())
                                {
                                    final byte[] block = random(random, 1 + random.nextInt(i % 7 == 0 ? 300_000 : 9000));
                                    final RawClient.Response r = c.call(PUT, 0, i, block);
                                    assertEquals(OK, r.status());
                                    assertArrayEquals(sha256(block), r.body());
                                    mine.add(block);
                                }
                                else if (dice < 9)
                                {
                                    final byte[] block = mine.get(random.nextInt(mine.size()));
                                    final RawClient.Response r = c.call(GET, 0, i, sha256(block));
                                    assertEquals(OK, r.status());
                                    assertArrayEquals(block, r.body());
                                    verified.incrementAndGet();
                                }
                                else
                                {
                                    final byte[] block = mine.remove(random.nextInt(mine.size()));
                                    // Another connection may hold the same content only by chance (random bytes).
                                    assertEquals(OK, c.call(DELETE, 0, i, sha256(block)).status());
                                    assertEquals(NOT_FOUND, c.call(GET, 0, i, sha256(block)).status());
                                }
                            }
                        }
                        return null;
                    }));
                }
                for (final Future<?> f : futures)
                {
                    f.get(120, TimeUnit.SECONDS);
                }
            }
            finally
            {
                pool.shutdownNow();
            }
            assertTrue(verified.get() > 1000);
            assertEquals(0, server.errors());
        }
    }

    /**
     * GETs of blocks racing DELETEs and re-PUTs of other content that would reuse the freed space: a GET that
     * answers OK must always carry exactly the bytes whose hash it asked for.
     */
    @Test
    void shouldNeverReturnAnotherBlocksBytesWhenGetRacesDelete() throws Exception
    {
        try (RingblocksServer server = RingblocksServer.start(ServerHarness.config(dir)))
        {
            final Random seedRandom = new Random(9);
            final byte[][] blocks = new byte[64][];
            for (int i = 0; i < blocks.length; i++)
            {
                blocks[i] = random(seedRandom, 4096 * (1 + seedRandom.nextInt(4)));
            }
            final AtomicBoolean stop = new AtomicBoolean();
            final AtomicLong okGets = new AtomicLong();
            final ExecutorService pool = Executors.newFixedThreadPool(6);
            try
            {
                final List<Future<?>> futures = new ArrayList<>();
                for (int t = 0; t < 2; t++)
                {
                    final long seed = t;
                    futures.add(pool.submit(() ->
                    {
                        final Random random = new Random(seed);
                        try (RawClient c = new RawClient(server.port()))
                        {
                            long id = 0;
                            while (!stop.get())
                            {
                                final byte[] block = blocks[random.nextInt(blocks.length)];
                                c.call(PUT, 0, id++, block);
                                c.call(DELETE, 0, id++, sha256(block));
                                // Fresh content of the same size class lands in the space just freed.
                                final byte[] filler = random(random, block.length);
                                c.call(PUT, 0, id++, filler);
                                c.call(DELETE, 0, id++, sha256(filler));
                            }
                        }
                        return null;
                    }));
                }
                for (int t = 0; t < 4; t++)
                {
                    final long seed = 100 + t;
                    futures.add(pool.submit(() ->
                    {
                        final Random random = new Random(seed);
                        try (RawClient c = new RawClient(server.port()))
                        {
                            long id = 0;
                            while (!stop.get())
                            {
                                // Pipeline a burst of GETs so reads are in flight while deletes commit.
                                final int burst = 16;
                                final byte[][] asked = new byte[burst][];
                                for (int i = 0; i < burst; i++)
                                {
                                    asked[i] = blocks[random.nextInt(blocks.length)];
                                    c.send(GET, 0, id + i, sha256(asked[i]));
                                }
                                for (int i = 0; i < burst; i++)
                                {
                                    final RawClient.Response r = c.read();
                                    final byte[] wanted = asked[(int)(r.requestId() - id)];
                                    if (r.status() == OK)
                                    {
                                        assertArrayEquals(wanted, r.body(), "GET returned another block's bytes");
                                        okGets.incrementAndGet();
                                    }
                                    else
                                    {
                                        assertEquals(NOT_FOUND, r.status());
                                    }
                                }
                                id += burst;
                            }
                        }
                        return null;
                    }));
                }
                // At least 3 s, and on until enough GETs found their block to test anything (a slow machine).
                final long minimum = System.nanoTime() + 3_000_000_000L;
                final long most = System.nanoTime() + 30_000_000_000L;
                while (System.nanoTime() < minimum || okGets.get() <= 100 && System.nanoTime() < most)
                {
                    Thread.sleep(20);
                }
                stop.set(true);
                for (final Future<?> f : futures)
                {
                    f.get(30, TimeUnit.SECONDS);
                }
            }
            finally
            {
                pool.shutdownNow();
            }
            assertTrue(okGets.get() > 100, "too few GETs found their block to test anything: " + okGets.get());
            assertEquals(0, server.errors());
        }
    }

    @Test
    void shouldStopReadingFromAClientThatNeverReadsAndStayBounded() throws Exception
    {
        try (RingblocksServer server = RingblocksServer.start(ServerHarness.config(dir));
            RawClient greedy = new RawClient(server.port()); RawClient polite = new RawClient(server.port()))
        {
            final byte[] block = random(new Random(2), 512 * 1024);
            assertEquals(OK, polite.call(PUT, 0, 1, block).status());
            final byte[] one = RawClient.frame(1, GET, 0, 7, sha256(block));
            final byte[] get = new byte[one.length * 1000];
            for (int i = 0; i < 1000; i++)
            {
                System.arraycopy(one, 0, get, i * one.length, one.length);
            }
            // Ask for 2 million 512 KiB responses (~48 MB of requests) without reading any: far more than socket
            // buffers hold, so the writer must block once the server stops reading.
            final Thread writer = new Thread(() ->
            {
                try
                {
                    for (int i = 0; i < 2000; i++)
                    {
                        greedy.send(get);
                    }
                }
                catch (final java.io.IOException ignored)
                {
                    // The socket is closed at the end of the test.
                }
            });
            writer.setDaemon(true);
            writer.start();
            Thread.sleep(1_500);
            assertTrue(writer.isAlive(), "the server kept reading from a client that never reads");
            final long inFlight = stat(server, "in_flight");
            assertTrue(inFlight <= server.config().maxInFlight() * 2L, "in flight: " + inFlight);
            assertEquals(OK, polite.call(PING, 0, 2, new byte[0]).status(), "other connections still served");
            assertArrayEquals(block, polite.call(GET, 0, 3, sha256(block)).body());
        }
    }

    /**
     * Clients that never read pin the worker's I/O arena, so pipelined PUTs on other connections starve for
     * buffers; once the greedy clients read, every starved PUT must still be answered and the worker must not spin.
     */
    @Test
    void shouldAnswerEveryRequestOfConnectionsThatStarvedForBuffers() throws Exception
    {
        final ServerConfig config = ServerHarness.config(dir).toBuilder().workers(1).conclude();
        try (RingblocksServer server = RingblocksServer.start(config))
        {
            final byte[] big = random(new Random(31), 1 << 20);
            try (RawClient setup = new RawClient(server.port()))
            {
                assertEquals(OK, setup.call(PUT, 0, 1, big).status());
            }
            final List<RawClient> greedy = new ArrayList<>();
            final List<RawClient> putters = new ArrayList<>();
            try
            {
                openGreedyClients(server, big, greedy);
                final Random random = new Random(32);
                final List<List<byte[]>> sent = new ArrayList<>();
                for (int p = 0; p < 4; p++)
                {
                    final RawClient c = new RawClient(server.port());
                    final List<byte[]> blocks = new ArrayList<>();
                    for (int i = 0; i < 40; i++)
                    {
                        final byte[] block = random(random, 1 + random.nextInt(200_000));
                        blocks.add(block);
                        c.send(PUT, 0, i, block);
                    }
                    putters.add(c);
                    sent.add(blocks);
                }
                final long ranOut = System.nanoTime() + 20_000_000_000L;
                while (stat(server, "starvations") + stat(server, "stalls") == 0 && System.nanoTime() < ranOut)
                {
                    Thread.sleep(5);
                }
                assertTrue(stat(server, "starvations") + stat(server, "stalls") > 0,
                    "the arena never ran out: the test did not test starvation");
                for (final RawClient c : greedy)
                {
                    for (int i = 0; i < 4; i++)
                    {
                        assertArrayEquals(big, c.read().body());
                    }
                }
                for (int p = 0; p < putters.size(); p++)
                {
                    final boolean[] seen = new boolean[40];
                    for (int i = 0; i < 40; i++)
                    {
                        final RawClient.Response r = putters.get(p).read();
                        assertEquals(OK, r.status());
                        assertArrayEquals(sha256(sent.get(p).get((int)r.requestId())), r.body());
                        assertTrue(!seen[(int)r.requestId()], "answered twice: " + r.requestId());
                        seen[(int)r.requestId()] = true;
                    }
                }
                assertEquals(0, server.errors());
            }
            finally
            {
                for (final RawClient c : greedy)
                {
                    c.close();
                }
                for (final RawClient c : putters)
                {
                    c.close();
                }
            }
        }
    }

    /**
     * Clients that stop reading pin the worker's arena until the send timeout: then they are closed, and a request
     * that starved for buffers on the same worker is served instead of waiting for them forever.
     */
    @Test
    void shouldCloseClientsThatStopReadingOnceTheirResponsesStallForTheSendTimeout() throws Exception
    {
        final ServerConfig config = ServerHarness.config(dir).toBuilder().workers(1).sendTimeoutMillis(400)
            .conclude();
        try (RingblocksServer server = RingblocksServer.start(config))
        {
            final byte[] big = random(new Random(41), 1 << 20);
            try (RawClient setup = new RawClient(server.port()))
            {
                assertEquals(OK, setup.call(PUT, 0, 1, big).status());
            }
            final List<RawClient> greedy = new ArrayList<>();
            try
            {
                openGreedyClients(server, big, greedy);
                // Only once the greedy GETs have used up the arena (later ones wait for space: stalls) does the polite
                // client test anything; sent earlier, it could be served before the worker read them (flaky on a
                // busy machine). Sent well within the 400 ms send timeout that frees the greedy clients' buffers.
                final long filled = System.nanoTime() + 5_000_000_000L;
                while (stat(server, "stalls") == 0 && System.nanoTime() < filled)
                {
                    Thread.sleep(1); // not a spin: the worker it waits for shares the two cores
                }
                // The greedy GETs found the arena used up (they wait for space) before the polite client came.
                assertTrue(stat(server, "stalls") > 0, "the arena never ran out: nothing was tested");
                try (RawClient polite = new RawClient(server.port()))
                {
                    final byte[] block = random(new Random(42), 900_000);
                    final long start = System.nanoTime();
                    final RawClient.Response put = polite.call(PUT, 0, 7, block);
                    assertEquals(OK, put.status());
                    assertArrayEquals(sha256(block), put.body());
                    assertArrayEquals(big, polite.call(GET, 0, 8, sha256(big)).body());
                    assertTrue(System.nanoTime() - start < 15_000_000_000L, "the polite client waited too long");
                }
                // Usually the polite client was only served because the timeouts freed the arena; on a busy machine
                // the kernel's send buffers may have taken some greedy responses whole first. Either way the
                // non-readers must be timed out (they never read) within a few send timeouts.
                final long timedOut = System.nanoTime() + 10_000_000_000L;
                while (stat(server, "send_timeouts") == 0 && System.nanoTime() < timedOut)
                {
                    Thread.sleep(20);
                }
                assertTrue(stat(server, "send_timeouts") > 0, "no connection was timed out");
                int closed = 0;
                for (final RawClient c : greedy)
                {
                    try
                    {
                        for (int i = 0; i < 4; i++)
                        {
                            assertArrayEquals(big, c.read().body());
                        }
                    }
                    catch (final java.io.IOException e)
                    {
                        closed++; // cut mid-stream by the server: what a timed-out client sees
                    }
                }
                assertTrue(closed > 0, "no greedy client saw its connection closed");
                assertEquals(0, server.errors());
            }
            finally
            {
                for (final RawClient c : greedy)
                {
                    c.close();
                }
            }
        }
    }

    /** 24 connections that each ask for the 1 MiB {@code big} block four times and read nothing (yet). */
    private static void openGreedyClients(final RingblocksServer server, final byte[] big, final List<RawClient> into)
        throws Exception
    {
        for (int g = 0; g < 24; g++)
        {
            // A small receive window: the kernel cannot take a whole 1 MiB response off the server's hands, so
            // each GET keeps its arena buffer (with default autotuned buffers several MiB could drain unread).
            final RawClient c = new RawClient(server.port(), 16 << 10);
            into.add(c);
            for (int i = 0; i < 4; i++)
            {
                c.send(GET, 0, i, sha256(big));
            }
        }
    }

    @Test
    void shouldRefuseConnectionsOverTheLimitCleanly() throws Exception
    {
        final ServerConfig config = ServerHarness.config(dir).toBuilder().maxConnections(8).conclude();
        try (RingblocksServer server = RingblocksServer.start(config))
        {
            final List<RawClient> clients = new ArrayList<>();
            try
            {
                for (int i = 0; i < 8; i++)
                {
                    final RawClient c = new RawClient(server.port());
                    assertEquals(OK, c.call(PING, 0, i, new byte[0]).status());
                    clients.add(c);
                }
                try (RawClient extra = new RawClient(server.port()))
                {
                    final RawClient.Response r = extra.read();
                    assertEquals(BUSY, r.status());
                    assertTrue(extra.closedByServer());
                }
                clients.remove(0).close();
                ServerHarness.awaitStat(server, "connections", 7);
                try (RawClient again = new RawClient(server.port()))
                {
                    assertEquals(OK, again.call(PING, 0, 1, new byte[0]).status(), "a slot freed up");
                }
            }
            finally
            {
                for (final RawClient c : clients)
                {
                    c.close();
                }
            }
        }
    }

    @Test
    void shouldAnswerNoSpaceWhenTheStoreIsFullAndKeepServing() throws Exception
    {
        final ServerConfig config = ServerHarness.config(dir).toBuilder().store(ServerHarness.store(dir, 4L << 20))
            .conclude();
        try (RingblocksServer server = RingblocksServer.start(config); RawClient c = new RawClient(server.port()))
        {
            final Random random = new Random(4);
            final List<byte[]> stored = new ArrayList<>();
            int noSpace = 0;
            for (int i = 0; i < 12; i++)
            {
                final byte[] block = random(random, 700_000);
                final RawClient.Response r = c.call(PUT, 0, i, block);
                if (r.status() == OK)
                {
                    stored.add(block);
                }
                else
                {
                    assertEquals(NO_SPACE, r.status());
                    noSpace++;
                }
            }
            assertEquals(4, stored.size());
            assertEquals(8, noSpace);
            for (final byte[] block : stored)
            {
                assertArrayEquals(block, c.call(GET, 0, 100, sha256(block)).body(), "full store still serves");
            }
            assertEquals(OK, c.call(PUT, 0, 101, stored.get(0)).status(), "duplicate PUT on a full store is OK");
        }
    }

    @Test
    void shouldFinishInFlightPutsOnShutdownAndServeThemAfterRestart() throws Exception
    {
        final Map<String, byte[]> acknowledged = new ConcurrentHashMap<>();
        final ServerConfig config = ServerHarness.config(dir);
        final RingblocksServer server = RingblocksServer.start(config);
        final ExecutorService pool = Executors.newFixedThreadPool(8);
        final List<Future<?>> futures = new ArrayList<>();
        for (int t = 0; t < 8; t++)
        {
            final long seed = t;
            futures.add(pool.submit(() ->
            {
                final Random random = new Random(seed);
                try (RawClient c = new RawClient(server.port()))
                {
                    for (long id = 0; ; id++)
                    {
                        final byte[] block = random(random, 1 + random.nextInt(100_000));
                        final RawClient.Response r = c.call(PUT, 0, id, block);
                        if (r.status() == OK)
                        {
                            acknowledged.put(java.util.HexFormat.of().formatHex(r.body()), block);
                        }
                    }
                }
                catch (final java.io.IOException expected)
                {
                    // The server closed the connection while shutting down.
                }
                return null;
            }));
        }
        // Writers under way (PUTs acknowledged) before the stop, however slow the disk.
        final long underWay = System.nanoTime() + 30_000_000_000L;
        while (acknowledged.size() <= 20 && System.nanoTime() < underWay)
        {
            Thread.sleep(10);
        }
        final long start = System.nanoTime();
        server.close();
        assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(15), "shutdown took too long");
        for (final Future<?> f : futures)
        {
            f.get(30, TimeUnit.SECONDS);
        }
        pool.shutdownNow();
        assertTrue(acknowledged.size() > 20);
        try (RingblocksServer again = RingblocksServer.start(config); RawClient c = new RawClient(again.port()))
        {
            long id = 0;
            for (final Map.Entry<String, byte[]> e : acknowledged.entrySet())
            {
                final RawClient.Response r = c.call(GET, 0, id++, java.util.HexFormat.of().parseHex(e.getKey()));
                assertEquals(OK, r.status(), "acknowledged PUT lost across shutdown: " + e.getKey());
                assertArrayEquals(e.getValue(), r.body());
            }
        }
    }
}
