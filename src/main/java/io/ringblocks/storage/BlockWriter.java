package io.ringblocks.storage;

import java.lang.foreign.MemorySegment;

import io.ringblocks.sys.Errno;
import io.ringblocks.sys.LibC;
import io.ringblocks.uring.CompletionBatch;
import io.ringblocks.uring.Ring;
import io.ringblocks.uring.RingException;

/**
 * The block writes the committer makes itself. In sync mode a worker hands a small block's buffer over with its
 * OCCUPY instead of writing the block first ({@link Deltas#WRITE_OCCUPY}); the committer starts the writes of a
 * batch's new blocks, writes the batch's log record meanwhile, waits for the blocks, and one flush then covers both.
 * A small durable PUT's critical path becomes one device write and one flush, where it was the block write, a
 * thread hand-off, the record write and the flush (docs/design.md, "Which flushes a PUT waits for").
 * <p>
 * Writes go through the committer's own ring, set up on first use on the thread that uses it (the committer's:
 * IORING_SETUP_SINGLE_ISSUER binds a ring to its creator). At most {@link #MAX_IN_FLIGHT} are in flight; short
 * writes are resumed and -EINTR/-EAGAIN retried. Where no ring can be set up (a memlock limit, a seccomp filter) the
 * blocks are written one after the other with {@code pwrite}, slower but correct. The buffers belong to workers,
 * which keep them until the delta is acknowledged, so every write has completed before {@link #await()} returns,
 * and {@link #await()} must follow every successful {@link #start()}. Committer thread only.
 */
final class BlockWriter implements AutoCloseable
{
    /** Writes in flight at once: within the ring's SQ, so preparing one never has to submit behind our back. */
    static final int MAX_IN_FLIGHT = 64;
    private static final int RING_ENTRIES = MAX_IN_FLIGHT;
    private static final int MAX_RETRIES = 100;
    private static final System.Logger LOG = System.getLogger("ringblocks");

    private final int fd;
    private final long[] address;
    private final int[] length;
    private final long[] fileOffset;
    private final int[] done;
    private int count;
    private int nextToStart;
    private int inFlight;
    private int completed;
    private int firstError;
    private boolean broken;
    private boolean noRing;
    private Ring ring;
    private CompletionBatch completions;
    private final Counter writes = new Counter();
    private final Counter shortWrites = new Counter();

    /**
     * @param fd       the data file's descriptor the blocks are written through.
     * @param capacity most blocks in one batch (the committer's {@code maxBatch}).
     */
    BlockWriter(final int fd, final int capacity)
    {
        this(fd, capacity, true);
    }

    /** @param useRing false: always {@code pwrite} (tests of the fallback). */
    BlockWriter(final int fd, final int capacity, final boolean useRing)
    {
        if (fd < 0 || capacity < 1)
        {
            throw new IllegalArgumentException("fd must be >= 0 and capacity > 0: " + fd + ", " + capacity);
        }
        this.fd = fd;
        address = new long[capacity];
        length = new int[capacity];
        fileOffset = new long[capacity];
        done = new int[capacity];
        noRing = !useRing;
    }

    /** Forgets the previous batch's blocks. */
    void clear()
    {
        count = 0;
        nextToStart = 0;
        inFlight = 0;
        completed = 0;
        firstError = 0;
    }

    /** Adds a block of the batch: {@code length} bytes (a multiple of 4 KiB) at {@code address} to {@code offset}. */
    void add(final long bufferAddress, final int bytes, final long offset)
    {
        if (count == address.length)
        {
            throw new IllegalArgumentException("more than " + address.length + " block writes in one batch");
        }
        address[count] = bufferAddress;
        length[count] = bytes;
        fileOffset[count] = offset;
        done[count] = 0;
        count++;
    }

    int size()
    {
        return count;
    }

