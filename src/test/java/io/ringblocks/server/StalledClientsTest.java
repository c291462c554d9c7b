package io.ringblocks.server;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static io.ringblocks.server.ServerHarness.awaitStat;
import static io.ringblocks.server.ServerHarness.stat;
import static io.ringblocks.server.ServerOperationsTest.OK;
import static io.ringblocks.server.ServerOperationsTest.PING;
import static io.ringblocks.server.ServerOperationsTest.PUT;
import static io.ringblocks.server.ServerOperationsTest.random;
import static io.ringblocks.server.ServerOperationsTest.sha256;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Clients that stall mid-frame, trickle bytes or sit idle: bounded memory, request and idle timeouts. */
class StalledClientsTest
{
    private static final int STATS = 6;
    private static final int MIB = 1 << 20;
    private static final int BUSY = 9;

    @TempDir
    Path dir;

    @Test
    void shouldAnswerFreshClientsWhileTwoHundredUploadsStallMidBody() throws Exception
    {
        final ServerConfig config = ServerHarness.config(dir).toBuilder().workers(1).arenaSize(16L * MIB).conclude();
        try (RingblocksServer server = RingblocksServer.start(config))
        {
            final List<RawClient> stalled = new ArrayList<>();
            try
            {
                for (int i = 0; i < 200; i++)
                {
                    stalled.add(stall(server.port(), i));
                }
                awaitStat(server, "connections", 200);
                Thread.sleep(300); // let the worker parse every header
                try (RawClient fresh = new RawClient(server.port()))
                {
                    fresh.socket.setSoTimeout(10_000);
                    final byte[] block = random(new Random(7), 4096);
                    final RawClient.Response put = fresh.call(PUT, 0, 1, block);
                    assertEquals(OK, put.status(), "a complete 4 KiB PUT behind 200 stalled uploads");
                    assertArrayEquals(sha256(block), put.body());
                    final RawClient.Response stats = fresh.call(STATS, 0, 2, new byte[0]);
                    assertEquals(OK, stats.status(), "STATS behind 200 stalled uploads");
                }
                final long limit = config.arenaSize() / 2;
                awaitStat(server, "partial_body_bytes", limit); // 8 bodies of 1 MiB, the other 192 wait unread
                assertEquals(0, server.errors());
            }
            finally
            {
                for (final RawClient c : stalled)
                {
                    c.close();
                }
            }
            awaitStat(server, "partial_body_bytes", 0);
            awaitStat(server, "connections", 0);
        }
    }

    @Test
    void shouldCloseStalledUploadsOnceTheRequestTimeoutPasses() throws Exception
    {
        final ServerConfig config = ServerHarness.config(dir).toBuilder().workers(1).arenaSize(16L * MIB)
            .requestTimeoutMillis(300).idleTimeoutMillis(300_000).conclude();
        try (RingblocksServer server = RingblocksServer.start(config))
        {
            final List<RawClient> stalled = new ArrayList<>();
            try
            {
                for (int i = 0; i < 24; i++)
                {
                    stalled.add(stall(server.port(), i));
                }
                // Three rounds: 8 bodies fit the budget, the others wait unread and get their own full timeout.
                for (final RawClient c : stalled)
                {
                    assertTrue(c.closedByServer(), "a stalled upload was not closed");
                }
                awaitStat(server, "request_timeouts", 24);
                awaitStat(server, "partial_body_bytes", 0);
                try (RawClient fresh = new RawClient(server.port()))
                {
                    final byte[] block = random(new Random(8), MIB);
                    final RawClient.Response put = fresh.call(PUT, 0, 1, block);
                    assertEquals(OK, put.status());
                    assertArrayEquals(sha256(block), put.body());
                }
                assertEquals(0, server.errors());
            }
            finally
            {
                for (final RawClient c : stalled)
                {
                    c.close();
                }
            }
        }
    }

