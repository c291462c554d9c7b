package io.ringblocks.storage;

import java.util.concurrent.atomic.AtomicLong;

import org.agrona.DirectBuffer;

import io.ringblocks.sys.Errno;

/**
 * The committer's side of the write-ahead path: a batch's changes are staged ({@link BatchEffects}), written as one
 * log record, made durable with one flush (sync mode) and only then put into the {@link Overlay}, where readers find
 * them before LMDB. LMDB itself is written by the {@link Checkpointer}; this class freezes the overlay for it, and
 * drops a checkpointed table only after two reader grace periods of the committer's epoch: the first so that every
 * pinned reader's LMDB snapshot holds the checkpoint before the table stops being searched, the second so that no
 * reader is still inside the table when it is cleared.
 * <p>
 * <b>Which flush covers what.</b> A batch's blocks were written O_DIRECT before their deltas were published, or are
 * written by the committer ({@link BlockWriter}) while its log record is written O_DIRECT (sync mode), and complete
 * before the flush; then one {@code fdatasync} — of the data file when the batch stored blocks
 * (it also commits any extent conversion of the data file), of the log otherwise. The flush a filesystem sends to the
 * device covers every write completed before it, so when both files are O_DIRECT on the same device, that one flush
 * makes the blocks and the record durable. Otherwise (a buffered fallback, or the log on another device) the other
 * file is flushed too. A power loss before the flush can leave the record on disk without its blocks: recovery
 * therefore verifies the blocks of every record newer than the last one a completed flush is known to cover (each
 * record carries that sequence), and drops what does not match its hash. Relaxed mode writes the records without the
 * flush; the checkpointer thread flushes both files every {@code syncIntervalNanos}.
 * <p>
 * After a failed append or flush — here, in the periodic flush or in the checkpointer's — nothing more is logged
 * and every later batch with changes is answered FAILED: Linux reports a writeback error once per file, so a later
 * flush that succeeds proves nothing about what the failed one should have covered, and only a restart's recovery,
 * which verifies what it cannot trust, can tell. Freed space is not reused after that either (the durable sequence
 * stops). Committer thread only.
 */
final class IndexJournal
{
    private enum Phase
    {
        IDLE, CHECKPOINTING, UNLINK_WAIT, RECLAIM_WAIT
    }

    /**
     * Shortest time from one checkpoint to one that is asked for: each costs LMDB a synced commit, so a client that
     * follows every PUT with a LIST would otherwise share the device's flushes with the durable writes of everyone.
     */
    static final long REQUESTED_CHECKPOINT_GAP_NANOS = 50_000_000L;

    private final WriteAheadLog log;
    private final Overlay overlay;
    private final Checkpointer checkpointer;
    private final IndexReader current;
    private final BatchEffects staged;
    private final Committer.DataSync dataSync;
    private final boolean durable;
    private final boolean oneFlush;
    private final long syncIntervalNanos;
    private final long checkpointIntervalNanos;
    private final int maxBatch;
    private final long openSequence;
    private final ErrorHandler errors;
    private AtomicLong epoch;

    private Phase phase = Phase.IDLE;
    private long checkpointSequence;
    private long checkpointPosition;
    private int checkpointCrc;
    private long graceEpoch;
    private long lastCheckpointNanos;
    private long lastSyncNanos;
    private volatile boolean failed; // read by health checks on other threads
    private long requestedFlush = -1;
    private long requestedFlushNanos;
    private boolean flushOverdue;
    private volatile long durableSequence;
    private long checkpointedSequence;
    private final Counter flushes = new Counter();
    private final Counter flushNanosTotal = new Counter();

    // What the last current() found.
    private long offset;
    private int length;
    private int sizeClass;
    private int crc;
    private int flags;

    /**
     * @param oneFlush true when one flush covers both files (both O_DIRECT on one device); see the class comment.
     */
    IndexJournal(
        final WriteAheadLog log,
        final Overlay overlay,
        final Checkpointer checkpointer,
        final BlockIndex index,
        final Committer.DataSync dataSync,
        final boolean durable,
        final boolean oneFlush,
        final long syncIntervalNanos,
        final long checkpointIntervalNanos,
        final int maxBatch,
        final long openSequence,
        final ErrorHandler errors)
    {
        if (maxBatch > log.maxEffectsPerRecord() || maxBatch > overlay.maxEntries() / 2)
        {
            throw new IllegalArgumentException("a batch of " + maxBatch + " changes must fit one log record (" +
                log.maxEffectsPerRecord() + ") and half an overlay table (" + overlay.maxEntries() / 2 + ")");
        }
        this.log = log;
        this.overlay = overlay;
        this.checkpointer = checkpointer;
        this.current = index.reader();
        this.staged = new BatchEffects(maxBatch);
        this.dataSync = dataSync;
        this.durable = durable;
        this.oneFlush = oneFlush;
        this.syncIntervalNanos = syncIntervalNanos;
        this.checkpointIntervalNanos = checkpointIntervalNanos;
        this.maxBatch = maxBatch;
        this.openSequence = openSequence;
        this.errors = errors;
        durableSequence = log.lastSequence();
        checkpointedSequence = log.lastSequence(); // recovery replayed everything into LMDB
        lastCheckpointNanos = System.nanoTime();
        lastSyncNanos = lastCheckpointNanos;
    }

