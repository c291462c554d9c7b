package io.ringblocks.uring;

import java.lang.foreign.MemorySegment;

import io.ringblocks.ffi.liburing;

/**
 * The ports of liburing 2.3's {@code io_uring_prep_*} inline helpers (liburing.h): each takes the next SQE of the
 * ring ({@link #nextSqe()}) and fills it over the generated layouts, with no downcall. {@link Ring} is the only
 * implementation; the split keeps the SQE formats apart from setup, submission and completion.
 */
public abstract sealed class SqePrep permits Ring
{
    /** The mmap'ed SQE array, set once by the ring's constructor. */
    MemorySegment sqes;

    SqePrep()
    {
    }

    /** @return the byte offset in {@link #sqes} of a zeroed-to-be SQE now owned by the caller. */
    abstract long nextSqe();

    /** io_uring_prep_nop (liburing.h:545). */
    public void prepNop(final long userData)
    {
        Sqe.rw(sqes, nextSqe(), Sqe.OP_NOP, -1, 0, 0, 0, userData);
    }

    /** io_uring_prep_read (liburing.h:696): read {@code len} bytes at file {@code offset} into {@code addr}. */
    public void prepRead(final int fd, final long addr, final int len, final long offset, final long userData)
    {
        Sqe.rw(sqes, nextSqe(), Sqe.OP_READ, fd, addr, len, offset, userData);
    }

    /** io_uring_prep_write (liburing.h:702). */
    public void prepWrite(final int fd, final long addr, final int len, final long offset, final long userData)
    {
        Sqe.rw(sqes, nextSqe(), Sqe.OP_WRITE, fd, addr, len, offset, userData);
    }

    /** io_uring_prep_read_fixed (liburing.h:444): {@code addr} must lie inside registered buffer {@code bufIndex}. */
    public void prepReadFixed(
        final int fd, final long addr, final int len, final long offset, final int bufIndex, final long userData)
    {
        final long sqe = nextSqe();
        Sqe.rw(sqes, sqe, Sqe.OP_READ_FIXED, fd, addr, len, offset, userData);
        Sqe.bufIndex(sqes, sqe, bufIndex);
    }

    /** io_uring_prep_write_fixed (liburing.h:468). */
    public void prepWriteFixed(
        final int fd, final long addr, final int len, final long offset, final int bufIndex, final long userData)
    {
        final long sqe = nextSqe();
        Sqe.rw(sqes, sqe, Sqe.OP_WRITE_FIXED, fd, addr, len, offset, userData);
        Sqe.bufIndex(sqes, sqe, bufIndex);
    }

    /** io_uring_prep_fsync (liburing.h:538); {@code datasync} sets IORING_FSYNC_DATASYNC (fdatasync). */
    public void prepFsync(final int fd, final boolean datasync, final long userData)
    {
        final long sqe = nextSqe();
        Sqe.rw(sqes, sqe, Sqe.OP_FSYNC, fd, 0, 0, 0, userData);
        Sqe.opFlags(sqes, sqe, datasync ? Ring.FSYNC_DATASYNC : 0);
    }

    /** io_uring_prep_recv (liburing.h:776). */
    public void prepRecv(final int fd, final long addr, final int len, final int msgFlags, final long userData)
    {
        final long sqe = nextSqe();
        Sqe.rw(sqes, sqe, Sqe.OP_RECV, fd, addr, len, 0, userData);
        Sqe.opFlags(sqes, sqe, msgFlags);
    }

    /**
     * io_uring_prep_recv with IOSQE_BUFFER_SELECT: receives up to {@code len} bytes into a buffer the kernel takes
     * from provided-buffer group {@code group} only when data is there ({@link BufferRing}).
     */
    public void prepRecvSelect(final int fd, final int len, final int group, final long userData)
    {
        final long sqe = nextSqe();
        Sqe.rw(sqes, sqe, Sqe.OP_RECV, fd, 0, len, 0, userData);
        Sqe.flags(sqes, sqe, BufferRing.SQE_BUFFER_SELECT);
        Sqe.bufIndex(sqes, sqe, group); // buf_group shares the union with buf_index
    }

    /**
     * io_uring_prep_recv_multishot (liburing.h:783, kernel 6.0+) with IOSQE_BUFFER_SELECT: one SQE yields a CQE per
     * arrival of bytes, each in a buffer of group {@code group} of up to its size, flagged {@link Ring#CQE_F_MORE} while
     * the request stays armed. It ends (a CQE without the flag) at end of stream, on an error, when the group has
     * no buffer left (-ENOBUFS) or when cancelled; before 6.0 it fails with -EINVAL. With IORING_RECVSEND_POLL_FIRST:
     * it waits for the socket to be readable before it first tries, so arming it on a quiet connection while the
     * group is empty is not an -ENOBUFS.
     */
    public void prepRecvMultishot(final int fd, final int group, final long userData)
    {
        final long sqe = nextSqe();
        Sqe.rw(sqes, sqe, Sqe.OP_RECV, fd, 0, 0, 0, userData);
        Sqe.flags(sqes, sqe, BufferRing.SQE_BUFFER_SELECT);
        Sqe.bufIndex(sqes, sqe, group);
        Sqe.ioprio(sqes, sqe, liburing.IORING_RECV_MULTISHOT() | liburing.IORING_RECVSEND_POLL_FIRST());
    }

