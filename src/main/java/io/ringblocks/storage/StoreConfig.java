package io.ringblocks.storage;

import java.nio.file.Path;
import java.util.Objects;

import io.ringblocks.alloc.BuddyAllocator;

/**
 * Storage settings. Built with {@link #builder(Path)}; every default and limit is one of the constants below, and
 * {@link Builder#conclude()} checks every field in one place.
 * <pre>{@code
 * StoreConfig store = StoreConfig.builder(dir).maxSize(10L << 30).durable(false).conclude();
 * }</pre>
 */
public final class StoreConfig
{
    /** Default {@link #maxSize()}: 1 GiB. */
    public static final long DEFAULT_MAX_SIZE = 1L << 30;
    /** Largest {@link #maxSize()}: 4 TiB, what the allocator can map ({@link #MAX_MAX_SIZE_SMALLEST_BLOCKS} below). */
    public static final long MAX_MAX_SIZE = 4L << 40;
    /** Largest {@link #maxSize()} with 4 KiB blocks: the allocator then needs two link slots per 4 KiB. */
    public static final long MAX_MAX_SIZE_SMALLEST_BLOCKS = 2L << 40;
    /** Default {@link #durable()}: {@code sync} mode. */
    public static final boolean DEFAULT_DURABLE = true;
    /** Default {@link #directIo()}. */
    public static final boolean DEFAULT_DIRECT_IO = true;
    /** Default {@link #readCache()}. */
    public static final boolean DEFAULT_READ_CACHE = true;
    /** Default {@link #maxBlockSize()}: 1 MiB. */
    public static final int DEFAULT_MAX_BLOCK_SIZE = 1 << 20;
    /** Smallest {@link #maxBlockSize()}: the allocator's unit. */
    public static final int MIN_MAX_BLOCK_SIZE = BuddyAllocator.MIN_BLOCK_SIZE;
    /** Largest {@link #maxBlockSize()}: 1 MiB, the protocol's block size (protocol-spec section 6). */
    public static final int MAX_MAX_BLOCK_SIZE = io.ringblocks.wire.Protocol.MAX_BLOCK_SIZE;
    /** Default {@link #growStep()}: 64 MiB, or the whole capacity when that is smaller. */
    public static final long DEFAULT_GROW_STEP = 64L << 20;
    /** Default {@link #indexMapSize()}: 64 GiB of address space (LMDB only reserves it). */
    public static final long DEFAULT_INDEX_MAP_SIZE = 64L << 30;
    /** Smallest {@link #indexMapSize()}. */
    public static final long MIN_INDEX_MAP_SIZE = 1L << 20;
    /** Largest {@link #indexMapSize()}: 1 TiB, room for billions of entries. */
    public static final long MAX_INDEX_MAP_SIZE = 1L << 40;
    /** Default {@link #maxBatch()}: 4096 deltas, or the most the journal settings allow when that is fewer. */
    public static final int DEFAULT_MAX_BATCH = 4096;
    /** Largest {@link #maxBatch()}: what one log record holds (the journal settings may allow fewer). */
    public static final int MAX_MAX_BATCH = WalRecord.MAX_EFFECTS;
    /** Default {@link #debounceNanos()}: 20 µs. */
    public static final long DEFAULT_DEBOUNCE_NANOS = 20_000L;
    /** Longest {@link #debounceNanos()}: 1 s. */
    public static final long MAX_DEBOUNCE_NANOS = 1_000_000_000L;
    /** Default {@link #deltaRingCapacity()} and {@link #ackRingCapacity()}: 1 MiB. */
    public static final int DEFAULT_RING_CAPACITY = 1 << 20;
    /** Smallest ring: a record (at most 64 bytes plus header) must fit in an eighth of it. */
    public static final int MIN_RING_CAPACITY = 1 << 10;
    /** Largest ring. */
    public static final int MAX_RING_CAPACITY = 1 << 30;
    /** 64 Ki freed blocks (28 bytes each, grown on demand): a read stuck across that many deletes is a fault. */
    public static final int DEFAULT_LIMBO_CAPACITY = 1 << 16;
    /** 64 Ki: the most request slots a server worker has, so a worker that polls never reaches it. */
    public static final int DEFAULT_ACK_BACKLOG_CAPACITY = 1 << 16;
    /** Upper limit of both capacities above (16 Mi entries, hundreds of MiB). */
    public static final int MAX_QUEUE_CAPACITY = 1 << 24;
    /** Default {@link #scrubRate()}: off. */
    public static final long DEFAULT_SCRUB_RATE = 0;

