package io.ringblocks.server;

import java.io.DataInputStream;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;

import com.sun.management.UnixOperatingSystemMXBean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import io.ringblocks.client.BlockClient;
import io.ringblocks.client.Hash;
import io.ringblocks.wire.Opcode;
import io.ringblocks.wire.Protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Idle connections hold no receive memory (provided-buffer receives): more of them than the worker's arena could
 * have given receive buffers of their own are all taken, stay usable, and a 1 MiB PUT and GET by another client
 * are served meanwhile.
 */
@Timeout(120)
class IdleConnectionsTest
{
    @TempDir
    Path dir;

    @Test
    void shouldServeLargeBlocksWhileMoreConnectionsIdleThanTheArenaHasReceiveBuffersFor() throws Exception
    {
        final long fdLimit = ((UnixOperatingSystemMXBean)ManagementFactory.getOperatingSystemMXBean())
            .getMaxFileDescriptorCount();
        // Each idle connection costs this JVM two descriptors (client and server side).
        final int idle = (int)Math.min(1200, (fdLimit - 400) / 2);
        // An 8 MiB arena had room for fewer than 500 connections' 16 KiB receive buffers.
        assumeTrue(idle > 600, "descriptor limit " + fdLimit + " too low for this test");
        final ServerConfig config = ServerHarness.config(dir).toBuilder().workers(1).maxConnections(idle + 16)
            .arenaSize(8L << 20).conclude();
        final List<Socket> sockets = new ArrayList<>();
        try (RingblocksServer server = RingblocksServer.start(config);
            BlockClient client = BlockClient.connect("127.0.0.1", server.port()))
        {
            assumeTrue(client.stats().get("recv_provided_buffer_workers") == 1L,
                "this kernel has no provided-buffer rings: every connection keeps a receive buffer");
            for (int i = 0; i < idle; i++)
            {
                final Socket socket = new Socket();
                sockets.add(socket);
                socket.connect(new InetSocketAddress("127.0.0.1", server.port()), 5_000);
                socket.setSoTimeout(20_000);
            }
            waitForConnections(client, idle + 1);

            final byte[] block = new byte[1 << 20];
            new Random(23).nextBytes(block);
            final Hash hash = client.put(block);
            assertArrayEquals(block, client.get(hash));

            final Map<String, Long> stats = client.stats();
            assertEquals(0L, stats.get("connections_rejected"));
            assertTrue(stats.get("recv_buffers_held") <= 1L,
                "idle connections hold receive buffers: " + stats.get("recv_buffers_held"));

            // Idle is not dead: every 20th connection answers a PING.
            for (int i = 0; i < idle; i += 20)
            {
                final Socket socket = sockets.get(i);
                socket.getOutputStream().write(RawClient.frame(Protocol.VERSION, Opcode.PING, 0, i, new byte[0]));
                final byte[] answer = new byte[16];
                new DataInputStream(socket.getInputStream()).readFully(answer);
                assertEquals(Opcode.PING, answer[5], "opcode of the answer to " + i + ": " + Arrays.toString(answer));
                assertEquals(0, answer[6], "status of the answer to " + i);
            }
        }
        finally
        {
            for (final Socket socket : sockets)
            {
                socket.close();
            }
        }
    }

    private static void waitForConnections(final BlockClient client, final long expected) throws Exception
    {
        final long deadline = System.nanoTime() + 30_000_000_000L;
        long open = 0;
        while (System.nanoTime() < deadline)
        {
            open = client.stats().get("connections");
            if (open >= expected)
            {
                return;
            }
            Thread.sleep(20);
        }
        assertEquals(expected, open, "connections the server took");
    }
}
