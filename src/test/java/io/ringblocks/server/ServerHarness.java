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
        return new StoreConfig(dir, maxSize, true, true, true, 1 << 20, 8L << 20, 1L << 30, 4096, 20_000L, 1 << 20,
            1 << 20).withJournal(new JournalConfig(2L << 20, 1 << 14, 1_000_000_000L, 1_000_000_000L));
    }

    static ServerConfig config(final Path dir)
    {
        return new ServerConfig("127.0.0.1", 0, 2, 512, 64, 16384, 32L << 20, 512, 5_000L, 30_000L, 30_000L, 300_000L,
            store(dir, 256L << 20));
    }
}