    /** The committer's epoch, advanced here for the overlay's grace periods. */
    void epoch(final AtomicLong committerEpoch)
    {
        epoch = committerEpoch;
    }

    /**
     * @return whether a whole batch fits the overlay and the log now (otherwise the committer holds deltas back), or
     * the journal has failed: then deltas are taken and answered FAILED rather than left waiting.
     */
    boolean hasRoom()
    {
        return failed() || overlay.room() >= maxBatch && log.hasRoom(maxBatch) && !flushOverdue;
    }

    /** A commit threw: no more writes are accepted (and no more checkpoints taken) until a restart replays the log. */
    void failNow()
    {
        failed = true;
    }

    private boolean failed()
    {
        if (!failed && checkpointer.syncFailed())
        {
            failed = true;
        }
        return failed;
    }

    /** Starts a batch: nothing staged, and a fresh snapshot for its lookups (also after a batch that threw). */
    void beginBatch()
    {
        staged.clear();
        current.release();
    }

    // ---------------------------------------------------------------- a batch

    /**
     * Looks {@code hash} up as the batch sees it: its own staged changes, then the overlay and LMDB.
     *
     * @return true when the block exists; {@link #offset()} and the other accessors then describe it.
     */
    boolean find(final DirectBuffer hash, final int hashOffset)
    {
        final int inBatch = staged.find(hash, hashOffset);
        if (inBatch == BatchEffects.DELETED)
        {
            return false;
        }
        if (inBatch == BatchEffects.LIVE)
        {
            final int i = staged.found();
            offset = staged.offset(i);
            length = staged.length(i);
            sizeClass = staged.sizeClass(i);
            crc = staged.crc(i);
            flags = staged.flags(i);
            return true;
        }
        if (!current.lookup(hash, hashOffset))
        {
            return false;
        }
        offset = current.offset();
        length = current.length();
        sizeClass = current.sizeClass();
        crc = current.crc();
        flags = current.corrupt() ? IndexValue.CORRUPT : 0;
        return true;
    }

    long offset()
    {
        return offset;
    }

    int length()
    {
        return length;
    }

    int sizeClass()
    {
        return sizeClass;
    }

    int crc()
    {
        return crc;
    }

    int flags()
    {
        return flags;
    }

    void stagePut(final DirectBuffer hash, final int hashOffset, final long blockOffset, final int blockLength,
        final int blockClass, final int blockCrc, final int blockFlags)
    {
        staged.put(hash, hashOffset, blockOffset, blockLength, blockClass, blockCrc, blockFlags);
    }

    void stageDelete(final DirectBuffer hash, final int hashOffset)
    {
        staged.delete(hash, hashOffset);
    }

