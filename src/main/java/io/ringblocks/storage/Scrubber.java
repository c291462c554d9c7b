package io.ringblocks.storage;

import java.io.IOException;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HexFormat;
import java.util.concurrent.locks.LockSupport;
import java.util.zip.CRC32C;

import com.sun.nio.file.ExtendedOpenOption;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * The background scrubber ({@code --scrub-rate}): walks the index in hash order, a small batch per read
 * transaction, reads each block with pread on its own descriptor, checks its CRC32C and asks the committer to flag
 * the ones that fail, so rot is found before a client asks for the block. Paced to the configured bytes per second
 * by sleeping between batches; it never spins.
 * <p>
 * The descriptor is O_DIRECT wherever the filesystem allows it, so every pass reads the device: through the page
 * cache, every pass after the first over a store smaller than memory would check cached copies, not the disk, and
 * would push the blocks clients read out of the cache besides. (An O_DIRECT read writes dirty pages of its range
 * back first, so a block written in relaxed mode and not yet flushed is checked as written.)
 * <p>
 * Why it cannot raise a false alarm on a block deleted meanwhile: each batch pins the committer epoch in its own
 * {@link WorkerLink} before taking its snapshot, exactly as a worker does, so no block the snapshot shows can be
 * freed (limbo) and rewritten until the batch's reads are over; and the committer applies MARK_CORRUPT only while
 * the entry still points at the offset that was read.
 */
public final class Scrubber implements Runnable, AutoCloseable, BlockIndex.EntryVisitor
{
    private static final System.Logger LOG = System.getLogger("ringblocks");
    private static final int BATCH = 64;
    /** Most bytes read under one pin: limbo waits for the batch, so it stays short even at high rates. */
    private static final long MAX_BATCH_BYTES = 8 << 20;
    private static final long EMPTY_PAUSE_NANOS = 1_000_000_000L;
    private static final long MAX_FAILURE_PAUSE_NANOS = 60_000_000_000L;
    /** O_DIRECT reads are whole pages into page-aligned memory; blocks start on page boundaries. */
    private static final int PAGE = 4096;

    private final BlockIndex index;
    private final CommitterClient client;
    private final WorkerLink link;
    private final ErrorHandler errors;
    private final Path file;
    private final FileChannel channel;
    /** The descriptor bypasses the page cache (O_DIRECT). */
    private final boolean direct;
    private final long rate;
    private final long batchBytes;
    private final ByteBuffer block;
    private final CRC32C crc32c = new CRC32C();
    private final UnsafeBuffer hashes = new UnsafeBuffer(ByteBuffer.allocateDirect(BATCH * BlockIndex.KEY_LENGTH));
    private final long[] offsets = new long[BATCH];
    private final int[] lengths = new int[BATCH];
    private final int[] crcs = new int[BATCH];
    private final int[] flags = new int[BATCH];
    private final UnsafeBuffer lastKey = new UnsafeBuffer(ByteBuffer.allocateDirect(BlockIndex.KEY_LENGTH));
    private boolean resume;
    private int collected;
    private long collectedBytes;
    private boolean skipped;
    private boolean readFailureReported;
    private long passBytes;
    /** Offsets reported lately: a flag takes a commit to show, and the next pass must not report the block again. */
    private final long[] reported = new long[16];
    private int reportedNext;
    private boolean idle;
    private final Thread thread;
    private volatile boolean running = true;

    private final Counter blocksVerified = new Counter();
    private final Counter bytesVerified = new Counter();
    private final Counter corruptFound = new Counter();
    private final Counter passes = new Counter();

    private Scrubber(final Store store, final CommitterClient client, final ErrorHandler errors)
    {
        this.index = store.index();
        this.client = client;
        this.link = client.link();
        this.errors = errors;
        this.file = store.dataPath();
        this.rate = store.config().scrubRate();
        this.batchBytes = Math.max(1, Math.min(MAX_BATCH_BYTES, rate / 10));
        final int span = (store.config().maxBlockSize() + PAGE - 1) & ~(PAGE - 1);
        this.block = ByteBuffer.allocateDirect(span + PAGE).alignedSlice(PAGE);
        FileChannel opened = store.directIo() ? openDirect(file) : null;
        direct = opened != null;
        try
        {
            if (opened == null)
            {
                opened = FileChannel.open(file, StandardOpenOption.READ);
            }
        }
        catch (final IOException e)
        {
            throw new IllegalStateException("scrubber cannot open " + file + ": " + e, e);
        }
        channel = opened;
        thread = new Thread(this, "ringblocks-scrubber");
        thread.setDaemon(true);
    }

