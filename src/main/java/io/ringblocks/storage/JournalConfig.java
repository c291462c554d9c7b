package io.ringblocks.storage;

/**
 * Settings of the write-ahead path (log, overlay, checkpoints). Built with {@link #builder()}; every default and
 * limit is one of the constants below, and {@link Builder#conclude()} checks them all.
 * <pre>{@code
 * JournalConfig journal = JournalConfig.builder().logSize(2L << 20).overlaySlots(1 << 14).conclude();
 * }</pre>
 */
public final class JournalConfig
{
    /** Default {@link #logSize()}: 64 MiB. */
    public static final long DEFAULT_LOG_SIZE = 64L << 20;
    /** Smallest {@link #logSize()}: room for a few records of the largest batch. */
    public static final long MIN_LOG_SIZE = 1L << 20;
    /** Largest {@link #logSize()}: 1 TiB, far beyond any useful log (it is preallocated and zeroed). */
    public static final long MAX_LOG_SIZE = 1L << 40;
    /** Default {@link #overlaySlots()}: 64 Ki slots, 4 MiB per table. */
    public static final int DEFAULT_OVERLAY_SLOTS = 1 << 16;
    /** Smallest overlay table. */
    public static final int MIN_OVERLAY_SLOTS = 1 << 10;
    /** Largest overlay table: 16 Mi slots, 1 GiB. */
    public static final int MAX_OVERLAY_SLOTS = 1 << 24;
    /** Default {@link #syncIntervalNanos()}: 1 s. */
    public static final long DEFAULT_SYNC_INTERVAL_NANOS = 1_000_000_000L;
    /** Default {@link #checkpointIntervalNanos()}: 1 s. */
    public static final long DEFAULT_CHECKPOINT_INTERVAL_NANOS = 1_000_000_000L;
    /** Shortest sync or checkpoint interval: 1 ms. */
    public static final long MIN_INTERVAL_NANOS = 1_000_000L;
    /** Longest sync or checkpoint interval: a day, which is as good as never. */
    public static final long MAX_INTERVAL_NANOS = 86_400_000_000_000L;

    /** All defaults. */
    public static final JournalConfig DEFAULTS = builder().conclude();

    private final long logSize;
    private final int overlaySlots;
    private final long syncIntervalNanos;
    private final long checkpointIntervalNanos;

    private JournalConfig(final Builder builder)
    {
        logSize = builder.logSize;
        overlaySlots = builder.overlaySlots;
        syncIntervalNanos = builder.syncIntervalNanos;
        checkpointIntervalNanos = builder.checkpointIntervalNanos;
    }

    /** @return a builder holding the defaults. */
    public static Builder builder()
    {
        return new Builder();
    }

    /** @return a builder preset with these settings, to derive a variant. */
    public Builder toBuilder()
    {
        return new Builder()
            .logSize(logSize)
            .overlaySlots(overlaySlots)
            .syncIntervalNanos(syncIntervalNanos)
            .checkpointIntervalNanos(checkpointIntervalNanos);
    }

    /**
     * @return bytes of {@code wal.log} when it is created (a multiple of 4 KiB); an existing log keeps the size in
     * its header. Smaller on a filesystem with less than 32 times this free (see {@link Store}).
     */
    public long logSize()
    {
        return logSize;
    }

    /**
     * @return slots of each of the overlay's two tables (a power of two, 64 bytes each); a table holds three
     * quarters of that many changes, and is checkpointed at half.
     */
    public int overlaySlots()
    {
        return overlaySlots;
    }

    /** @return relaxed mode: how often the data file and the log are flushed. */
    public long syncIntervalNanos()
    {
        return syncIntervalNanos;
    }

    /**
     * @return the longest time changes stay in the overlay before a checkpoint applies them to LMDB (a fuller
     * overlay or log checkpoints sooner).
     */
    public long checkpointIntervalNanos()
    {
        return checkpointIntervalNanos;
    }

    /** @return the most changes one batch may carry with these settings (half an overlay table's trigger). */
    public int maxBatchFor(final int wanted)
    {
        return Math.min(wanted, overlaySlots * 3 / 8);
    }

    @Override
    public boolean equals(final Object o)
    {
        return o instanceof JournalConfig that &&
            logSize == that.logSize &&
            overlaySlots == that.overlaySlots &&
            syncIntervalNanos == that.syncIntervalNanos &&
            checkpointIntervalNanos == that.checkpointIntervalNanos;
    }

    @Override
    public int hashCode()
    {
        return java.util.Objects.hash(logSize, overlaySlots, syncIntervalNanos, checkpointIntervalNanos);
    }

    @Override
    public String toString()
    {
        return "JournalConfig[logSize=" + logSize +
            ", overlaySlots=" + overlaySlots +
            ", syncIntervalNanos=" + syncIntervalNanos +
            ", checkpointIntervalNanos=" + checkpointIntervalNanos + "]";
    }

    /** Mutable builder; setters only record, {@link #conclude()} checks. */
    public static final class Builder
    {
        private long logSize = DEFAULT_LOG_SIZE;
        private int overlaySlots = DEFAULT_OVERLAY_SLOTS;
        private long syncIntervalNanos = DEFAULT_SYNC_INTERVAL_NANOS;
        private long checkpointIntervalNanos = DEFAULT_CHECKPOINT_INTERVAL_NANOS;

        private Builder()
        {
        }

        /**
         * @param bytes a multiple of 4 KiB in {@value JournalConfig#MIN_LOG_SIZE}..{@value JournalConfig#MAX_LOG_SIZE}.
         * @return this builder.
         */
        public Builder logSize(final long bytes)
        {
            logSize = bytes;
            return this;
        }

        /**
         * @param slots a power of two in
         *              {@value JournalConfig#MIN_OVERLAY_SLOTS}..{@value JournalConfig#MAX_OVERLAY_SLOTS}.
         * @return this builder.
         */
        public Builder overlaySlots(final int slots)
        {
            overlaySlots = slots;
            return this;
        }

        /**
         * @param nanos {@value JournalConfig#MIN_INTERVAL_NANOS}..{@value JournalConfig#MAX_INTERVAL_NANOS}.
         * @return this builder.
         */
        public Builder syncIntervalNanos(final long nanos)
        {
            syncIntervalNanos = nanos;
            return this;
        }

        /**
         * @param nanos {@value JournalConfig#MIN_INTERVAL_NANOS}..{@value JournalConfig#MAX_INTERVAL_NANOS}.
         * @return this builder.
         */
        public Builder checkpointIntervalNanos(final long nanos)
        {
            checkpointIntervalNanos = nanos;
            return this;
        }

        /**
         * @return the settings.
         * @throws IllegalArgumentException naming the first field outside its range.
         */
        public JournalConfig conclude()
        {
            ConfigChecks.multipleOf("logSize", logSize, WriteAheadLog.PAGE, MIN_LOG_SIZE, MAX_LOG_SIZE);
            ConfigChecks.powerOfTwo("overlaySlots", overlaySlots, MIN_OVERLAY_SLOTS, MAX_OVERLAY_SLOTS);
            ConfigChecks.inRange("syncIntervalNanos", syncIntervalNanos, MIN_INTERVAL_NANOS, MAX_INTERVAL_NANOS);
            ConfigChecks.inRange("checkpointIntervalNanos", checkpointIntervalNanos, MIN_INTERVAL_NANOS,
                MAX_INTERVAL_NANOS);
            return new JournalConfig(this);
        }
    }
}
