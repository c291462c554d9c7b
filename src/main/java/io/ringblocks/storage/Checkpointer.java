package io.ringblocks.storage;

import java.nio.ByteBuffer;
import java.util.concurrent.locks.LockSupport;

import org.agrona.DirectBuffer;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.UnsafeBuffer;
import org.lmdbjava.Txn;

import io.ringblocks.sys.Errno;

/**
 * Applies the overlay's frozen table to LMDB on its own thread, so that the committer's batches never wait for an
 * LMDB commit: one synced write transaction per checkpoint, in which page sharing makes the cost per change a
 * fraction of what one small synced commit per batch cost. The data file is fdatasync'ed first, so LMDB never names
 * a block whose bytes might still be in a volatile cache (in relaxed mode the log's periodic flush may not have
 * covered them yet). The transaction also records the last log record it completes ({@link BlockIndex#WAL_SEQUENCE}
 * and its position and CRC): recovery replays only the records after it, and the log may reuse the space before it.
 * <p>
 * The committer requests a checkpoint after freezing the overlay's active table ({@link #request}) and learns of
 * its completion through {@link #done()}; everything else about the overlay (dropping the frozen table once readers
 * have moved on) stays on the committer thread. A failed LMDB transaction is reported and retried after a back-off
 * (the log cannot wrap meanwhile, and the committer eventually holds writes back). A failed fdatasync is final
 * ({@link #syncFailed()}): Linux reports a writeback error once per file, so a retry that succeeds would not mean the
 * blocks are on disk, and LMDB must never name them; the journal then stops accepting writes.
 */
final class Checkpointer implements Agent, Overlay.FrozenVisitor
{
    private static final long RETRY_NANOS = 100_000_000L;

    private final BlockIndex index;
    private final Overlay overlay;
    private final Committer.DataSync dataSync;
    private final Committer.DataSync logSync;
    private final ErrorHandler errors;
    private final UnsafeBuffer key = new UnsafeBuffer(ByteBuffer.allocateDirect(BlockIndex.KEY_LENGTH));
    private final UnsafeBuffer value = new UnsafeBuffer(ByteBuffer.allocateDirect(IndexValue.VALUE_LENGTH));
    private Txn<DirectBuffer> txn;

    // Written by the committer: position and crc first, the sequence last (volatile) publishes all three.
    private long requestedPosition;
    private int requestedCrc;
    private volatile long requestedSequence = -1;
    private volatile long doneSequence = -1;
    private volatile long flushRequested = -1;
    private volatile long flushedSequence = -1;
    private volatile Thread thread;
    private volatile boolean syncFailed;
    private long retryAt;
    /** When the current run of failed checkpoints began (0: the last one succeeded), and its last cause. */
    private volatile long failingSince;
    private volatile String lastFailure;
    private long lastReportAt;
    /** A run of failures is reported when it starts and then at most this often (each retry is 100 ms apart). */
    private static final long REPORT_NANOS = 10_000_000_000L;

    // Statistics, written by the checkpointer thread only.
    private final Counter checkpoints = new Counter();
    private final Counter entriesApplied = new Counter();
    private final Counter nanosTotal = new Counter();
    private final Counter failures = new Counter();
    private final Counter flushes = new Counter();
    private final Counter flushNanosTotal = new Counter();
    private final Counter flushFailures = new Counter();

    /**
     * @param logSync flushes the write-ahead log (relaxed mode's periodic flush, {@link #requestFlush}).
     */
    Checkpointer(final BlockIndex index, final Overlay overlay, final Committer.DataSync dataSync,
        final Committer.DataSync logSync, final ErrorHandler errors)
    {
        this.index = index;
        this.overlay = overlay;
        this.dataSync = dataSync;
        this.logSync = logSync;
        this.errors = errors;
    }

    @Override
    public String roleName()
    {
        return "ringblocks-checkpointer";
    }

    @Override
    public void onStart()
    {
        thread = Thread.currentThread();
    }

    /**
     * Committer thread: the overlay's frozen table holds the changes of every record up to {@code sequence}; the
     * record after it starts at {@code position} and chains to {@code crc}.
     */
    void request(final long sequence, final long position, final int crc)
    {
        requestedPosition = position;
        requestedCrc = crc;
        requestedSequence = sequence;
        final Thread t = thread;
        if (t != null)
        {
            LockSupport.unpark(t);
        }
    }

    /**
     * Committer thread, relaxed mode: flush the data file and the log, which then hold every record up to
     * {@code sequence}. Here rather than on the committer, whose batches would wait behind a flush of a second's
     * worth of page-cache writes.
     */
    void requestFlush(final long sequence)
    {
        flushRequested = sequence;
        final Thread t = thread;
        if (t != null)
        {
            LockSupport.unpark(t);
        }
    }