    private final Path dir;
    private final long maxSize;
    private final boolean durable;
    private final boolean directIo;
    private final boolean readCache;
    private final int maxBlockSize;
    private final long growStep;
    private final long indexMapSize;
    private final int maxBatch;
    private final long debounceNanos;
    private final int deltaRingCapacity;
    private final int ackRingCapacity;
    private final int limboCapacity;
    private final int ackBacklogCapacity;
    private final long scrubRate;
    private final JournalConfig journal;

    private StoreConfig(final Builder b)
    {
        dir = b.dir;
        maxSize = b.maxSize;
        durable = b.durable;
        directIo = b.directIo;
        readCache = b.readCache;
        maxBlockSize = b.maxBlockSize;
        growStep = b.growStep;
        indexMapSize = b.indexMapSize;
        maxBatch = b.maxBatch;
        debounceNanos = b.debounceNanos;
        deltaRingCapacity = b.deltaRingCapacity;
        ackRingCapacity = b.ackRingCapacity;
        limboCapacity = b.limboCapacity;
        ackBacklogCapacity = b.ackBacklogCapacity;
        scrubRate = b.scrubRate;
        journal = b.journal;
    }

    /**
     * @param dir the data directory, required.
     * @return a builder holding the defaults.
     */
    public static Builder builder(final Path dir)
    {
        return new Builder(dir);
    }

    /** @return a builder preset with these settings (the derived ones included), to derive a variant. */
    public Builder toBuilder()
    {
        return new Builder(dir)
            .maxSize(maxSize)
            .durable(durable)
            .directIo(directIo)
            .readCache(readCache)
            .maxBlockSize(maxBlockSize)
            .growStep(growStep)
            .indexMapSize(indexMapSize)
            .maxBatch(maxBatch)
            .debounceNanos(debounceNanos)
            .deltaRingCapacity(deltaRingCapacity)
            .ackRingCapacity(ackRingCapacity)
            .limboCapacity(limboCapacity)
            .ackBacklogCapacity(ackBacklogCapacity)
            .scrubRate(scrubRate)
            .journal(journal);
    }

    /** @return the data directory: {@code blocks.dat}, {@code wal.log} and {@code index/}. */
    public Path dir()
    {
        return dir;
    }

    /** @return capacity of the data file in bytes (rounded down to whole {@link #maxBlockSize()} chunks). */
    public long maxSize()
    {
        return maxSize;
    }

    /**
     * @return {@code sync} mode: each batch's blocks and log record flushed before acknowledging; false is
     * {@code relaxed} (flushed every {@link JournalConfig#syncIntervalNanos()}).
     */
    public boolean durable()
    {
        return durable;
    }

    /** @return whether the data file is opened with O_DIRECT (block writes bypass the page cache). */
    public boolean directIo()
    {
        return directIo;
    }

    /**
     * @return whether block reads go through a second, buffered descriptor so hot blocks come from the page cache;
     * with false, reads use the O_DIRECT descriptor too.
     */
    public boolean readCache()
    {
        return readCache;
    }

    /** @return the largest block (a power of two). */
    public int maxBlockSize()
    {
        return maxBlockSize;
    }

    /** @return bytes the data file grows by at a time (a multiple of {@link #maxBlockSize()}). */
    public long growStep()
    {
        return growStep;
    }

