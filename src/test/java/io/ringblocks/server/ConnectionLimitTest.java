package io.ringblocks.server;

import java.io.DataInputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import io.ringblocks.client.BlockClient;
import io.ringblocks.client.ClientOptions;
import io.ringblocks.client.ServerBusyException;
import io.ringblocks.client.StatusCode;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Over --max-connections the server answers BUSY with opcode 0 and request id 0 before reading anything and closes
 * (protocol-spec section 4); the client library reports it as the retryable {@link ServerBusyException}.
 */
@Timeout(60)
class ConnectionLimitTest
{
    @TempDir
    Path dir;

    @Test
    void shouldRefuseAConnectionOverTheLimitWithBusyThenClose() throws Exception
    {
        final ServerConfig config = ServerHarness.config(dir).toBuilder().maxConnections(1).conclude();
        try (RingblocksServer server = RingblocksServer.start(config);
            BlockClient first = BlockClient.connect("127.0.0.1", server.port()))
        {
            first.ping(); // the only connection the server takes
            try (Socket socket = new Socket())
            {
                socket.connect(new InetSocketAddress("127.0.0.1", server.port()), 5_000);
                socket.setSoTimeout(10_000);
                final DataInputStream in = new DataInputStream(socket.getInputStream());
                final byte[] frame = new byte[16];
                in.readFully(frame);
                assertEquals("0c000000010009000000000000000000", HexFormat.of().formatHex(frame));
                assertEquals(-1, in.read());
            }
        }
    }

    @Test
    void shouldFailRequestsOnARefusedConnectionWithTheRetryableBusyException() throws Exception
    {
        final Random random = new Random(14);
        final ServerConfig config = ServerHarness.config(dir).toBuilder().maxConnections(1).conclude();
        try (RingblocksServer server = RingblocksServer.start(config))
        {
            final ClientOptions options = ClientOptions.builder().host("127.0.0.1").port(server.port())
                .reconnectAttempts(1).build();
            final byte[] block = new byte[200_000];
            random.nextBytes(block);
            try (BlockClient first = BlockClient.connect(options))
            {
                first.ping();
                for (int round = 0; round < 6; round++)
                {
                    first.ping(); // active: an idle one would make room for the new connection
                    // The request races the server's BUSY: it may be sent, or even arrive, before the refusal.
                    try (BlockClient second = BlockClient.connect(options))
                    {
                        final ServerBusyException busy = round % 2 == 0 ?
                            assertThrows(ServerBusyException.class, second::ping) :
                            assertThrows(ServerBusyException.class, () -> second.put(block));
                        assertEquals(StatusCode.BUSY, busy.status());
                    }
                }
            }
            // Retrying once the first connection is gone succeeds.
            final long deadline = System.nanoTime() + 10_000_000_000L;
            while (true)
            {
                try (BlockClient retry = BlockClient.connect(options))
                {
                    retry.put(block);
                    break;
                }
                catch (final ServerBusyException stillClosing)
                {
                    if (System.nanoTime() > deadline)
                    {
                        throw stillClosing;
                    }
                    Thread.sleep(20);
                }
            }
        }
    }

    @Test
    void shouldCloseTheLongestIdleConnectionToMakeRoomForANewOne() throws Exception
    {
        final ServerConfig config = ServerHarness.config(dir).toBuilder().workers(1).maxConnections(3).conclude();
        try (RingblocksServer server = RingblocksServer.start(config);
            RawClient oldest = new RawClient(server.port());
            RawClient older = new RawClient(server.port());
            RawClient busy = new RawClient(server.port()))
        {
            assertEquals(ServerOperationsTest.OK, oldest.call(ServerOperationsTest.PING, 0, 1, new byte[0]).status());
            Thread.sleep(100);
            assertEquals(ServerOperationsTest.OK, older.call(ServerOperationsTest.PING, 0, 2, new byte[0]).status());
            Thread.sleep(IdleEviction.MIN_IDLE_NANOS / 1_000_000 + 200);
            assertEquals(ServerOperationsTest.OK, busy.call(ServerOperationsTest.PING, 0, 3, new byte[0]).status());
            try (RawClient fresh = new RawClient(server.port()))
            {
                assertEquals(ServerOperationsTest.OK, fresh.call(ServerOperationsTest.PING, 0, 4, new byte[0]).status(),
                    "at the limit, yet served: the longest idle connection made room");
            }
            final RawClient.Response evicted = oldest.read();
            assertEquals(StatusCode.BUSY, evicted.status(), "the longest idle one was refused from then on");
            assertEquals(0, evicted.opcode());
            assertEquals(0, evicted.requestId());
            assertThrows(java.io.EOFException.class, oldest::read, "and closed");
            assertEquals(ServerOperationsTest.OK, older.call(ServerOperationsTest.PING, 0, 5, new byte[0]).status());
            assertEquals(1, ServerHarness.stat(server, "idle_evictions"));
        }
    }

    @Test
    void shouldBoundEvictionsUnderWayPerWorkerWhateverItsShareOfTheLimit() throws Exception
    {
        // Two workers share the limit, so each holds about half of it: its spare slots alone would let a burst of
        // newcomers evict nearly every idle connection while the evicted ones still linger.
        final int limit = 120;
        final ServerConfig config = ServerHarness.config(dir).toBuilder().workers(2).maxConnections(limit).conclude();
        final java.util.List<RawClient> clients = new java.util.ArrayList<>();
        try (RingblocksServer server = RingblocksServer.start(config))
        {
            for (int i = 0; i < limit; i++)
            {
                final RawClient idle = new RawClient(server.port());
                clients.add(idle);
                assertEquals(ServerOperationsTest.OK, idle.call(ServerOperationsTest.PING, 0, i, new byte[0]).status());
            }
            Thread.sleep(IdleEviction.MIN_IDLE_NANOS / 1_000_000 + 200);
            for (int i = 0; i < limit; i++)
            {
                clients.add(new RawClient(server.port())); // evicted idle ones linger: they never read or close
            }
            final long deadline = System.nanoTime() + 10_000_000_000L;
            while (ServerHarness.stat(server, "connections_accepted") + ServerHarness.stat(server, "connections_rejected") <
                2L * limit && System.nanoTime() < deadline)
            {
                Thread.sleep(5); // every newcomer admitted (an idle one making room) or refused
            }
            assertEquals(2L * limit, ServerHarness.stat(server, "connections_accepted") +
                ServerHarness.stat(server, "connections_rejected"));
            final long evictions = ServerHarness.stat(server, "idle_evictions");
            assertTrue(evictions > 0 && evictions <= 2L * IdleEviction.HEADROOM,
                "at most " + IdleEviction.HEADROOM + " evictions under way per worker: " + evictions);
        }
        finally
        {
            for (final RawClient c : clients)
            {
                c.close();
            }
        }
    }

    @Test
    void shouldStillRefuseWhenNoConnectionHasBeenIdleForASecond() throws Exception
    {
        final ServerConfig config = ServerHarness.config(dir).toBuilder().workers(1).maxConnections(1).conclude();
        try (RingblocksServer server = RingblocksServer.start(config);
            RawClient only = new RawClient(server.port()))
        {
            assertEquals(ServerOperationsTest.OK, only.call(ServerOperationsTest.PING, 0, 1, new byte[0]).status());
            try (RawClient refused = new RawClient(server.port()))
            {
                final RawClient.Response busy = refused.read();
                assertEquals(StatusCode.BUSY, busy.status());
                assertEquals(0, busy.requestId());
            }
            assertEquals(0, ServerHarness.stat(server, "idle_evictions"));
        }
    }
}