    /** @return an O_DIRECT descriptor of {@code file}, or null where the filesystem refuses one or needs more alignment. */
    private static FileChannel openDirect(final Path file)
    {
        try
        {
            if (Files.getFileStore(file).getBlockSize() > PAGE)
            {
                return null;
            }
            return FileChannel.open(file, StandardOpenOption.READ, ExtendedOpenOption.DIRECT);
        }
        catch (final IOException | UnsupportedOperationException e)
        {
            LOG.log(System.Logger.Level.INFO, "scrubber reads " + file + " through the page cache: " + e);
            return null;
        }
    }

    /** The scrubber's own pin towards the committer; it receives no acknowledgements, so it needs no wakeup. */
    static WorkerLink link(final int id)
    {
        return new WorkerLink(id, 1024, null);
    }

    /** Starts a scrubber thread publishing through {@code client} (whose link the committer consults for limbo). */
    static Scrubber start(final Store store, final CommitterClient client, final ErrorHandler errors)
    {
        final Scrubber scrubber = new Scrubber(store, client, errors);
        scrubber.thread.start();
        return scrubber;
    }

    @Override
    public void run()
    {
        long next = System.nanoTime();
        long failurePause = EMPTY_PAUSE_NANOS;
        while (running)
        {
            final long bytes;
            try
            {
                bytes = batch();
                failurePause = EMPTY_PAUSE_NANOS;
            }
            catch (final RuntimeException e)
            {
                errors.onError("scrubber (retrying in " + failurePause / 1_000_000_000L + " s)", e);
                pause(failurePause);
                failurePause = Math.min(MAX_FAILURE_PAUSE_NANOS, failurePause * 2); // a lasting fault: few lines
                continue;
            }
            final long now = System.nanoTime();
            if (idle)
            {
                idle = false;
                next = now;
                pause(EMPTY_PAUSE_NANOS);
                continue;
            }
            // Never catch up on time spent elsewhere (a busy disk, a pause): that would be a burst.
            next = Math.max(next, now - EMPTY_PAUSE_NANOS) + bytes * 1_000_000_000L / rate;
            if (next > now)
            {
                pause(next - now);
            }
        }
    }

    private void pause(final long nanos)
    {
        final long until = System.nanoTime() + nanos;
        long left = nanos;
        while (running && left > 0)
        {
            LockSupport.parkNanos(this, left);
            left = until - System.nanoTime();
        }
    }

    /** Scans and verifies one batch under one epoch pin; returns the bytes verified. */
    private long batch()
    {
        collected = 0;
        collectedBytes = 0;
        skipped = false;
        // Pin before the snapshot exists, so nothing it shows can be reused until the reads below are done.
        link.publishOldestReadEpoch(client.epoch());
        VarHandle.fullFence(); // the pin's store before the snapshot's loads (see Lookups#pin)
        long bytes = 0;
        try
        {
            final int visited = index.scan(resume ? lastKey : null, BATCH, this);
            for (int i = 0; i < collected && running; i++)
            {
                bytes += verify(i);
            }
            passBytes += bytes;
            if (visited < BATCH && !skipped)
            {
                resume = false; // end of the index: the next batch starts a new pass
                passes.increment();
                readFailureReported = false;
                idle = passBytes == 0; // nothing to verify (empty, or every block flagged): rest a while
                passBytes = 0;
            }
        }
        finally
        {
            link.publishOldestReadEpoch(WorkerLink.NO_READS);
        }
        return bytes;
    }