    /** @return the LMDB map size. */
    public long indexMapSize()
    {
        return indexMapSize;
    }

    /** @return the most deltas per commit. */
    public int maxBatch()
    {
        return maxBatch;
    }

    /** @return how long a batch stays open for stragglers. */
    public long debounceNanos()
    {
        return debounceNanos;
    }

    /** @return bytes of the worker → committer ring (a power of two). */
    public int deltaRingCapacity()
    {
        return deltaRingCapacity;
    }

    /** @return bytes of each committer → worker ring (a power of two). */
    public int ackRingCapacity()
    {
        return ackRingCapacity;
    }

    /**
     * @return the most freed blocks waiting for in-flight reads (at least {@link #maxBatch()}, so an empty limbo
     * takes any batch); when full the committer stops taking deltas until readers move on.
     */
    public int limboCapacity()
    {
        return limboCapacity;
    }

    /**
     * @return the most acknowledgements queued per worker whose ack ring is full; when one is full the committer
     * stops taking deltas until that worker polls. Room is reserved as if every ack of a batch went to the backlog,
     * so below {@link #maxBatch()} it also caps one worker's share of a batch.
     */
    public int ackBacklogCapacity()
    {
        return ackBacklogCapacity;
    }

    /** @return bytes per second the background scrubber verifies ({@code --scrub-rate}); 0 = off. */
    public long scrubRate()
    {
        return scrubRate;
    }

    /** @return the write-ahead log, overlay and checkpoint settings. */
    public JournalConfig journal()
    {
        return journal;
    }

    @Override
    public boolean equals(final Object o)
    {
        return o instanceof StoreConfig that &&
            dir.equals(that.dir) &&
            maxSize == that.maxSize &&
            durable == that.durable &&
            directIo == that.directIo &&
            readCache == that.readCache &&
            maxBlockSize == that.maxBlockSize &&
            growStep == that.growStep &&
            indexMapSize == that.indexMapSize &&
            maxBatch == that.maxBatch &&
            debounceNanos == that.debounceNanos &&
            deltaRingCapacity == that.deltaRingCapacity &&
            ackRingCapacity == that.ackRingCapacity &&
            limboCapacity == that.limboCapacity &&
            ackBacklogCapacity == that.ackBacklogCapacity &&
            scrubRate == that.scrubRate &&
            journal.equals(that.journal);
    }

    @Override
    public int hashCode()
    {
        return Objects.hash(dir, maxSize, durable, directIo, readCache, maxBlockSize, growStep, indexMapSize,
            maxBatch, debounceNanos, deltaRingCapacity, ackRingCapacity, limboCapacity, ackBacklogCapacity, scrubRate,
            journal);
    }

    @Override
    public String toString()
    {
        return "StoreConfig[dir=" + dir +
            ", maxSize=" + maxSize +
            ", durable=" + durable +
            ", directIo=" + directIo +
            ", readCache=" + readCache +
            ", maxBlockSize=" + maxBlockSize +
            ", growStep=" + growStep +
            ", indexMapSize=" + indexMapSize +
            ", maxBatch=" + maxBatch +
            ", debounceNanos=" + debounceNanos +
            ", deltaRingCapacity=" + deltaRingCapacity +
            ", ackRingCapacity=" + ackRingCapacity +
            ", limboCapacity=" + limboCapacity +
            ", ackBacklogCapacity=" + ackBacklogCapacity +
            ", scrubRate=" + scrubRate +
            ", journal=" + journal + "]";
    }