    /** @return the last record a completed {@link #requestFlush} covered, -1 before the first. */
    long flushed()
    {
        return flushedSequence;
    }

    /** @return the sequence of the last checkpoint committed, -1 before the first. */
    long done()
    {
        return doneSequence;
    }

    @Override
    public int doWork()
    {
        if (syncFailed)
        {
            return 0;
        }
        int work = 0;
        final long flush = flushRequested;
        if (flush > flushedSequence)
        {
            work += flush(flush);
        }
        final long sequence = requestedSequence;
        if (sequence <= doneSequence || syncFailed || System.nanoTime() - retryAt < 0)
        {
            return work;
        }
        return work + (checkpoint(sequence, requestedPosition, requestedCrc) ? 1 : 0);
    }

    private int flush(final long sequence)
    {
        final long start = System.nanoTime();
        int rc = dataSync.syncData();
        if (rc >= 0)
        {
            rc = logSync.syncData();
        }
        flushes.increment();
        flushNanosTotal.add(System.nanoTime() - start);
        if (rc < 0)
        {
            syncFailed = true;
            flushFailures.increment();
            errors.onError("checkpointer", "periodic flush failed (" + Errno.describe(rc) + "): no more writes " +
                "are accepted; restart the server, whose recovery verifies what was logged");
            return 1;
        }
        flushedSequence = sequence;
        return 1;
    }

    private boolean checkpoint(final long sequence, final long position, final int crc)
    {
        final long start = System.nanoTime();
        final int rc = dataSync.syncData();
        if (rc < 0)
        {
            syncFailed = true;
            failures.increment();
            errors.onError("checkpointer", "fdatasync of the data file before a checkpoint failed (" +
                Errno.describe(rc) + "): no more checkpoints or writes; restart the server, whose recovery " +
                "verifies what was logged");
            return false;
        }
        int applied = 0;
        try (Txn<DirectBuffer> write = index.writeTxn())
        {
            txn = write;
            applied = overlay.forEachFrozen(this);
            index.putCheckpoint(write, sequence, position, crc);
            write.commit(); // synced: the environment never runs with MDB_NOSYNC or MDB_NOMETASYNC
        }
        catch (final RuntimeException e)
        {
            return failed("checkpoint of " + overlay.frozenEntries() + " index changes into LMDB failed", e);
        }
        finally
        {
            txn = null;
        }
        failingSince = 0;
        checkpoints.increment();
        entriesApplied.add(applied);
        nanosTotal.add(System.nanoTime() - start);
        doneSequence = sequence;
        return true;
    }

    private boolean failed(final String what, final RuntimeException cause)
    {
        final long now = System.nanoTime();
        failures.increment();
        retryAt = now + RETRY_NANOS;
        lastFailure = what + ": " + cause.getMessage();
        if (failingSince == 0)
        {
            failingSince = now | 1; // never 0
            lastReportAt = now;
            errors.onError("checkpointer: " + what + "; retrying every 100 ms", cause);
        }
        else if (now - lastReportAt >= REPORT_NANOS)
        {
            lastReportAt = now;
            errors.onError("checkpointer: " + what + "; still failing after " +
                (now - failingSince) / 1_000_000_000L + " s", cause);
        }
        return false;
    }

    /** @return how long checkpoints have been failing without one succeeding, 0 when the last one succeeded. */
    long failingNanos(final long now)
    {
        final long since = failingSince;
        return since == 0 ? 0 : now - since;
    }

    /** @return the cause of the last failed checkpoint (racy, for messages). */
    String lastFailure()
    {
        return lastFailure;
    }

    @Override
    public void visit(final DirectBuffer hash, final int hashOffset, final boolean live, final long offset,
        final int length, final int sizeClass, final int crc, final int flags)
    {
        key.putBytes(0, hash, hashOffset, BlockIndex.KEY_LENGTH);
        if (live)
        {
            IndexValue.encode(value, offset, length, sizeClass, 0, crc, flags);
            index.put(txn, key, value);
        }
        else
        {
            index.delete(txn, key); // absent already when the key was put and deleted between two checkpoints
        }
    }

    /** @return true once a data-file flush failed: nothing can be trusted to be on disk until a restart. */
    boolean syncFailed()
    {
        return syncFailed;
    }

    /** @return relaxed mode's periodic flushes done here, their time, and how many failed (STATS). */
    long flushes()
    {
        return flushes.get();
    }

    long flushNanosTotal()
    {
        return flushNanosTotal.get();
    }

    long flushFailures()
    {
        return flushFailures.get();
    }

    long checkpoints()
    {
        return checkpoints.get();
    }

    long entriesApplied()
    {
        return entriesApplied.get();
    }

    long nanosTotal()
    {
        return nanosTotal.get();
    }

    long failures()
    {
        return failures.get();
    }
}
