package io.ringblocks.server;

import java.io.EOFException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A graceful stop answers every request the client had sent: executed ones with their real answer, all others
 * (still in the receive buffer, waiting in the socket, a PUT whose body was arriving) with SHUTTING_DOWN, and the
 * latter took no effect.
 */
@Timeout(60)
class ShutdownAnswersTest
{
    private static final int PUT = 2;
    private static final int HEAD = 4;
    private static final int PING = 1;
    private static final int GET = 3;
    private static final int OK = 0;
    private static final int NOT_FOUND = 1;
    private static final int SHUTTING_DOWN = 12;

    @TempDir
    Path dir;

    @Test
    void shouldAnswerEveryRequestSentBeforeTheStopWithItsResultOrShuttingDown() throws Exception
    {
        final Random random = new Random(14);
        final int count = 400;
        final List<byte[]> blocks = new ArrayList<>();
        final List<byte[]> frames = new ArrayList<>();
        for (int i = 1; i <= count; i++)
        {
            final byte[] block = ServerOperationsTest.random(random, 100 + random.nextInt(200));
            blocks.add(block);
            frames.add(RawClient.frame(1, PUT, 0, i, block));
        }
        // Last, a 512 KiB PUT of which only the header and a tenth of the body are sent before the stop.
        final byte[] large = ServerOperationsTest.random(random, 512 * 1024);
        blocks.add(large);
        final byte[] largeFrame = RawClient.frame(1, PUT, 0, count + 1, large);
        frames.add(java.util.Arrays.copyOf(largeFrame, 16 + large.length / 10));
        final Map<Long, Integer> answers = new HashMap<>();
        final ServerConfig config = ServerHarness.config(dir);
        final RingblocksServer server = RingblocksServer.start(config);
        final int port = server.port();
        try (RawClient c = new RawClient(port))
        {
            c.send(RawClient.concat(frames.toArray(new byte[0][])));
            // The large PUT's header parsed (its block buffer taken) means every frame before it was read too.
            final long deadline = System.nanoTime() + 20_000_000_000L;
            while (ServerHarness.stat(server, "partial_body_bytes") == 0 && System.nanoTime() < deadline)
            {
                Thread.sleep(5);
            }
            assertTrue(ServerHarness.stat(server, "partial_body_bytes") > 0, "the large PUT's header never arrived");
            final Thread stopper = Thread.ofPlatform().start(server::close);
            while (true)
            {
                final RawClient.Response r;
                try
                {
                    r = c.read();
                }
                catch (final EOFException end)
                {
                    break;
                }
                assertNull(answers.put(r.requestId(), r.status()), "one answer per request: " + r.requestId());
                assertTrue(r.status() == OK || r.status() == SHUTTING_DOWN, "id " + r.requestId() + ": " + r.status());
                assertEquals(PUT, r.opcode());
            }
            stopper.join();
        }
        finally
        {
            server.close();
        }
        assertEquals(count + 1, answers.size(), "every request sent got an answer before the connection closed");
        assertEquals(SHUTTING_DOWN, answers.get((long)count + 1), "the PUT whose body was arriving");
        // OK means stored, SHUTTING_DOWN means not executed.
        try (RingblocksServer again = RingblocksServer.start(config.toBuilder().port(0).conclude());
            RawClient c = new RawClient(again.port()))
        {
            for (int i = 1; i <= count + 1; i++)
            {
                final int status = answers.get((long)i);
                final int head = c.call(HEAD, 0, i, ServerOperationsTest.sha256(blocks.get(i - 1))).status();
                assertEquals(status == OK ? OK : NOT_FOUND, head, "request " + i + " answered " + status);
            }
        }
    }

    @Test
    void shouldDeliverEveryAnswerToAClientThatReadsSlowlyAndSendsOnDuringTheStop() throws Exception
    {
        final byte[] block = ServerOperationsTest.random(new Random(15), 1 << 20);
        final byte[] hash = ServerOperationsTest.sha256(block);
        final RingblocksServer server = RingblocksServer.start(ServerHarness.config(dir));
        try (RawClient c = new RawClient(server.port(), 4096))
        {
            assertEquals(OK, c.call(PUT, 0, 1, block).status());
            c.send(GET, 0, 2, hash); // the answer fills the server's send buffer while the client does not read
            Thread.sleep(200);
            final Thread stopper = Thread.ofPlatform().start(server::close);
            Thread.sleep(300); // the stop's drain found nothing more to read by now
            for (int i = 0; i < 16; i++)
            {
                c.send(PING, 0, 100 + i, new byte[0]); // arrives at a connection that reads no more requests
            }
            final RawClient.Response get = c.read();
            assertEquals(2, get.requestId());
            assertEquals(OK, get.status());
            assertArrayEquals(block, get.body(), "the whole answer, not cut off by a reset");
            while (true)
            {
                final RawClient.Response r;
                try
                {
                    r = c.read();
                }
                catch (final EOFException end)
                {
                    break; // an orderly end, not ECONNRESET
                }
                assertEquals(SHUTTING_DOWN, r.status(), "a PING the drain still read: " + r.requestId());
            }
            stopper.join();
        }
        finally
        {
            server.close();
        }
    }

    @Test
    void shouldTurnAwayNewConnectionsAtOnceWhileAStopWaitsForItsClients() throws Exception
    {
        final byte[] block = ServerOperationsTest.random(new Random(16), 1 << 20);
        final RingblocksServer server = RingblocksServer.start(ServerHarness.config(dir));
        final int port = server.port();
        try (RawClient hog = new RawClient(port, 4096))
        {
            assertEquals(OK, hog.call(PUT, 0, 1, block).status());
            for (int i = 0; i < 12; i++)
            {
                hog.send(GET, 0, 2 + i, ServerOperationsTest.sha256(block)); // answers it does not read
            }
            Thread.sleep(200);
            final Thread stopper = Thread.ofPlatform().start(server::close); // waits for the hog, up to 5 s
            Thread.sleep(300);
            assertTrue(stopper.isAlive(), "the stop still waits for the client that does not read");
            final long start = System.nanoTime();
            try (java.net.Socket late = new java.net.Socket())
            {
                late.connect(new java.net.InetSocketAddress("127.0.0.1", port), 2_000);
                late.setSoTimeout(2_000);
                assertEquals(-1, late.getInputStream().read(), "a connection that got in is ended at once");
            }
            catch (final java.net.SocketException refused)
            {
                // refused or reset: either way the client knows at once
            }
            assertTrue(System.nanoTime() - start < 1_500_000_000L, "turned away at once, not left waiting");
            stopper.join();
        }
        finally
        {
            server.close();
        }
    }
}