    /**
     * io_uring_prep_poll_add (liburing.h:563): completes once, with the ready events, when {@code fd} has any of
     * {@code events} (POLLERR and POLLHUP are always included); -ECANCELED when cancelled first.
     */
    public void prepPollAdd(final int fd, final int events, final long userData)
    {
        final long sqe = nextSqe();
        Sqe.rw(sqes, sqe, Sqe.OP_POLL_ADD, fd, 0, 0, 0, userData);
        Sqe.opFlags(sqes, sqe, events); // poll32_events shares the union with rw_flags (little-endian: no swap)
    }

    /** io_uring_prep_send (liburing.h:733); MSG_NOSIGNAL is always added so a dead peer is -EPIPE, not SIGPIPE. */
    public void prepSend(final int fd, final long addr, final int len, final int msgFlags, final long userData)
    {
        final long sqe = nextSqe();
        Sqe.rw(sqes, sqe, Sqe.OP_SEND, fd, addr, len, 0, userData);
        Sqe.opFlags(sqes, sqe, msgFlags | Ring.MSG_NOSIGNAL);
    }

    /**
     * io_uring_prep_sendmsg (liburing.h:490): one send of every iovec the {@code msghdr} at {@code msghdrAddr}
     * names; the header and its iovecs must stay untouched until the completion arrives.
     */
    public void prepSendmsg(final int fd, final long msghdrAddr, final int msgFlags, final long userData)
    {
        final long sqe = nextSqe();
        Sqe.rw(sqes, sqe, Sqe.OP_SENDMSG, fd, msghdrAddr, 1, 0, userData);
        Sqe.opFlags(sqes, sqe, msgFlags | Ring.MSG_NOSIGNAL);
    }

    /**
     * io_uring_prep_multishot_accept (liburing.h:595) with no peer address: one SQE yields a CQE per accepted
     * connection, each flagged {@link Ring#CQE_F_MORE} while the request stays armed.
     */
    public void prepMultishotAccept(final int listenFd, final int acceptFlags, final long userData)
    {
        final long sqe = nextSqe();
        Sqe.rw(sqes, sqe, Sqe.OP_ACCEPT, listenFd, 0, 0, 0, userData);
        Sqe.opFlags(sqes, sqe, acceptFlags);
        Sqe.ioprio(sqes, sqe, liburing.IORING_ACCEPT_MULTISHOT());
    }

    /** io_uring_prep_close (liburing.h:684). */
    public void prepClose(final int fd, final long userData)
    {
        Sqe.rw(sqes, nextSqe(), Sqe.OP_CLOSE, fd, 0, 0, 0, userData);
    }

    /** io_uring_prep_shutdown (liburing.h:898). */
    public void prepShutdown(final int fd, final int how, final long userData)
    {
        Sqe.rw(sqes, nextSqe(), Sqe.OP_SHUTDOWN, fd, 0, how, 0, userData);
    }

    /** io_uring_prep_cancel_fd (liburing.h:628) with IORING_ASYNC_CANCEL_ALL: cancels every request on {@code fd}. */
    public void prepCancelFd(final int fd, final long userData)
    {
        final long sqe = nextSqe();
        Sqe.rw(sqes, sqe, Sqe.OP_ASYNC_CANCEL, fd, 0, 0, 0, userData);
        Sqe.opFlags(sqes, sqe, liburing.IORING_ASYNC_CANCEL_FD() | liburing.IORING_ASYNC_CANCEL_ALL());
    }

    /** io_uring_prep_cancel64 (liburing.h:614): cancels the request submitted with {@code targetUserData}. */
    public void prepCancel(final long targetUserData, final long userData)
    {
        Sqe.rw(sqes, nextSqe(), Sqe.OP_ASYNC_CANCEL, -1, targetUserData, 0, 0, userData);
    }

    /**
     * io_uring_prep_timeout (liburing.h:550): completes with {@code -ETIME} after {@code timespec} elapses, or
     * with 0 once {@code count} other completions arrived. {@code timespec} (a {@code __kernel_timespec}) must
     * stay valid until submission; {@link Ring#timespec(long)} gives a ring-owned one.
     */
    public void prepTimeout(final MemorySegment timespec, final int count, final int flags, final long userData)
    {
        final long sqe = nextSqe();
        Sqe.rw(sqes, sqe, Sqe.OP_TIMEOUT, -1, timespec.address(), 1, count, userData);
        Sqe.opFlags(sqes, sqe, flags);
    }

    /** io_uring_prep_timeout_remove (liburing.h:558). */
    public void prepTimeoutRemove(final long targetUserData, final long userData)
    {
        Sqe.rw(sqes, nextSqe(), Sqe.OP_TIMEOUT_REMOVE, -1, targetUserData, 0, 0, userData);
    }
}
