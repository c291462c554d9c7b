package io.ringblocks.server;

import java.nio.file.Path;

import io.ringblocks.storage.JournalConfig;
import io.ringblocks.storage.StoreConfig;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Test configurations: ephemeral port, small store in a temporary directory. */
final class ServerHarness
{
    private ServerHarness()
    {
    }

    static StoreConfig store(final Path dir, final long maxSize)
    {
        // A small write-ahead log: created (zeroed) for every test server.
        return StoreConfig.builder(dir).maxSize(maxSize).growStep(8L << 20).indexMapSize(1L << 30).maxBatch(4096)
            .journal(JournalConfig.builder().logSize(2L << 20).overlaySlots(1 << 14).conclude()).conclude();
    }

    /** A STATS line's value. */
    static long stat(final RingblocksServer server, final String name)
    {
        for (final String line : server.statsText().split("\n"))
        {
            if (line.startsWith(name + " "))
            {
                return Long.parseLong(line.substring(name.length() + 1).trim());
            }
        }
        throw new AssertionError("no STATS line " + name);
    }

    /** Waits up to 20 s for a STATS line to read {@code value}, then asserts it does. */
    static void awaitStat(final RingblocksServer server, final String name, final long value)
        throws InterruptedException
    {
        final long deadline = System.nanoTime() + 20_000_000_000L;
        while (stat(server, name) != value && System.nanoTime() < deadline)
        {
            Thread.sleep(5);
        }
        assertEquals(value, stat(server, name), name);
    }

    static ServerConfig config(final Path dir)
    {
        return ServerConfig.builder(store(dir, 256L << 20)).host("127.0.0.1").port(0).workers(2).maxConnections(512)
            .maxInFlight(64).recvBufferSize(16384).arenaSize(32L << 20).ringEntries(512).shutdownTimeoutMillis(5_000L)
            .sendTimeoutMillis(30_000L).requestTimeoutMillis(30_000L).idleTimeoutMillis(300_000L).conclude();
    }
}