    @Test
    void shouldRefuseALargePutOnceTheQueueForTheBodyBudgetIsFull() throws Exception
    {
        final ServerConfig config = ServerHarness.config(dir).toBuilder().workers(1).arenaSize(16L * MIB).conclude();
        try (RingblocksServer server = RingblocksServer.start(config))
        {
            final List<RawClient> stalled = new ArrayList<>();
            try
            {
                // 8 bodies of 1 MiB fill the budget; 64 more headers wait for it, each keeping a receive buffer.
                for (int i = 0; i < 8 + PartialBodies.MAX_WAITERS; i++)
                {
                    stalled.add(stall(server.port(), i));
                }
                awaitStat(server, "body_budget_waiters", PartialBodies.MAX_WAITERS);
                try (RawClient late = stall(server.port(), 99))
                {
                    late.socket.setSoTimeout(10_000);
                    final RawClient.Response refused = late.read();
                    assertEquals(BUSY, refused.status(), "pushed back, not queued without end");
                    assertEquals(0, refused.opcode(), "at connection level: the connection closes");
                }
                assertEquals(1, stat(server, "body_queue_refusals"));
                assertEquals(PartialBodies.MAX_WAITERS, stat(server, "body_budget_waiters"), "the queue kept its order");
                // With an earlier request outstanding, only the PUT is declined, so that answer is not lost.
                try (RawClient pipelining = new RawClient(server.port()))
                {
                    pipelining.socket.setSoTimeout(10_000);
                    final byte[] ping = RawClient.frame(1, PING, 0, 1, new byte[0]);
                    final ByteBuffer put = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
                    put.putInt(12 + MIB).put((byte)1).put((byte)PUT).putShort((short)0).putLong(2);
                    final byte[] both = new byte[ping.length + 16];
                    System.arraycopy(ping, 0, both, 0, ping.length);
                    System.arraycopy(put.array(), 0, both, ping.length, 16);
                    pipelining.send(both);
                    final RawClient.Response first = pipelining.read();
                    final RawClient.Response second = pipelining.read();
                    final RawClient.Response pong = first.requestId() == 1 ? first : second;
                    final RawClient.Response declined = first.requestId() == 2 ? first : second;
                    assertEquals(OK, pong.status());
                    assertEquals(BUSY, declined.status());
                    assertEquals(PUT, declined.opcode(), "a per-request BUSY echoes its opcode");
                    pipelining.send(new byte[MIB]); // its body is read and dropped; the connection goes on
                    assertEquals(OK, pipelining.call(PING, 0, 3, new byte[0]).status());
                }
                assertEquals(2, stat(server, "body_queue_refusals"));
                try (RawClient fresh = new RawClient(server.port()))
                {
                    assertEquals(OK, fresh.call(PING, 0, 1, new byte[0]).status(), "small requests go on");
                }
                assertEquals(0, server.errors());
            }
            finally
            {
                for (final RawClient c : stalled)
                {
                    c.close();
                }
            }
        }
    }

    @Test
    void shouldNotLetTricklingUploadsKeepTheBodyBudgetWhileOthersWait() throws Exception
    {
        // A sixth of the request timeout is 1 s: under pressure a body holding the budget must arrive within that.
        final ServerConfig config = ServerHarness.config(dir).toBuilder().workers(1).arenaSize(16L * MIB)
            .requestTimeoutMillis(6_000).idleTimeoutMillis(300_000).conclude();
        try (RingblocksServer server = RingblocksServer.start(config))
        {
            final List<RawClient> tricklers = new ArrayList<>();
            try
            {
                // 8 bodies fill the budget, 8 more wait: each sends a body byte every 200 ms, never the whole body.
                for (int i = 0; i < 16; i++)
                {
                    tricklers.add(stall(server.port(), i));
                }
                awaitStat(server, "partial_body_bytes", config.arenaSize() / 2);
                final byte[] block = random(new Random(9), MIB);
                final RawClient fresh = new RawClient(server.port());
                fresh.socket.setSoTimeout(200);
                fresh.send(RawClient.frame(1, PUT, 0, 1, block));
                final long start = System.nanoTime();
                RawClient.Response put = null;
                while (put == null && System.nanoTime() - start < 20_000_000_000L)
                {
                    for (final RawClient t : tricklers)
                    {
                        try
                        {
                            t.send(new byte[]{7});
                        }
                        catch (final IOException e)
                        {
                            // cut by the server: what the deadline is for
                        }
                    }
                    try
                    {
                        put = fresh.read();
                    }
                    catch (final java.net.SocketTimeoutException e)
                    {
                        // not yet: trickle on
                    }
                }
                final long millis = (System.nanoTime() - start) / 1_000_000L;
                fresh.close();
                assertTrue(put != null && put.status() == OK, "no answer to a whole 1 MiB PUT in 20 s");
                // Two rounds of 1 s for the tricklers ahead of it; the full request timeout would be 6 s each.
                assertTrue(millis < 6_000, "a whole PUT waited " + millis + " ms behind trickling uploads");
                assertTrue(stat(server, "request_timeouts") >= 16, "every trickler was cut");
                assertEquals(0, server.errors());
            }
            finally
            {
                for (final RawClient c : tricklers)
                {
                    c.close();
                }
            }
        }
    }