    /**
     * Starts the batch's writes without waiting for them (without a ring: makes them, and remembers the outcome
     * for {@link #await()}).
     *
     * @return 0, or -errno when none was started because the ring failed before: what it had taken is unknown.
     */
    int start()
    {
        if (count == 0)
        {
            return 0;
        }
        if (broken)
        {
            return -Errno.EIO;
        }
        if (ring == null && !noRing)
        {
            try
            {
                ring = new Ring(RING_ENTRIES);
                completions = new CompletionBatch(RING_ENTRIES * 4);
            }
            catch (final RingException e)
            {
                noRing = true;
                LOG.log(System.Logger.Level.WARNING, "committer: no io_uring for block writes (" + e.getMessage() +
                    "); small blocks are written with pwrite, one after the other");
            }
        }
        if (noRing)
        {
            writeEach();
            return 0;
        }
        startMore();
        return submit();
    }

    private void writeEach()
    {
        for (int i = 0; i < count; i++)
        {
            int retries = 0;
            while (done[i] < length[i])
            {
                final long n = LibC.pwrite(fd, MemorySegment.ofAddress(address[i] + done[i]).reinterpret(
                    length[i] - done[i]), length[i] - done[i], fileOffset[i] + done[i]);
                if ((n == -Errno.EINTR || n == -Errno.EAGAIN) && ++retries <= MAX_RETRIES)
                {
                    continue;
                }
                if (n <= 0)
                {
                    if (firstError == 0)
                    {
                        firstError = n < 0 ? (int)n : -Errno.EIO;
                    }
                    break;
                }
                done[i] += (int)n;
            }
            if (done[i] == length[i])
            {
                writes.increment();
            }
            completed++;
        }
    }

    /**
     * Waits until every write of the batch has completed (resuming short writes, retrying -EINTR/-EAGAIN).
     *
     * @return 0, or the first -errno a write failed with: the batch's blocks are then not all on the device.
     */
    int await()
    {
        if (count == 0)
        {
            return 0;
        }
        while (completed < count && !broken)
        {
            try
            {
                ring.submitAndWait(1);
                final int n = ring.reap(completions);
                for (int k = 0; k < n; k++)
                {
                    onCompletion((int)completions.userData(k), completions.result(k));
                }
            }
            catch (final RingException e)
            {
                // Writes may still be in flight from buffers the workers get back with FAILED; harmless only
                // because the journal fails now: nothing is indexed or written after this, and recovery verifies.
                broken = true;
                return e.errno() > 0 ? -e.errno() : -Errno.EIO;
            }
            startMore();
        }
        return broken ? -Errno.EIO : firstError;
    }

    private void onCompletion(final int i, final int res)
    {
        inFlight--;
        if (res == -Errno.EINTR || res == -Errno.EAGAIN)
        {
            prepare(i);
            return;
        }
        if (res <= 0)
        {
            // 0 bytes written into preallocated space is as much a failure as an error.
            if (firstError == 0)
            {
                firstError = res < 0 ? res : -Errno.EIO;
            }
            completed++;
            return;
        }
        done[i] += res;
        if (done[i] < length[i])
        {
            shortWrites.increment();
            prepare(i);
            return;
        }
        writes.increment();
        completed++;
    }

    private void startMore()
    {
        while (nextToStart < count && inFlight < MAX_IN_FLIGHT)
        {
            prepare(nextToStart++);
        }
    }

    private void prepare(final int i)
    {
        ring.prepWrite(fd, address[i] + done[i], length[i] - done[i], fileOffset[i] + done[i], i);
        inFlight++;
    }

    private int submit()
    {
        try
        {
            ring.submit();
            return 0;
        }
        catch (final RingException e)
        {
            // What the kernel took is unknown: the journal fails, so no block is written or indexed after this.
            broken = true;
            return e.errno() > 0 ? -e.errno() : -Errno.EIO;
        }
    }

    /** @return blocks written so far. */
    long writes()
    {
        return writes.get();
    }

    /** @return writes the device took only part of, resumed. */
    long shortWrites()
    {
        return shortWrites.get();
    }

    @Override
    public void close()
    {
        if (ring != null)
        {
            ring.close();
            ring = null;
        }
    }
}
