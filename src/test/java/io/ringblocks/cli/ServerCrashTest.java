package io.ringblocks.cli;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.ringblocks.client.BlockClient;
import io.ringblocks.client.ClientOptions;
import io.ringblocks.client.Hash;
import io.ringblocks.client.NotFoundException;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The whole server, killed with SIGKILL while clients PUT and DELETE over TCP: after each restart every PUT the
 * server answered OK reads back byte for byte and every DELETE it answered OK stays deleted. Operations in flight at
 * the kill may have gone either way and are not checked. (The storage engine alone is crash-tested harder by
 * {@code CrashRecoveryTest}; this covers the server's promise that an OK comes only after the commit.)
 */
class ServerCrashTest
{
    private static final int KILLS = 6;
    private static final int CLIENTS = 4;

    @TempDir
    Path dir;

    @Test
    void shouldKeepEveryAcknowledgedPutAndDeleteAcrossSigkills() throws Exception
    {
        final Map<Hash, byte[]> live = new ConcurrentHashMap<>();
        final Set<Hash> deleted = ConcurrentHashMap.newKeySet();
        final Random random = new Random(2611);
        final AtomicLong acks = new AtomicLong();
        for (int kill = 0; kill <= KILLS; kill++)
        {
            final int port = ServerMainTest.freePort();
            final Process server = launch(port);
            try
            {
                verify(port, live, deleted);
                if (kill < KILLS)
                {
                    final CountDownLatch clients = startClients(port, random.nextLong(), live, deleted, acks);
                    Thread.sleep(200 + random.nextInt(800));
                    server.destroyForcibly(); // SIGKILL on Linux, with the clients mid-request
                    assertTrue(server.waitFor(30, TimeUnit.SECONDS), "server did not die");
                    assertTrue(clients.await(60, TimeUnit.SECONDS), "clients did not notice the kill");
                }
            }
            finally
            {
                server.destroyForcibly();
                assertTrue(server.waitFor(30, TimeUnit.SECONDS), "server did not die");
            }
        }
        assertTrue(acks.get() > KILLS * 20L, "too few acknowledged operations to test anything: " + acks.get());
    }

    /**
     * Starts CLIENTS threads that PUT and DELETE until the server dies under them.
     *
     * @return counted down as each thread gives up on the dead server.
     */
    private static CountDownLatch startClients(final int port, final long seed, final Map<Hash, byte[]> live,
        final Set<Hash> deleted, final AtomicLong acks)
    {
        final CountDownLatch done = new CountDownLatch(CLIENTS);
        final ClientOptions options = ClientOptions.builder().host("127.0.0.1").port(port)
            .requestTimeout(Duration.ofSeconds(20)).reconnectAttempts(0).build();
        for (int t = 0; t < CLIENTS; t++)
        {
            final Random random = new Random(seed + t);
            final Thread thread = new Thread(() ->
            {
                final List<Hash> mine = new ArrayList<>();
                try (BlockClient client = BlockClient.connect(options))
                {
                    while (true)
                    {
                        if (!mine.isEmpty() && random.nextInt(4) == 0)
                        {
                            final Hash victim = mine.remove(random.nextInt(mine.size()));
                            // Once sent, a DELETE may or may not happen until it is answered: check neither way.
                            live.remove(victim);
                            client.delete(victim);
                            deleted.add(victim);
                        }
                        else
                        {
                            final byte[] block = new byte[1 + random.nextInt(200_000)];
                            random.nextBytes(block);
                            final Hash hash = client.put(block);
                            live.put(hash, block);
                            mine.add(hash);
                        }
                        acks.incrementAndGet();
                    }
                }
                catch (final RuntimeException e)
                {
                    // The server was killed under us: the request in flight is left unchecked.
                }
                finally
                {
                    done.countDown();
                }
            }, "crash-client-" + t);
            thread.setDaemon(true);
            thread.start();
        }
        return done;
    }

    private static void verify(final int port, final Map<Hash, byte[]> live, final Set<Hash> deleted)
    {
        try (BlockClient client = BlockClient.connect(ClientOptions.builder().host("127.0.0.1").port(port)
            .requestTimeout(Duration.ofSeconds(30)).build()))
        {
            for (final Map.Entry<Hash, byte[]> e : live.entrySet())
            {
                try
                {
                    assertArrayEquals(e.getValue(), client.get(e.getKey()), "acknowledged PUT " + e.getKey());
                }
                catch (final NotFoundException lost)
                {
                    throw new AssertionError("acknowledged PUT lost: " + e.getKey(), lost);
                }
            }
            for (final Hash gone : deleted)
            {
                assertTrue(client.head(gone).isEmpty(), "acknowledged DELETE came back: " + gone);
            }
        }
    }

    /** Starts the server CLI as a child JVM on {@code port} and waits for its startup line. */
    private Process launch(final int port) throws Exception
    {
        final Process p = ServerMainTest.launch(dir, "--listen", "127.0.0.1:" + port, "--data",
            dir.resolve("data").toString(), "--workers", "2", "--max-size", "2g");
        final CountDownLatch ready = new CountDownLatch(1);
        final Thread drain = new Thread(() ->
        {
            // Keeps reading to the end so a chatty server never blocks on a full pipe.
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(),
                StandardCharsets.UTF_8)))
            {
                String line;
                while ((line = r.readLine()) != null)
                {
                    if (line.startsWith("ringblocks listening on"))
                    {
                        ready.countDown();
                    }
                }
            }
            catch (final java.io.IOException ignored)
            {
                // The child died.
            }
        });
        drain.setDaemon(true);
        drain.start();
        if (!ready.await(60, TimeUnit.SECONDS))
        {
            p.destroyForcibly();
            throw new AssertionError("the server never printed its startup line");
        }
        return p;
    }
}