    @Test
    void shouldHoldNoReceiveBufferForFramesArrivingAFewBytesAtATime() throws Exception
    {
        final ServerConfig config = ServerHarness.config(dir).toBuilder().workers(1).arenaSize(16L * MIB).conclude();
        try (RingblocksServer server = RingblocksServer.start(config))
        {
            assumeTrue(stat(server, "recv_provided_buffer_workers") == 1, "needs provided buffers (kernel >= 5.19)");
            final byte[] block = random(new Random(12), 3000);
            final byte[] hash = sha256(block);
            try (RawClient c = new RawClient(server.port()))
            {
                assertEquals(OK, c.call(PUT, 0, 1, block).status());
            }
            // 300 clients each send the first bytes of a GET, then more, never the whole frame yet: 300 receive
            // buffers of 16 KiB would be 4.7 MiB of the arena, for about 40 bytes each.
            final byte[] get = RawClient.frame(1, ServerOperationsTest.GET, 0, 7, hash);
            final int[] cuts = {3, 17, 40};
            final List<RawClient> clients = new ArrayList<>();
            try
            {
                for (int i = 0; i < 300; i++)
                {
                    clients.add(new RawClient(server.port()));
                }
                int from = 0;
                for (final int cut : cuts)
                {
                    for (final RawClient c : clients)
                    {
                        c.send(java.util.Arrays.copyOfRange(get, from, cut));
                    }
                    from = cut;
                    Thread.sleep(300);
                    assertTrue(stat(server, "recv_buffers_held") <= 2, "partial frames hold " +
                        stat(server, "recv_buffers_held") + " receive buffers after " + cut + " bytes");
                }
                // What each stashed survives: the rest of the frame completes it into the right request.
                for (final RawClient c : clients)
                {
                    c.send(java.util.Arrays.copyOfRange(get, from, get.length));
                }
                for (final RawClient c : clients)
                {
                    final RawClient.Response r = c.read();
                    assertEquals(OK, r.status());
                    assertArrayEquals(block, r.body());
                }
                assertEquals(0, server.errors());
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
    void shouldAnswerAStalledRequestOfAHalfClosedConnection() throws Exception
    {
        // A LIST always waits for a checkpoint first (a stall); the client has said all it will say meanwhile.
        final ServerConfig config = ServerHarness.config(dir).toBuilder().workers(1).conclude();
        try (RingblocksServer server = RingblocksServer.start(config);
             RawClient c = new RawClient(server.port()))
        {
            final byte[] block = random(new Random(13), 5000);
            assertEquals(OK, c.call(PUT, 0, 1, block).status());
            final byte[] list = new byte[36]; // cursor ignored with FIRST, limit 0: a full page
            c.send(RawClient.frame(1, 7, 1, 2, list));
            c.socket.shutdownOutput();
            final RawClient.Response r = c.read();
            assertEquals(OK, r.status(), "the answer is still due after a half-close");
            assertEquals(36 + 36, r.body().length, "one entry");
            assertEquals(0, stat(server, "stalls_given_up"));
        }
    }

    @Test
    void shouldCloseASlowlorisClientButNotOneThatSendsWholeFramesSlowly() throws Exception
    {
        final ServerConfig config = ServerHarness.config(dir).toBuilder().workers(1).requestTimeoutMillis(500)
            .idleTimeoutMillis(300_000).conclude();
        try (RingblocksServer server = RingblocksServer.start(config);
             RawClient slowloris = new RawClient(server.port());
             RawClient patient = new RawClient(server.port()))
        {
            final byte[] ping = RawClient.frame(1, PING, 0, 1, new byte[0]);
            int sent = 0;
            try
            {
                for (; sent < ping.length; sent++)
                {
                    slowloris.send(new byte[]{ping[sent]});
                    assertEquals(OK, patient.call(PING, 0, sent, new byte[0]).status());
                    Thread.sleep(100);
                }
            }
            catch (final IOException e)
            {
                // the server closed it mid-frame: what the timeout is for
            }
            assertTrue(slowloris.closedByServer(), "a frame sent one byte every 100 ms was never cut off");
            assertTrue(sent < ping.length, "the whole frame got through");
            assertEquals(OK, patient.call(PING, 0, 99, new byte[0]).status());
            awaitStat(server, "request_timeouts", 1);
            assertEquals(0, server.errors());
        }
    }

    @Test
    void shouldCloseAClientThatReadsItsResponsesOnlyALittleNowAndThen() throws Exception
    {
        final ServerConfig config = ServerHarness.config(dir).toBuilder().workers(1).sendTimeoutMillis(1_000)
            .conclude();
        try (RingblocksServer server = RingblocksServer.start(config))
        {
            final byte[] block = random(new Random(8), MIB);
            try (RawClient c = new RawClient(server.port(), 4096))
            {
                assertEquals(OK, c.call(PUT, 0, 1, block).status());
                for (int i = 0; i < 12; i++)
                {
                    c.send(ServerOperationsTest.GET, 0, 2 + i, sha256(block)); // more than the socket buffers hold
                }
                // 2 KiB every 100 ms: a response of 1 MiB cannot leave within the 1 s send timeout. (How often such a
                // reader lets a short send through depends on the kernel's buffers; ConnectionTimeoutsTest pins down
                // that none restarts the clock.)
                final byte[] sip = new byte[2048];
                final long deadline = System.nanoTime() + 20_000_000_000L;
                while (stat(server, "send_timeouts") == 0)
                {
                    assertTrue(System.nanoTime() < deadline, "a trickling reader held its 1 MiB response for 20 s");
                    Thread.sleep(100);
                    if (c.socket.getInputStream().read(sip) < 0)
                    {
                        break;
                    }
                }
                awaitStat(server, "send_timeouts", 1);
                awaitStat(server, "connections", 0);
            }
        }
    }

    @Test
    void shouldGiveUpAStalledRequestAfterTheRequestTimeoutOrOnceItsClientLeft() throws Exception
    {
        // Clients that never read hold the arena for 15 s (an eighth of the send timeout, under pressure).
        final ServerConfig config = ServerHarness.config(dir).toBuilder().workers(1).arenaSize(16L * MIB)
            .blockCacheSize(0).sendTimeoutMillis(120_000).requestTimeoutMillis(1_000).conclude();
        try (RingblocksServer server = RingblocksServer.start(config))
        {
            final byte[] block = stored(server, 10);
            final byte[] hash = sha256(block);
            final List<RawClient> hogs = new ArrayList<>();
            try
            {
                hog(server, hash, hogs);
                try (RawClient fresh = new RawClient(server.port()))
                {
                    fresh.socket.setSoTimeout(10_000);
                    final long start = System.nanoTime();
                    final RawClient.Response get = fresh.call(ServerOperationsTest.GET, 0, 99, hash);
                    final long millis = (System.nanoTime() - start) / 1_000_000L;
                    assertEquals(BUSY, get.status(), "a GET that waited a request timeout for a buffer");
                    assertTrue(millis < 5_000, "answered after " + millis + " ms");
                }
                final long givenUp = stat(server, "stalls_given_up");
                assertTrue(givenUp >= 1);
                // A client that leaves while its GET waits for a buffer: its connection closes once the GET is
                // given up after the request timeout, long before the 15 s the hogs hold the arena. (A peer's FIN may
                // be a half-close, whose answers are still due, so leaving alone does not give the GET up.)
                try (RawClient leaving = new RawClient(server.port()))
                {
                    leaving.send(ServerOperationsTest.GET, 0, 100, hash);
                    awaitStat(server, "connections", 13);
                    Thread.sleep(100); // its GET stalls
                }
                final long start = System.nanoTime();
                awaitStat(server, "connections", 12);
                assertTrue(System.nanoTime() - start < 5_000_000_000L, "the connection lingered for its stalled GET");
                assertEquals(0, stat(server, "send_timeouts"), "the hogs still hold the arena");
            }
            finally
            {
                for (final RawClient hog : hogs)
                {
                    hog.close();
                }
            }
        }
    }

    @Test
    void shouldAnswerAFreshGetSoonWhileClientsThatDoNotReadHoldTheArena() throws Exception
    {
        final ServerConfig config = ServerHarness.config(dir).toBuilder().workers(1).arenaSize(16L * MIB)
            .blockCacheSize(0).sendTimeoutMillis(30_000).conclude();
        try (RingblocksServer server = RingblocksServer.start(config))
        {
            final byte[] block = stored(server, 9);
            final byte[] hash = sha256(block);
            final List<RawClient> hogs = new ArrayList<>();
            try
            {
                hog(server, hash, hogs);
                try (RawClient fresh = new RawClient(server.port()))
                {
                    fresh.socket.setSoTimeout(20_000);
                    final long start = System.nanoTime();
                    final RawClient.Response get = fresh.call(ServerOperationsTest.GET, 0, 99, hash);
                    final long seconds = (System.nanoTime() - start) / 1_000_000_000L;
                    assertEquals(OK, get.status());
                    assertArrayEquals(block, get.body());
                    // Without pressure the hogs would hold the arena for the whole 30 s send timeout.
                    assertTrue(seconds < 15, "answered after " + seconds + " s");
                }
                assertTrue(stat(server, "send_timeouts") > 0, "the readers that took nothing were cut");
            }
            finally
            {
                for (final RawClient hog : hogs)
                {
                    hog.close();
                }
            }
        }
    }

    @Test
    void shouldCloseAnIdleConnectionButNotABusyOne() throws Exception
    {
        final ServerConfig config = ServerHarness.config(dir).toBuilder().workers(1).requestTimeoutMillis(30_000)
            .idleTimeoutMillis(1_000).conclude();
        try (RingblocksServer server = RingblocksServer.start(config);
             RawClient idle = new RawClient(server.port());
             RawClient busy = new RawClient(server.port()))
        {
            assertEquals(OK, idle.call(PING, 0, 1, new byte[0]).status());
            // Pings 100 ms apart against a 1 s idle timeout: a stall of the test thread must not idle the busy one.
            final long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(3_000);
            int pings = 0;
            while (System.nanoTime() < end)
            {
                assertEquals(OK, busy.call(PING, 0, pings++, new byte[0]).status());
                Thread.sleep(100);
            }
            idle.socket.setSoTimeout(5_000);
            assertTrue(idle.closedByServer(), "an idle connection was kept past the idle timeout");
            assertEquals(OK, busy.call(PING, 0, pings, new byte[0]).status(), "a busy connection was closed");
            assertEquals(1, stat(server, "idle_timeouts"));
            assertEquals(0, server.errors());
        }
    }

    /** Sends the header of a 1 MiB PUT and five payload bytes, then nothing. */
    /** @return a random 1 MiB block, stored. */
    private static byte[] stored(final RingblocksServer server, final long seed) throws IOException
    {
        final byte[] block = random(new Random(seed), MIB);
        try (RawClient c = new RawClient(server.port()))
        {
            assertEquals(OK, c.call(PUT, 0, 1, block).status());
        }
        return block;
    }

    /** Twelve clients that each ask for four 1 MiB GETs and never read the answers: together they hold the arena. */
    private static void hog(final RingblocksServer server, final byte[] hash, final List<RawClient> hogs)
        throws IOException, InterruptedException
    {
        for (int i = 0; i < 12; i++)
        {
            final RawClient hog = new RawClient(server.port(), 4096);
            hogs.add(hog);
            for (int j = 0; j < 4; j++)
            {
                hog.send(ServerOperationsTest.GET, 0, j, hash); // answers it never reads
            }
        }
        Thread.sleep(500);
    }

    private static RawClient stall(final int port, final int i) throws IOException
    {
        final RawClient c = new RawClient(port);
        final ByteBuffer b = ByteBuffer.allocate(21).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(12 + MIB).put((byte)1).put((byte)PUT).putShort((short)0).putLong(i).put(new byte[]{1, 2, 3, 4, 5});
        c.send(b.array());
        return c;
    }
}
