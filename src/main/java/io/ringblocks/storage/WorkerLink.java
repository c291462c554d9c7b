package io.ringblocks.storage;

import java.nio.ByteBuffer;

import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.ringbuffer.OneToOneRingBuffer;
import org.agrona.concurrent.ringbuffer.RingBufferDescriptor;

import io.ringblocks.uring.Wakeup;

/**
 * What the committer knows of one worker: where to post its acknowledgements, how to wake its ring, and the
 * oldest index epoch any of its in-flight block reads may have observed (so freed space is not reused under a
 * read).
 */
public final class WorkerLink
{
    /** Published when the worker has no block read in flight. */
    public static final long NO_READS = Long.MAX_VALUE;

    private final int id;
    private final OneToOneRingBuffer acks;
    private final Wakeup wakeup;
    private volatile long oldestReadEpoch = NO_READS;

    /**
     * @param ackCapacity bytes of acknowledgement ring (a power of two); size it for the worker's maximum number
     *                    of outstanding deltas × 24 bytes.
     */
    public WorkerLink(final int id, final int ackCapacity, final Wakeup wakeup)
    {
        this.id = id;
        this.wakeup = wakeup;
        acks = new OneToOneRingBuffer(new UnsafeBuffer(
            ByteBuffer.allocateDirect(ackCapacity + RingBufferDescriptor.TRAILER_LENGTH)));
    }

    public int id()
    {
        return id;
    }

    public OneToOneRingBuffer acks()
    {
        return acks;
    }

    public Wakeup wakeup()
    {
        return wakeup;
    }

    public long oldestReadEpoch()
    {
        return oldestReadEpoch;
    }

    /** Worker thread only: publish the oldest epoch tag among its in-flight reads ({@link #NO_READS} if none). */
    public void publishOldestReadEpoch(final long epoch)
    {
        oldestReadEpoch = epoch;
    }
}
