package io.ringblocks.uring;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

import io.ringblocks.ffi.__kernel_timespec;
import io.ringblocks.ffi.io_uring;
import io.ringblocks.ffi.io_uring_cq;
import io.ringblocks.ffi.io_uring_cqe;
import io.ringblocks.ffi.io_uring_params;
import io.ringblocks.ffi.io_uring_sq;
import io.ringblocks.ffi.iovec;
import io.ringblocks.ffi.liburing;
import io.ringblocks.sys.Errno;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * One io_uring instance, owned by exactly one thread: the thread that constructs it is the only one that may
 * prepare SQEs, submit, wait and reap (the ring is set up with {@code IORING_SETUP_SINGLE_ISSUER} and
 * {@code DEFER_TASKRUN} when the kernel has them). Other threads reach it only through an eventfd
 * ({@link Wakeup}).
 * <p>
 * Setup, submit/enter and registration are downcalls into liburing; the per-SQE and per-CQE work is Java over
 * the mmap'ed rings: {@link #nextSqe()} ports {@code _io_uring_get_sqe} (liburing.h:1258) and {@link #reap}
 * ports {@code io_uring_for_each_cqe} + {@code io_uring_cq_advance} (liburing.h:274-298) with the same
 * acquire load of the CQ tail and release store of the CQ head. When the SQ is full, {@link #nextSqe()} submits
 * what is queued and continues, so callers may queue more SQEs than the ring has entries. The SQE formats (the
 * {@code io_uring_prep_*} ports) live in {@link SqePrep}.
 */
public final class Ring extends SqePrep implements AutoCloseable
{
    public static final int CQE_F_MORE = liburing.IORING_CQE_F_MORE();
    public static final int FSYNC_DATASYNC = liburing.IORING_FSYNC_DATASYNC();
    public static final int SQE_IO_LINK = liburing.IOSQE_IO_LINK();
    public static final int SQE_IO_HARDLINK = liburing.IOSQE_IO_HARDLINK();
    /** The SQE's fd is an index into the files registered with {@link #registerFiles(int...)}. */
    public static final int SQE_FIXED_FILE = liburing.IOSQE_FIXED_FILE();
    public static final int SQE_CQE_SKIP_SUCCESS = liburing.IOSQE_CQE_SKIP_SUCCESS();
    public static final int MSG_NOSIGNAL = 0x4000;
    public static final int MSG_WAITALL = 0x100;

    private static final VarHandle INT = JAVA_INT.varHandle();
    private static final long CQE_SIZE = io_uring_cqe.layout().byteSize();
    private static final long CQE_USER_DATA = io_uring_cqe.user_data$offset();
    private static final long CQE_RES = io_uring_cqe.res$offset();
    private static final long CQE_FLAGS = io_uring_cqe.flags$offset();
    private static final int SQ_CQ_OVERFLOW = liburing.IORING_SQ_CQ_OVERFLOW();
    private static final int SQ_TASKRUN = liburing.IORING_SQ_TASKRUN();
    private static final int FULL_FLAGS = liburing.IORING_SETUP_SINGLE_ISSUER() |
        liburing.IORING_SETUP_DEFER_TASKRUN() | liburing.IORING_SETUP_SUBMIT_ALL();
    private static final int COOP_FLAGS = liburing.IORING_SETUP_COOP_TASKRUN() |
        liburing.IORING_SETUP_TASKRUN_FLAG() | liburing.IORING_SETUP_SUBMIT_ALL();

    static
    {
        // Every downcall a running ring may make is linked now, while descriptors are plentiful: the binding's
        // holder classes load lazily, loading a class can open a file, and a worker out of descriptors (EMFILE) must
        // still be able to wait, submit and shut down (DescriptorExhaustionTest saw NoClassDefFoundError there).
        liburing.io_uring_submit$handle();
        liburing.io_uring_submit_and_wait$handle();
        liburing.io_uring_submit_and_wait_timeout$handle();
        liburing.io_uring_submit_and_get_events$handle();
        liburing.io_uring_get_events$handle();
        liburing.io_uring_queue_exit$handle();
        liburing.io_uring_unregister_buf_ring$handle();
        liburing.io_uring_unregister_buffers$handle();
        liburing.io_uring_register_buffers_update_tag$handle(); // fixed buffers are registered as they are used
        liburing.io_uring_unregister_files$handle();
    }

    private final Arena arena = Arena.ofShared();
    private final MemorySegment ring;
    private final MemorySegment sq;
    private final MemorySegment sqKhead;
    private final MemorySegment sqKflags;
    private final MemorySegment cqes;
    private final MemorySegment cqKhead;
    private final MemorySegment cqKtail;
    private final MemorySegment cqKoverflow;
    private final MemorySegment timespec;
    private final MemorySegment cqePtr;
    /** The one iovec {@link #updateBuffer} hands the kernel (allocated once: no garbage per update). */
    private final MemorySegment updateIovec;
    private final int sqMask;
    private final int sqEntries;
    private final int cqMask;
    private final int cqEntries;
    private final int setupFlags;
    private final int features;
    private final Thread owner;
    private int sqeTail;
    private long submitted;
    private long sqFullSubmits;
    private long overflowFlushes;
    private boolean closed;

    /**
     * Sets up a ring on the calling thread, which becomes its only user.
     *
     * @param entries SQ entries (rounded up to a power of two by the kernel); the CQ gets four times as many.
     */
    public Ring(final int entries)
    {
        // The completion queue is four times the submission queue, and the kernel caps it at 65536 entries.
        if (entries < 1 || entries > 16384)
        {
            throw new IllegalArgumentException("entries must be in 1..16384: " + entries);
        }
        ring = io_uring.allocate(arena);
        final MemorySegment params = io_uring_params.allocate(arena);
        // Newest flags first; an older kernel answers -EINVAL and we step down (DEFER_TASKRUN needs 6.1,
        // SINGLE_ISSUER 6.0, COOP_TASKRUN/TASKRUN_FLAG 5.19, SUBMIT_ALL 5.18).
        final int[] attempts = {FULL_FLAGS, COOP_FLAGS, 0};
        int rc = -Errno.EINVAL;
        int flags = 0;
        for (final int attempt : attempts)
        {
            params.fill((byte)0);
            flags = attempt | liburing.IORING_SETUP_CQSIZE();
            io_uring_params.flags(params, flags);
            io_uring_params.cq_entries(params, entries * 4);
            rc = liburing.io_uring_queue_init_params(entries, ring, params);
            if (rc != -Errno.EINVAL)
            {
                break;
            }
        }
        if (rc < 0)
        {
            arena.close();
            throw new RingException("io_uring_queue_init_params(" + entries + ")", rc);
        }
        setupFlags = flags;
        features = io_uring_params.features(params);
        owner = Thread.currentThread();

        sq = io_uring.sq(ring);
        final MemorySegment cq = io_uring.cq(ring);
        sqMask = io_uring_sq.ring_mask(sq);
        sqEntries = io_uring_sq.ring_entries(sq);
        cqMask = io_uring_cq.ring_mask(cq);
        cqEntries = io_uring_cq.ring_entries(cq);
        sqes = io_uring_sq.sqes(sq).reinterpret(Sqe.SIZE * sqEntries);
        sqKhead = io_uring_sq.khead(sq).reinterpret(4);
        sqKflags = io_uring_sq.kflags(sq).reinterpret(4);
        cqes = io_uring_cq.cqes(cq).reinterpret(CQE_SIZE * cqEntries);
        cqKhead = io_uring_cq.khead(cq).reinterpret(4);
        cqKtail = io_uring_cq.ktail(cq).reinterpret(4);
        cqKoverflow = io_uring_cq.koverflow(cq).reinterpret(4);
        sqeTail = io_uring_sq.sqe_tail(sq);
        timespec = __kernel_timespec.allocate(arena);
        cqePtr = arena.allocate(JAVA_LONG);
        updateIovec = iovec.allocate(arena);
    }

    /** @return the SQ size the kernel granted. */
    public int sqEntries()
    {
        return sqEntries;
    }

    /** @return the CQ size the kernel granted. */
    public int cqEntries()
    {
        return cqEntries;
    }

    /** @return the IORING_SETUP_* flags this ring was created with (after fallback). */
    public int setupFlags()
    {
        return setupFlags;
    }

    /** @return true when the kernel took SINGLE_ISSUER and DEFER_TASKRUN. */
    public boolean deferTaskrun()
    {
        return (setupFlags & liburing.IORING_SETUP_DEFER_TASKRUN()) != 0;
    }

    /** @return IORING_FEAT_* bits reported by the kernel. */
    public int features()
    {
        return features;
    }

    /** @return SQEs handed to the kernel so far. */
    public long submitted()
    {
        return submitted;
    }

    /** @return how many times a full SQ forced an early submit. */
    public long sqFullSubmits()
    {
        return sqFullSubmits;
    }

    /** @return how many times a CQ overflow backlog had to be flushed into the CQ. */
    public long overflowFlushes()
    {
        return overflowFlushes;
    }

    /** @return CQEs the kernel dropped because the CQ was full (0 on kernels with IORING_FEAT_NODROP). */
    public int droppedCqes()
    {
        return cqKoverflow.get(JAVA_INT, 0);
    }

    /** @return SQEs prepared but not yet submitted. */
    public int pending()
    {
        return sqeTail - io_uring_sq.sqe_head(sq);
    }

    /**
     * Makes room for the next {@code count} SQEs, submitting what is queued when the SQ lacks it: a linked chain must
     * not be split by the submit {@link #nextSqe()} makes when the SQ fills between two of its SQEs.
     */
    public void reserve(final int count)
    {
        if (count < 1 || count > sqEntries)
        {
            throw new IllegalArgumentException("cannot reserve " + count + " of " + sqEntries + " SQEs");
        }
        if (sqeTail + count - sqKhead.get(JAVA_INT, 0) > sqEntries)
        {
            submit();
        }
    }

    /**
     * Port of {@code _io_uring_get_sqe} (liburing.h:1258-1283): without SQPOLL the kernel only moves the SQ head
     * inside io_uring_enter on this same thread, so a plain read of khead (IO_URING_READ_ONCE) suffices.
     * A full SQ is submitted first, so this never fails while the kernel accepts SQEs.
     *
     * @return the byte offset of a zeroable SQE inside {@link #sqes}.
     */
    @Override
    long nextSqe()
    {
        int head = sqKhead.get(JAVA_INT, 0);
        if (sqeTail + 1 - head > sqEntries)
        {
            sqFullSubmits++;
            // The kernel may refuse for a moment (-EBUSY/-EAGAIN with a CQ backlog); running task work and
            // flushing the backlog into the CQ (NODROP keeps it) lets it take the SQEs.
            for (int attempt = 0; attempt < 100 && sqeTail + 1 - head > sqEntries; attempt++)
            {
                if (attempt == 0)
                {
                    submit();
                }
                else
                {
                    submitAndGetEvents();
                    if (attempt > 10)
                    {
                        Thread.onSpinWait();
                    }
                }
                head = sqKhead.get(JAVA_INT, 0);
            }
            if (sqeTail + 1 - head > sqEntries)
            {
                throw new RingException("io_uring_get_sqe: SQ still full after 100 submits", -Errno.EBUSY);
            }
        }
        final long offset = (sqeTail & sqMask) * Sqe.SIZE;
        sqeTail++;
        io_uring_sq.sqe_tail(sq, sqeTail);
        return offset;
    }

    /**
     * Sets IOSQE_* flags on the most recently prepared SQE (io_uring_sqe_set_flags, liburing.h:350), e.g.
     * {@link #SQE_IO_LINK} to chain it to the next one.
     */
    public void setLastSqeFlags(final int sqeFlags)
    {
        if (sqeTail == io_uring_sq.sqe_head(sq))
        {
            throw new IllegalArgumentException("no SQE prepared since the last submit");
        }
        Sqe.flags(sqes, ((sqeTail - 1) & sqMask) * Sqe.SIZE, sqeFlags);
    }

    /**
     * @return a ring-owned {@code __kernel_timespec} set to {@code nanos}; valid until the next call.
     */
    public MemorySegment timespec(final long nanos)
    {
        __kernel_timespec.tv_sec(timespec, nanos / 1_000_000_000L);
        __kernel_timespec.tv_nsec(timespec, nanos % 1_000_000_000L);
        return timespec;
    }

    /**
     * Hands every prepared SQE to the kernel in one io_uring_enter (io_uring_submit). -EINTR is retried;
     * -EAGAIN/-EBUSY (kernel out of memory for requests, or a CQ overflow backlog) are left for the next call,
     * after the caller reaped.
     *
     * @return SQEs submitted (>= 0).
     */
    public int submit()
    {
        checkOwner();
        while (true)
        {
            final int rc = liburing.io_uring_submit(ring);
            if (rc >= 0)
            {
                submitted += rc;
                return rc;
            }
            if (rc == -Errno.EAGAIN || rc == -Errno.EBUSY)
            {
                return 0;
            }
            if (rc != -Errno.EINTR)
            {
                throw new RingException("io_uring_submit", rc);
            }
        }
    }

    /**
     * Submits and blocks until at least {@code waitNr} completions are in the CQ (io_uring_submit_and_wait), the
     * way an idle worker sleeps. Returns early on a signal (-EINTR).
     *
     * @return SQEs submitted.
     */
    public int submitAndWait(final int waitNr)
    {
        checkOwner();
        final int rc = liburing.io_uring_submit_and_wait(ring, waitNr);
        if (rc >= 0)
        {
            submitted += rc;
            return rc;
        }
        if (rc == -Errno.EINTR || rc == -Errno.EAGAIN || rc == -Errno.EBUSY || rc == -Errno.ETIME)
        {
            return 0;
        }
        throw new RingException("io_uring_submit_and_wait", rc);
    }

    /**
     * Submits and waits for {@code waitNr} completions or until {@code timeoutNanos} elapsed
     * (io_uring_submit_and_wait_timeout, with IORING_FEAT_EXT_ARG no timeout SQE is used).
     *
     * @return SQEs submitted, or 0 on timeout.
     */
    public int submitAndWait(final int waitNr, final long timeoutNanos)
    {
        checkOwner();
        final int before = pending();
        final int rc = liburing.io_uring_submit_and_wait_timeout(ring, cqePtr, waitNr, timespec(timeoutNanos),
            MemorySegment.NULL);
        if (rc >= 0)
        {
            submitted += rc;
            return rc;
        }
        if (rc == -Errno.ETIME || rc == -Errno.EINTR || rc == -Errno.EAGAIN || rc == -Errno.EBUSY)
        {
            submitted += before - pending();
            return 0;
        }
        throw new RingException("io_uring_submit_and_wait_timeout", rc);
    }

    /**
     * Submits and runs deferred task work without waiting (io_uring_submit_and_get_events): with
     * DEFER_TASKRUN, completions only reach the CQ when the owner enters the kernel with GETEVENTS.
     */
    public int submitAndGetEvents()
    {
        checkOwner();
        final int rc = liburing.io_uring_submit_and_get_events(ring);
        if (rc >= 0)
        {
            submitted += rc;
            return rc;
        }
        if (rc == -Errno.EINTR || rc == -Errno.EAGAIN || rc == -Errno.EBUSY)
        {
            return 0;
        }
        throw new RingException("io_uring_submit_and_get_events", rc);
    }

    /**
     * Copies up to {@code batch.capacity()} CQEs into {@code batch} and returns their slots to the kernel.
     * Port of io_uring_for_each_cqe (liburing.h:274) + io_uring_cq_advance (liburing.h:286): the tail is read
     * with acquire semantics (io_uring_smp_load_acquire) so the CQE contents are visible, and the new head is
     * published with a release store (io_uring_smp_store_release) only after the entries were copied. When the
     * CQ is empty but the kernel flagged an overflow backlog or pending task work, the backlog is flushed
     * (io_uring_get_events) and read once more, so no completion is stranded.
     *
     * @return the number of completions now in {@code batch}.
     */
    public int reap(final CompletionBatch batch)
    {
        batch.clear();
        int n = copyCompletions(batch);
        if (n < batch.capacity())
        {
            final int sqFlags = (int)INT.getVolatile(sqKflags, 0L);
            if ((sqFlags & (SQ_CQ_OVERFLOW | SQ_TASKRUN)) != 0)
            {
                if ((sqFlags & SQ_CQ_OVERFLOW) != 0)
                {
                    overflowFlushes++;
                }
                final int rc = liburing.io_uring_get_events(ring);
                if (rc < 0 && rc != -Errno.EINTR && rc != -Errno.EAGAIN && rc != -Errno.EBUSY)
                {
                    throw new RingException("io_uring_get_events", rc);
                }
                n += copyCompletions(batch);
            }
        }
        return n;
    }

    private int copyCompletions(final CompletionBatch batch)
    {
        final int tail = (int)INT.getAcquire(cqKtail, 0L);
        final int head = cqKhead.get(JAVA_INT, 0);
        final int n = Math.min(tail - head, batch.capacity() - batch.size());
        for (int i = 0; i < n; i++)
        {
            final long cqe = ((head + i) & cqMask) * CQE_SIZE;
            batch.add(
                cqes.get(JAVA_LONG, cqe + CQE_USER_DATA),
                cqes.get(JAVA_INT, cqe + CQE_RES),
                cqes.get(JAVA_INT, cqe + CQE_FLAGS));
        }
        if (n > 0)
        {
            INT.setRelease(cqKhead, 0L, head + n);
        }
        return n;
    }

    /**
     * Registers {@code count} buffers of {@code size} bytes laid end to end from {@code base}
     * (io_uring_register_buffers); buffer {@code i} is then index {@code i} in read/write_fixed.
     */
    public void registerBuffers(final MemorySegment base, final int count, final long size)
    {
        if (count <= 0 || size <= 0 || base.byteSize() < count * size)
        {
            throw new IllegalArgumentException("need count > 0 buffers of size > 0 inside base: count=" + count +
                " size=" + size + " base=" + base.byteSize());
        }
        checkOwner();
        try (Arena call = Arena.ofConfined())
        {
            final MemorySegment iovecs = iovec.allocateArray(count, call);
            for (int i = 0; i < count; i++)
            {
                final MemorySegment iov = iovec.asSlice(iovecs, i);
                iovec.iov_base(iov, base.asSlice(i * size, size));
                iovec.iov_len(iov, size);
            }
            final int rc = liburing.io_uring_register_buffers(ring, iovecs, count);
            if (rc < 0)
            {
                throw new RingException("io_uring_register_buffers(" + count + " x " + size + ")", rc);
            }
        }
    }

    /**
     * A fixed-buffer table of {@code count} empty slots (io_uring_register_buffers_sparse), to be filled one at a time
     * by {@link #updateBuffer}, so that memory is pinned only once it is used for fixed I/O.
     *
     * @return 0, or -errno (-EINVAL before Linux 5.19: register the buffers at once instead).
     */
    public int registerSparseBuffers(final int count)
    {
        if (count <= 0)
        {
            throw new IllegalArgumentException("need count > 0: " + count);
        }
        checkOwner();
        return liburing.io_uring_register_buffers_sparse(ring, count);
    }

    /**
     * Puts {@code [address, address + length)} into slot {@code index} of the fixed-buffer table
     * (io_uring_register_buffers_update_tag, no tag): the kernel pins its pages now.
     *
     * @return 1 (the slot was updated), or -errno (e.g. -ENOMEM over RLIMIT_MEMLOCK).
     */
    public int updateBuffer(final int index, final long address, final long length)
    {
        if (index < 0 || address == 0 || length <= 0)
        {
            throw new IllegalArgumentException("need index >= 0 and a buffer: index=" + index + " address=" +
                address + " length=" + length);
        }
        checkOwner();
        iovec.iov_base(updateIovec, MemorySegment.ofAddress(address));
        iovec.iov_len(updateIovec, length);
        return liburing.io_uring_register_buffers_update_tag(ring, index, updateIovec, MemorySegment.NULL, 1);
    }

    /** io_uring_register_buf_ring(ring, reg, 0). @return 0 or -errno ({@link BufferRing#register} decides). */
    int registerBufRing(final MemorySegment reg)
    {
        checkOwner();
        return liburing.io_uring_register_buf_ring(ring, reg, 0);
    }

    /** io_uring_unregister_buf_ring; a failure is reported, never thrown (it runs while closing). */
    void unregisterBufRing(final int group)
    {
        if (!closed)
        {
            checkOwner();
            final int rc = liburing.io_uring_unregister_buf_ring(ring, group);
            if (rc < 0)
            {
                System.getLogger("ringblocks").log(System.Logger.Level.WARNING,
                    "io_uring_unregister_buf_ring(" + group + ") failed: " + Errno.describe(rc));
            }
        }
    }

    /** io_uring_unregister_buffers. */
    public void unregisterBuffers()
    {
        checkOwner();
        final int rc = liburing.io_uring_unregister_buffers(ring);
        if (rc < 0)
        {
            throw new RingException("io_uring_unregister_buffers", rc);
        }
    }

    /** Registers {@code fds} as fixed files 0..n-1 (io_uring_register_files). */
    public void registerFiles(final int... fds)
    {
        checkOwner();
        try (Arena call = Arena.ofConfined())
        {
            final MemorySegment array = call.allocateFrom(JAVA_INT, fds);
            final int rc = liburing.io_uring_register_files(ring, array, fds.length);
            if (rc < 0)
            {
                throw new RingException("io_uring_register_files(" + fds.length + ")", rc);
            }
        }
    }

    /** io_uring_unregister_files. */
    public void unregisterFiles()
    {
        checkOwner();
        final int rc = liburing.io_uring_unregister_files(ring);
        if (rc < 0)
        {
            throw new RingException("io_uring_unregister_files", rc);
        }
    }

    private void checkOwner()
    {
        if (Thread.currentThread() != owner)
        {
            throw new IllegalStateException("ring used from " + Thread.currentThread().getName() +
                " but owned by " + owner.getName());
        }
        if (closed)
        {
            throw new IllegalStateException("ring closed");
        }
    }

    /** Tears the ring down (io_uring_queue_exit); in-flight requests are cancelled by the kernel. */
    @Override
    public void close()
    {
        if (!closed)
        {
            checkOwner();
            closed = true;
            liburing.io_uring_queue_exit(ring);
            arena.close();
        }
    }
}
