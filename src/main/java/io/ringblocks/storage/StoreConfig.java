package io.ringblocks.storage;

import java.nio.file.Path;

/**
 * Storage settings.
 *
 * @param dir               data directory: {@code blocks.dat} and {@code index/}.
 * @param maxSize           capacity of the data file in bytes (rounded down to whole {@code maxBlockSize} chunks).
 * @param durable           {@code sync} mode: fdatasync + synced LMDB commit before acknowledging; false is
 *                          {@code relaxed} (flushed about once a second).
 * @param directIo          open the data file with O_DIRECT (block writes bypass the page cache).
 * @param readCache         serve block reads through a second, buffered descriptor so hot blocks come from the
 *                          page cache; with false, reads use the O_DIRECT descriptor too.
 * @param maxBlockSize      largest block (a power of two, 4 KiB..1 GiB).
 * @param growStep          bytes the data file grows by at a time (a multiple of {@code maxBlockSize}).
 * @param indexMapSize      LMDB map size.
 * @param maxBatch          most deltas per commit.
 * @param debounceNanos     how long a batch stays open for stragglers.
 * @param deltaRingCapacity bytes of the worker → committer ring (a power of two).
 * @param ackRingCapacity   bytes of each committer → worker ring (a power of two).
 * @param scrubRate         bytes per second the background scrubber verifies ({@code --scrub-rate}); 0 = off.
 */
public record StoreConfig(
    Path dir,
    long maxSize,
    boolean durable,
    boolean directIo,
    boolean readCache,
    int maxBlockSize,
    long growStep,
    long indexMapSize,
    int maxBatch,
    long debounceNanos,
    int deltaRingCapacity,
    int ackRingCapacity,
    long scrubRate)
{
    public StoreConfig
    {
        if (scrubRate < 0)
        {
            throw new IllegalArgumentException("scrub rate must be >= 0 bytes per second (0 = off): " + scrubRate);
        }
        if (maxBlockSize < 4096 || Integer.bitCount(maxBlockSize) != 1)
        {
            throw new IllegalArgumentException("max block size must be a power of two >= 4096: " + maxBlockSize);
        }
        if (maxSize < maxBlockSize)
        {
            throw new IllegalArgumentException("max size must hold at least one " + maxBlockSize + "-byte block: " +
                maxSize);
        }
        if (growStep < maxBlockSize || growStep % maxBlockSize != 0)
        {
            throw new IllegalArgumentException("grow step must be a multiple of " + maxBlockSize + ": " + growStep);
        }
    }

    /** Without a scrubber ({@code scrubRate} 0). */
    public StoreConfig(
        final Path dir,
        final long maxSize,
        final boolean durable,
        final boolean directIo,
        final boolean readCache,
        final int maxBlockSize,
        final long growStep,
        final long indexMapSize,
        final int maxBatch,
        final long debounceNanos,
        final int deltaRingCapacity,
        final int ackRingCapacity)
    {
        this(dir, maxSize, durable, directIo, readCache, maxBlockSize, growStep, indexMapSize, maxBatch, debounceNanos,
            deltaRingCapacity, ackRingCapacity, 0);
    }

    /** @return this configuration with the scrubber verifying {@code bytesPerSecond} (0 = off). */
    public StoreConfig withScrubRate(final long bytesPerSecond)
    {
        return new StoreConfig(dir, maxSize, durable, directIo, readCache, maxBlockSize, growStep, indexMapSize,
            maxBatch, debounceNanos, deltaRingCapacity, ackRingCapacity, bytesPerSecond);
    }

    /** Defaults: 1 MiB blocks, 64 MiB growth, 20 µs debounce, batches of up to 4096 deltas. */
    public static StoreConfig defaults(final Path dir, final long maxSize, final boolean durable, final boolean directIo)
    {
        return new StoreConfig(dir, maxSize, durable, directIo, true, 1 << 20, 64L << 20, 16L << 30, 4096, 20_000L,
            1 << 20, 1 << 20);
    }
}
