package io.ringblocks.storage;

/**
 * Settings of the write-ahead path (log, overlay, checkpoints).
 *
 * @param logSize                 bytes of {@code wal.log} when it is created (a multiple of 4 KiB, at least 1 MiB);
 *                                an existing log keeps the size in its header. Smaller on a filesystem with less
 *                                than 32 times this free (see {@link Store}).
 * @param overlaySlots            slots of each of the overlay's two tables (a power of two, 64 bytes each); a table
 *                                holds three quarters of that many changes, and is checkpointed at half.
 * @param syncIntervalNanos       relaxed mode: how often the data file and the log are flushed.
 * @param checkpointIntervalNanos the longest time changes stay in the overlay before a checkpoint applies them to
 *                                LMDB (a fuller overlay or log checkpoints sooner).
 */
public record JournalConfig(long logSize, int overlaySlots, long syncIntervalNanos, long checkpointIntervalNanos)
{
    /** 64 MiB of log, 64 Ki slots (4 MiB) per overlay table, relaxed flushes and checkpoints every second. */
    public static final JournalConfig DEFAULTS = new JournalConfig(64L << 20, 1 << 16, 1_000_000_000L, 1_000_000_000L);
    /** Smallest log: room for a few records of the largest batch. */
    public static final long MIN_LOG_SIZE = 1L << 20;
    /** Smallest overlay table. */
    public static final int MIN_OVERLAY_SLOTS = 1 << 10;

    public JournalConfig
    {
        if (logSize < MIN_LOG_SIZE || logSize % WriteAheadLog.PAGE != 0)
        {
            throw new IllegalArgumentException("write-ahead log size must be a multiple of 4 KiB and at least " +
                MIN_LOG_SIZE + " bytes: " + logSize);
        }
        if (overlaySlots < MIN_OVERLAY_SLOTS || overlaySlots > 1 << 24 || Integer.bitCount(overlaySlots) != 1)
        {
            throw new IllegalArgumentException("overlay slots must be a power of two in " + MIN_OVERLAY_SLOTS + ".." +
                (1 << 24) + ": " + overlaySlots);
        }
        if (syncIntervalNanos < 1_000_000L || checkpointIntervalNanos < 1_000_000L)
        {
            throw new IllegalArgumentException("sync and checkpoint intervals must be at least 1 ms");
        }
    }

    /** @return the most changes one batch may carry with these settings (half an overlay table's trigger). */
    public int maxBatchFor(final int wanted)
    {
        return Math.min(wanted, overlaySlots * 3 / 8);
    }
}