    @Override
    public void visit(final DirectBuffer hash, final long offset, final int length, final int sizeClass,
        final int crc, final int entryFlags)
    {
        if (skipped || (collected > 0 && collectedBytes + length > batchBytes))
        {
            skipped = true; // left for the next batch, which resumes after the last collected key
            return;
        }
        final int i = collected++;
        hashes.putBytes(i * BlockIndex.KEY_LENGTH, hash, 0, BlockIndex.KEY_LENGTH);
        lastKey.putBytes(0, hash, 0, BlockIndex.KEY_LENGTH);
        resume = true;
        offsets[i] = offset;
        lengths[i] = length;
        crcs[i] = crc;
        flags[i] = entryFlags;
        collectedBytes += length;
    }

    private long verify(final int i)
    {
        if ((flags[i] & IndexValue.CORRUPT) != 0)
        {
            return 0; // already known and reported; a PUT of the content heals it
        }
        final int length = lengths[i];
        block.clear().limit(direct ? (length + PAGE - 1) & ~(PAGE - 1) : length);
        try
        {
            while (block.hasRemaining() && channel.read(block, offsets[i] + block.position()) > 0)
            {
                // pread until the block (and, O_DIRECT, its last page) is complete or the file ends
            }
        }
        catch (final IOException e)
        {
            if (!readFailureReported)
            {
                readFailureReported = true; // once per pass: a failing disk would otherwise flood the log
                errors.onError("scrubber: reading " + length + " bytes at " + offsets[i] + " of " + file, e);
            }
            return 0;
        }
        final boolean complete = block.position() >= length;
        block.flip().limit(Math.min(block.limit(), length));
        crc32c.reset();
        crc32c.update(block);
        blocksVerified.increment();
        bytesVerified.add(length);
        if (!complete || (int)crc32c.getValue() != crcs[i])
        {
            if (!reportedLately(offsets[i]))
            {
                corruptFound.increment();
                report("scrubber", hashes, i * BlockIndex.KEY_LENGTH, offsets[i], length, file);
            }
            markCorrupt(i);
        }
        return length;
    }

    private boolean reportedLately(final long offset)
    {
        for (final long r : reported)
        {
            if (r == offset + 1)
            {
                return true;
            }
        }
        reported[reportedNext] = offset + 1; // + 1: the zeroed array must not look like offset 0 was reported
        reportedNext = (reportedNext + 1) % reported.length;
        return false;
    }

    private void markCorrupt(final int i)
    {
        // One try: the batch's pin is held here, and a ring that is full because limbo is full only drains once
        // pins like this one end. Not flagged this time, the block is found again on the next pass.
        if (client.publishMarkCorrupt(Deltas.NO_ACK, hashes, i * BlockIndex.KEY_LENGTH, offsets[i]))
        {
            client.flush();
        }
    }

    /** Logs a block that failed its CRC32C check: one line, naming the block, where it is, and what to do. */
    public static void report(final String who, final DirectBuffer hash, final int hashOffset, final long offset,
        final int length, final Path file)
    {
        final byte[] h = new byte[BlockIndex.KEY_LENGTH];
        hash.getBytes(hashOffset, h);
        LOG.log(System.Logger.Level.WARNING, who + ": block " + HexFormat.of().formatHex(h) + " (" + length +
            " bytes at offset " + offset + " of " + file + ") failed its CRC32C check; GETs answer CORRUPT until a " +
            "PUT of the same content rewrites it");
    }

    public long blocksVerified()
    {
        return blocksVerified.get();
    }

    public long bytesVerified()
    {
        return bytesVerified.get();
    }

    /** @return blocks whose bytes did not match their CRC32C. */
    public long corruptFound()
    {
        return corruptFound.get();
    }

    /** @return completed passes over the whole index. */
    public long passes()
    {
        return passes.get();
    }

    /** @return true when the scrubber reads the device (O_DIRECT), not the page cache. */
    public boolean readsDevice()
    {
        return direct;
    }

    /** @return true while the thread runs (after {@link #close()}: it did not stop within the join's bound). */
    boolean isAlive()
    {
        return thread.isAlive();
    }

    /** Stops the thread (it finishes at most the block it is reading) and closes its descriptor. */
    @Override
    public void close()
    {
        running = false;
        LockSupport.unpark(thread);
        try
        {
            thread.join(10_000L);
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
        }
        try
        {
            channel.close();
        }
        catch (final IOException e)
        {
            errors.onError("scrubber: closing " + file, e);
        }
    }
}