    /**
     * Mutable builder; setters only record, {@link #conclude()} checks every field and fills the two defaults that
     * depend on others ({@link #growStep(long)}, {@link #maxBatch(int)}) when they were not set.
     */
    public static final class Builder
    {
        private final Path dir;
        private long maxSize = DEFAULT_MAX_SIZE;
        private boolean durable = DEFAULT_DURABLE;
        private boolean directIo = DEFAULT_DIRECT_IO;
        private boolean readCache = DEFAULT_READ_CACHE;
        private int maxBlockSize = DEFAULT_MAX_BLOCK_SIZE;
        private long growStep;
        private boolean growStepSet;
        private long indexMapSize = DEFAULT_INDEX_MAP_SIZE;
        private int maxBatch;
        private boolean maxBatchSet;
        private long debounceNanos = DEFAULT_DEBOUNCE_NANOS;
        private int deltaRingCapacity = DEFAULT_RING_CAPACITY;
        private int ackRingCapacity = DEFAULT_RING_CAPACITY;
        private int limboCapacity = DEFAULT_LIMBO_CAPACITY;
        private int ackBacklogCapacity = DEFAULT_ACK_BACKLOG_CAPACITY;
        private long scrubRate = DEFAULT_SCRUB_RATE;
        private JournalConfig journal = JournalConfig.DEFAULTS;

        private Builder(final Path dir)
        {
            this.dir = dir;
        }

        /**
         * @param bytes at least {@link #maxBlockSize(int)}, at most {@value StoreConfig#MAX_MAX_SIZE}
         *              ({@value StoreConfig#MAX_MAX_SIZE_SMALLEST_BLOCKS} with 4 KiB blocks).
         * @return this builder.
         */
        public Builder maxSize(final long bytes)
        {
            maxSize = bytes;
            return this;
        }

        /**
         * @param sync {@code sync} mode (true) or {@code relaxed}.
         * @return this builder.
         */
        public Builder durable(final boolean sync)
        {
            durable = sync;
            return this;
        }

        /**
         * @param on open the data file with O_DIRECT.
         * @return this builder.
         */
        public Builder directIo(final boolean on)
        {
            directIo = on;
            return this;
        }

        /**
         * @param on read through a buffered descriptor.
         * @return this builder.
         */
        public Builder readCache(final boolean on)
        {
            readCache = on;
            return this;
        }

        /**
         * @param bytes a power of two in
         *              {@value StoreConfig#MIN_MAX_BLOCK_SIZE}..{@value StoreConfig#MAX_MAX_BLOCK_SIZE}.
         * @return this builder.
         */
        public Builder maxBlockSize(final int bytes)
        {
            maxBlockSize = bytes;
            return this;
        }

        /**
         * @param bytes a multiple of the block size, at most {@value StoreConfig#MAX_MAX_SIZE}; unset: 64 MiB or the
         *              capacity, whichever is smaller.
         * @return this builder.
         */
        public Builder growStep(final long bytes)
        {
            growStep = bytes;
            growStepSet = true;
            return this;
        }

        /**
         * @param bytes a multiple of 4 KiB in
         *              {@value StoreConfig#MIN_INDEX_MAP_SIZE}..{@value StoreConfig#MAX_INDEX_MAP_SIZE}.
         * @return this builder.
         */
        public Builder indexMapSize(final long bytes)
        {
            indexMapSize = bytes;
            return this;
        }

        /**
         * @param deltas 1..{@value StoreConfig#MAX_MAX_BATCH} and at most {@link JournalConfig#maxBatchFor}; unset:
         *               {@value StoreConfig#DEFAULT_MAX_BATCH} or that limit, whichever is smaller.
         * @return this builder.
         */
        public Builder maxBatch(final int deltas)
        {
            maxBatch = deltas;
            maxBatchSet = true;
            return this;
        }

        /**
         * @param nanos 0..{@value StoreConfig#MAX_DEBOUNCE_NANOS}.
         * @return this builder.
         */
        public Builder debounceNanos(final long nanos)
        {
            debounceNanos = nanos;
            return this;
        }

        /**
         * @param bytes a power of two in
         *              {@value StoreConfig#MIN_RING_CAPACITY}..{@value StoreConfig#MAX_RING_CAPACITY}.
         * @return this builder.
         */
        public Builder deltaRingCapacity(final int bytes)
        {
            deltaRingCapacity = bytes;
            return this;
        }