    /**
     * Logs the staged changes as one record, makes it durable (sync mode) and publishes the changes to readers.
     *
     * @param wroteBlocks the batch stored blocks, so the data file needs the flush.
     * @param blocks      blocks of the batch still to be written (null or empty: none), written while the record
     *                    is, and complete before the flush.
     * @return 0, or -errno when the changes were not logged (the batch fails; nothing of it is visible).
     */
    int commit(final boolean wroteBlocks, final BlockWriter blocks)
    {
        try
        {
            current.release(); // the snapshot is not needed past the lookups
            final int changes = staged.size();
            if (changes == 0)
            {
                return 0; // duplicates and misses only: nothing to make durable
            }
            if (failed())
            {
                return -Errno.EIO;
            }
            int rc = blocks == null ? 0 : blocks.start();
            if (rc < 0)
            {
                // The committer's ring failed: what it took is unknown, so this ends logging as a failed write does.
                failed = true;
                errors.onError("committer", "block writes could not be started (" + Errno.describe(rc) +
                    "): no more writes are accepted; restart the server");
                return rc;
            }
            final int blocksRc;
            try
            {
                rc = append();
            }
            catch (final RuntimeException e)
            {
                // A fault while writing the record (a bug: I/O errors are return values). What reached the disk is
                // unknown and nothing of the batch is visible yet, so it fails like a failed append, and is answered.
                errors.onError("committer", e);
                rc = -Errno.EIO;
            }
            finally
            {
                // Whatever the append did (or threw), the workers' buffers must not be given back, nor the next
                // batch's writes started, while the kernel still writes these.
                blocksRc = blocks == null ? 0 : blocks.await();
            }
            if (rc < 0)
            {
                // Part of the record may have reached the disk; a retry of another size could land elsewhere and
                // leave it there, in chain. Like a failed flush, this ends logging until a restart.
                failed = true;
                errors.onError("committer", "write-ahead log append failed (" + Errno.describe(rc) + "): no more " +
                    "writes are accepted; restart the server, whose recovery verifies what was logged");
                return rc;
            }
            if (blocksRc < 0)
            {
                // The record is written and names blocks that are not all on the device. Unflushed, it is newer than
                // the last flush every later record could name, so a restart verifies its blocks; stopping here
                // keeps it so. Like a failed append, this ends logging until a restart.
                failed = true;
                errors.onError("committer", "block write failed (" + Errno.describe(blocksRc) + "): no more " +
                    "writes are accepted; restart the server, whose recovery verifies what was logged");
                return blocksRc;
            }
            if (durable)
            {
                rc = flush(wroteBlocks);
                if (rc < 0)
                {
                    failed = true;
                    errors.onError("committer", "flush of a write-ahead log record failed (" + Errno.describe(rc) +
                        "): no more writes are accepted; restart the server, whose recovery verifies what was " +
                        "logged");
                    return rc;
                }
                durableSequence = log.lastSequence();
            }
            final DirectBuffer keys = staged.keys();
            for (int i = 0; i < changes; i++)
            {
                if (staged.isLive(i))
                {
                    overlay.put(keys, BatchEffects.keyOffset(i), staged.offset(i), staged.length(i),
                        staged.sizeClass(i), staged.crc(i), staged.flags(i));
                }
                else
                {
                    overlay.delete(keys, BatchEffects.keyOffset(i));
                }
            }
            return 0;
        }
        finally
        {
            staged.clear();
        }
    }

    /** Writes the staged changes as one log record. @return 0 or -errno. */
    private int append()
    {
        log.begin();
        final DirectBuffer keys = staged.keys();
        final int changes = staged.size();
        for (int i = 0; i < changes; i++)
        {
            if (staged.isLive(i))
            {
                log.addPut(keys, BatchEffects.keyOffset(i), staged.offset(i), staged.length(i),
                    staged.sizeClass(i), staged.crc(i), staged.flags(i));
            }
            else
            {
                log.addDelete(keys, BatchEffects.keyOffset(i));
            }
        }
        return log.append(durableSequence, openSequence);
    }

    private int flush(final boolean wroteBlocks)
    {
        final long start = System.nanoTime();
        flushes.increment();
        int rc = 0;
        if (wroteBlocks)
        {
            rc = dataSync.syncData();
        }
        // Unless the device flush behind the data file's fdatasync covered the record too.
        if (rc >= 0 && (!wroteBlocks || !oneFlush))
        {
            rc = log.sync();
        }
        flushNanosTotal.add(System.nanoTime() - start);
        return rc;
    }

    /** @return true in sync mode (a flush per batch). */
    boolean durable()
    {
        return durable;
    }

    long flushNanosTotal()
    {
        return flushNanosTotal.get();
    }

    /** @return the sequence of the last record logged (limbo tags freed space with it). */
    long lastSequence()
    {
        return log.lastSequence();
    }

    /** @return the last record whose changes LMDB holds. */
    long checkpointedSequence()
    {
        return checkpointedSequence;
    }

    /** @return the newest record known to be on disk with its blocks; freed space is reused only up to it. */
    long durableSequence()
    {
        return durableSequence;
    }

    // ---------------------------------------------------------------- between batches

