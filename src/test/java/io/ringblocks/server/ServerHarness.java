package io.ringblocks.server;

import java.nio.file.Path;

import io.ringblocks.storage.JournalConfig;
import io.ringblocks.storage.StoreConfig;

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

    static ServerConfig config(final Path dir)
    {
        return ServerConfig.builder(store(dir, 256L << 20)).host("127.0.0.1").port(0).workers(2).maxConnections(512)
            .maxInFlight(64).recvBufferSize(16384).arenaSize(32L << 20).ringEntries(512).shutdownTimeoutMillis(5_000L)
            .sendTimeoutMillis(30_000L).requestTimeoutMillis(30_000L).idleTimeoutMillis(300_000L).conclude();
    }
}
