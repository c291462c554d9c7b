package io.ringblocks.uring;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicInteger;

import io.ringblocks.sys.Errno;
import io.ringblocks.sys.LibC;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Cross-thread wakeup of a ring that is blocked in submit-and-wait: the owner keeps an 8-byte read of an eventfd
 * in flight ({@link #arm}), and any thread calls {@link #wake()} to complete it. To keep the write syscall off
 * the common path, a waker only writes when the owner announced it is about to sleep
 * ({@link #prepareToSleep()}) and nobody has written since; the owner re-arms after each wakeup CQE.
 */
public final class Wakeup implements AutoCloseable
{
    private static final int AWAKE = 0;
    private static final int SLEEPING = 1;
    private static final int SIGNALLED = 2;

    private final int fd;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment counter = arena.allocate(JAVA_LONG);
    private final AtomicInteger state = new AtomicInteger(AWAKE);

    public Wakeup()
    {
        final int rc = LibC.eventfd(0, LibC.EFD_CLOEXEC);
        if (rc < 0)
        {
            arena.close();
            throw new RingException("eventfd", rc);
        }
        fd = rc;
    }

    /** @return the eventfd. */
    public int fd()
    {
        return fd;
    }

    /** Queues the eventfd read on the owner's ring; call again after its completion arrived. */
    public void arm(final Ring ring, final long userData)
    {
        ring.prepRead(fd, counter.address(), 8, 0, userData);
    }

    /**
     * Called by the owner before it blocks. Wakers that publish work after this see {@code SLEEPING} and write the
     * eventfd; the owner must re-check its inbound queues after this call and before blocking.
     */
    public void prepareToSleep()
    {
        state.set(SLEEPING);
    }

    /** Called by the owner after it woke up (or decided not to sleep). */
    public void awake()
    {
        state.set(AWAKE);
    }

    /** Wakes the owner if it is (about to be) blocked; safe from any thread, cheap when it is awake. */
    public void wake()
    {
        if (state.get() == SLEEPING && state.compareAndSet(SLEEPING, SIGNALLED))
        {
            signal();
        }
    }

    /** Unconditionally writes the eventfd. */
    public void signal()
    {
        final int rc = LibC.eventfdWrite(fd, 1);
        if (rc < 0 && rc != -Errno.EAGAIN)
        {
            throw new RingException("eventfd write", rc);
        }
    }

    @Override
    public void close()
    {
        LibC.close(fd);
        arena.close();
    }
}
