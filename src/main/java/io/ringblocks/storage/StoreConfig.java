package io.ringblocks.storage;

import java.nio.file.Path;

/**
 * Storage settings.
 *
 * @param dir               data directory: {@code blocks.dat} and {@code index/}.
 * @param maxSize           capacity of the data file in bytes (rounded down to whole {@code maxBlockSize} chunks).
 * @param durable           {@code sync} mode: each batch's blocks and log record flushed before acknowledging;
 *                          false is {@code relaxed} (flushed every {@link JournalConfig#syncIntervalNanos}).
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
 * @param limboCapacity     most freed blocks waiting for in-flight reads (at least {@code maxBatch}, so an empty
 *                          limbo takes any batch); when full the committer stops taking deltas until readers move on.
 * @param ackBacklogCapacity most acknowledgements queued per worker whose ack ring is full; when one is full the
 *                          committer stops taking deltas until that worker polls. Room is reserved as if every ack
 *                          of a batch went to the backlog, so below {@code maxBatch} it also caps one worker's share
 *                          of a batch.
 * @param scrubRate         bytes per second the background scrubber verifies ({@code --scrub-rate}); 0 = off.
 * @param journal           the write-ahead log, overlay and checkpoint settings.
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
    int limboCapacity,
    int ackBacklogCapacity,
    long scrubRate,
    JournalConfig journal)
{
    /** 64 Ki freed blocks (28 bytes each, grown on demand): a read stuck across that many deletes is a fault. */
    public static final int DEFAULT_LIMBO_CAPACITY = 1 << 16;
    /** 64 Ki: the most request slots a server worker has, so a worker that polls never reaches it. */
    public static final int DEFAULT_ACK_BACKLOG_CAPACITY = 1 << 16;
    /** Upper limit of both capacities above (16 Mi entries, hundreds of MiB). */
    public static final int MAX_QUEUE_CAPACITY = 1 << 24;

    /** With the default limbo and acknowledgement-backlog capacities and no scrubber. */
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
            deltaRingCapacity, ackRingCapacity, DEFAULT_LIMBO_CAPACITY, DEFAULT_ACK_BACKLOG_CAPACITY, 0);
    }

    /** With the default journal settings. */
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
        final int ackRingCapacity,
        final int limboCapacity,
        final int ackBacklogCapacity,
        final long scrubRate)
    {
        this(dir, maxSize, durable, directIo, readCache, maxBlockSize, growStep, indexMapSize, maxBatch, debounceNanos,
            deltaRingCapacity, ackRingCapacity, limboCapacity, ackBacklogCapacity, scrubRate, JournalConfig.DEFAULTS);
    }

    public StoreConfig
    {
        if (journal == null)
        {
            throw new IllegalArgumentException("journal settings are required");
        }
        if (maxBatch < 1 || maxBatch > journal.maxBatchFor(maxBatch) || maxBatch > WalRecord.MAX_EFFECTS)
        {
            throw new IllegalArgumentException("max batch must be in 1.." +
                Math.min(journal.maxBatchFor(Integer.MAX_VALUE), WalRecord.MAX_EFFECTS) +
                " (a log record, and half the overlay's checkpoint trigger): " + maxBatch);
        }
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
        if (limboCapacity < maxBatch || limboCapacity > MAX_QUEUE_CAPACITY)
        {
            throw new IllegalArgumentException("limbo capacity must be in " + maxBatch + " (the batch size).." +
                MAX_QUEUE_CAPACITY + ": " + limboCapacity);
        }
        if (ackBacklogCapacity < 1 || ackBacklogCapacity > MAX_QUEUE_CAPACITY)
        {
            throw new IllegalArgumentException("ack backlog capacity must be in 1.." + MAX_QUEUE_CAPACITY + ": " +
                ackBacklogCapacity);
        }
    }

    /** @return this configuration with the scrubber verifying {@code bytesPerSecond} (0 = off). */
    public StoreConfig withScrubRate(final long bytesPerSecond)
    {
        return new StoreConfig(dir, maxSize, durable, directIo, readCache, maxBlockSize, growStep, indexMapSize,
            maxBatch, debounceNanos, deltaRingCapacity, ackRingCapacity, limboCapacity, ackBacklogCapacity, bytesPerSecond,
            journal);
    }

    /** @return this configuration with other write-ahead log, overlay and checkpoint settings. */
    public StoreConfig withJournal(final JournalConfig settings)
    {
        return new StoreConfig(dir, maxSize, durable, directIo, readCache, maxBlockSize, growStep, indexMapSize,
            maxBatch, debounceNanos, deltaRingCapacity, ackRingCapacity, limboCapacity, ackBacklogCapacity, scrubRate,
            settings);
    }

    /** Defaults: 1 MiB blocks, 64 MiB growth, 20 µs debounce, batches of up to 4096 deltas. */
    public static StoreConfig defaults(final Path dir, final long maxSize, final boolean durable, final boolean directIo)
    {
        return new StoreConfig(dir, maxSize, durable, directIo, true, 1 << 20, 64L << 20, 16L << 30, 4096, 20_000L,
            1 << 20, 1 << 20);
    }
}