        /**
         * @param bytes a power of two in
         *              {@value StoreConfig#MIN_RING_CAPACITY}..{@value StoreConfig#MAX_RING_CAPACITY}.
         * @return this builder.
         */
        public Builder ackRingCapacity(final int bytes)
        {
            ackRingCapacity = bytes;
            return this;
        }

        /**
         * @param entries the batch size .. {@value StoreConfig#MAX_QUEUE_CAPACITY}.
         * @return this builder.
         */
        public Builder limboCapacity(final int entries)
        {
            limboCapacity = entries;
            return this;
        }

        /**
         * @param entries 1..{@value StoreConfig#MAX_QUEUE_CAPACITY}.
         * @return this builder.
         */
        public Builder ackBacklogCapacity(final int entries)
        {
            ackBacklogCapacity = entries;
            return this;
        }

        /**
         * @param bytesPerSecond at least 0 (off).
         * @return this builder.
         */
        public Builder scrubRate(final long bytesPerSecond)
        {
            scrubRate = bytesPerSecond;
            return this;
        }

        /**
         * @param settings the write-ahead log, overlay and checkpoint settings, required.
         * @return this builder.
         */
        public Builder journal(final JournalConfig settings)
        {
            journal = settings;
            return this;
        }

        /**
         * @return the settings, with the derived defaults filled in.
         * @throws IllegalArgumentException naming the first field outside its range, the range and the value.
         */
        public StoreConfig conclude()
        {
            ConfigChecks.required("dir", dir);
            ConfigChecks.required("journal", journal);
            ConfigChecks.powerOfTwo("maxBlockSize", maxBlockSize, MIN_MAX_BLOCK_SIZE, MAX_MAX_BLOCK_SIZE);
            final long sizeLimit = maxBlockSize == MIN_MAX_BLOCK_SIZE ? MAX_MAX_SIZE_SMALLEST_BLOCKS : MAX_MAX_SIZE;
            ConfigChecks.inRange("maxSize", maxSize, maxBlockSize, sizeLimit);
            if (!growStepSet)
            {
                growStep = Math.max(maxBlockSize, Math.min(DEFAULT_GROW_STEP, maxSize / maxBlockSize * maxBlockSize));
            }
            ConfigChecks.multipleOf("growStep", growStep, maxBlockSize, maxBlockSize, MAX_MAX_SIZE);
            ConfigChecks.multipleOf("indexMapSize", indexMapSize, WriteAheadLog.PAGE, MIN_INDEX_MAP_SIZE,
                MAX_INDEX_MAP_SIZE);
            // A batch is one log record and at most half the overlay's checkpoint trigger.
            final int batchLimit = journal.maxBatchFor(MAX_MAX_BATCH);
            if (!maxBatchSet)
            {
                maxBatch = Math.min(DEFAULT_MAX_BATCH, batchLimit);
            }
            ConfigChecks.inRange("maxBatch", maxBatch, 1, batchLimit);
            ConfigChecks.inRange("debounceNanos", debounceNanos, 0, MAX_DEBOUNCE_NANOS);
            ConfigChecks.powerOfTwo("deltaRingCapacity", deltaRingCapacity, MIN_RING_CAPACITY, MAX_RING_CAPACITY);
            ConfigChecks.powerOfTwo("ackRingCapacity", ackRingCapacity, MIN_RING_CAPACITY, MAX_RING_CAPACITY);
            // At least one batch, so that an empty limbo takes any batch.
            ConfigChecks.inRange("limboCapacity", limboCapacity, maxBatch, MAX_QUEUE_CAPACITY);
            ConfigChecks.inRange("ackBacklogCapacity", ackBacklogCapacity, 1, MAX_QUEUE_CAPACITY);
            ConfigChecks.inRange("scrubRate", scrubRate, 0, Long.MAX_VALUE);
            return new StoreConfig(this);
        }
    }
}