    /**
     * Relaxed mode's periodic flush, and the overlay's checkpoint cycle.
     *
     * @param oldestPin the oldest epoch any reader is pinned at ({@link WorkerLink#NO_READS} for none: also when
     *                  closing, with every reader stopped).
     * @param force     checkpoint whatever the overlay holds now (closing).
     * @param requested a checkpoint is asked for (a LIST waits for one): taken once the last one is
     *                  {@link #REQUESTED_CHECKPOINT_GAP_NANOS} old.
     */
    int doWork(final long oldestPin, final boolean force, final boolean requested)
    {
        final long now = System.nanoTime();
        int work = 0;
        if (!durable)
        {
            work += periodicSync(now);
        }
        switch (phase)
        {
            case IDLE ->
            {
                // Failed, the log's last record may be one whose changes never reached the overlay: a checkpoint
                // now would record it as applied, and a restart would skip it.
                if (!failed() && wantsCheckpoint(now, force, requested) && overlay.canFreeze())
                {
                    overlay.freeze();
                    checkpointSequence = log.lastSequence();
                    checkpointPosition = log.nextPosition();
                    checkpointCrc = log.lastCrc();
                    checkpointer.request(checkpointSequence, checkpointPosition, checkpointCrc);
                    phase = Phase.CHECKPOINTING;
                    work++;
                }
            }
            case CHECKPOINTING ->
            {
                if (checkpointer.done() >= checkpointSequence)
                {
                    checkpointedSequence = checkpointSequence;
                    log.checkpointed(checkpointPosition);
                    if (checkpointSequence > durableSequence)
                    {
                        durableSequence = checkpointSequence; // LMDB holds those changes, their blocks flushed
                    }
                    lastCheckpointNanos = now;
                    graceEpoch = epoch.getAndIncrement(); // pins above it were taken after the checkpoint's commit
                    phase = Phase.UNLINK_WAIT;
                    work++;
                }
            }
            case UNLINK_WAIT ->
            {
                if (oldestPin > graceEpoch)
                {
                    overlay.unlinkFrozen();
                    graceEpoch = epoch.getAndIncrement(); // pins above it cannot have found the unlinked table
                    phase = Phase.RECLAIM_WAIT;
                    work++;
                }
            }
            case RECLAIM_WAIT ->
            {
                if (oldestPin > graceEpoch)
                {
                    overlay.reclaimUnlinked();
                    phase = Phase.IDLE;
                    work++;
                }
            }
        }
        return work;
    }

    private boolean wantsCheckpoint(final long now, final boolean force, final boolean requested)
    {
        final int entries = overlay.activeEntries();
        if (entries == 0)
        {
            return false;
        }
        return force || requested && now - lastCheckpointNanos >= REQUESTED_CHECKPOINT_GAP_NANOS ||
            entries >= overlay.maxEntries() / 2 || log.usedBytes() >= log.size() / 2 ||
            overlay.room() < maxBatch || !log.hasRoom(maxBatch) || now - lastCheckpointNanos >= checkpointIntervalNanos;
    }

    /** Relaxed mode: asks the checkpointer thread for a flush of what was logged, and takes in the last one done. */
    private int periodicSync(final long now)
    {
        final long flushed = checkpointer.flushed();
        int work = 0;
        if (flushed > durableSequence)
        {
            durableSequence = flushed;
            work++;
        }
        // Relaxed mode's promise is that a power loss takes back about one interval. Writes through the page cache
        // can outrun the disk, and the flush of a second's worth then takes longer than a second: a flush requested
        // an interval ago and still running holds new batches back until it completes, so the unflushed part stays
        // within about two intervals.
        final boolean overdue = requestedFlush > durableSequence && now - requestedFlushNanos >= syncIntervalNanos;
        if (overdue != flushOverdue)
        {
            flushOverdue = overdue;
            work++;
        }
        if (now - lastSyncNanos >= syncIntervalNanos && requestedFlush <= durableSequence)
        {
            lastSyncNanos = now;
            final long sequence = log.lastSequence();
            if (sequence > durableSequence && !failed())
            {
                checkpointer.requestFlush(sequence);
                requestedFlush = sequence;
                requestedFlushNanos = now;
                work++;
            }
        }
        return work;
    }

    /** Relaxed mode's last flush before a clean close, on the committer thread (the checkpointer may be stopping). */
    private void flushNow()
    {
        final long sequence = log.lastSequence();
        if (sequence <= durableSequence || failed())
        {
            return;
        }
        int rc = dataSync.syncData();
        if (rc >= 0)
        {
            rc = log.sync();
        }
        flushes.increment();
        if (rc < 0)
        {
            failed = true;
            errors.onError("committer", "final flush failed (" + Errno.describe(rc) + ")");
            return;
        }
        durableSequence = sequence;
    }

    /** @return true once nothing is left in the overlay and no checkpoint is in progress. */
    boolean drained()
    {
        return phase == Phase.IDLE && overlay.activeEntries() == 0;
    }

    /** @return how long checkpoints have been failing without one succeeding, 0 when the last one succeeded. */
    long checkpointsFailingNanos(final long now)
    {
        return checkpointer.failingNanos(now);
    }

    /** @return false when an append or a flush failed, so the shutdown must not be recorded as clean. */
    boolean healthy()
    {
        return !failed();
    }

    /** Relaxed mode's last flush before a clean close. */
    void finalSync()
    {
        if (!durable)
        {
            flushNow();
        }
    }

    void close()
    {
        current.close();
    }

    long flushes()
    {
        return flushes.get();
    }
}
