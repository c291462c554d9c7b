package io.ringblocks.uring;

import java.lang.foreign.MemorySegment;

import io.ringblocks.ffi.io_uring_sqe;
import io.ringblocks.ffi.liburing;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * Java ports of liburing 2.3's static inline {@code io_uring_prep_*} helpers (liburing.h, Debian 12
 * {@code liburing-dev 2.3-3}), writing straight into an SQE slot of the mmap'ed SQ array. Offsets come from the
 * jextract-generated {@link io_uring_sqe} layout, so a header change shows up at {@code make bindings}.
 * <p>
 * Every writer starts from {@link #rw}, which mirrors {@code io_uring_prep_rw} (liburing.h:363-380): it sets
 * every field of the 64-byte SQE, so no stale value from a previous use of the slot survives.
 */
final class Sqe
{
    static final long SIZE = io_uring_sqe.layout().byteSize();
    static final long OPCODE = io_uring_sqe.opcode$offset();
    static final long FLAGS = io_uring_sqe.flags$offset();
    static final long IOPRIO = io_uring_sqe.ioprio$offset();
    static final long FD = io_uring_sqe.fd$offset();
    static final long OFF = io_uring_sqe.off$offset();
    static final long ADDR = io_uring_sqe.addr$offset();
    static final long LEN = io_uring_sqe.len$offset();
    static final long OP_FLAGS = io_uring_sqe.rw_flags$offset();
    static final long USER_DATA = io_uring_sqe.user_data$offset();
    static final long BUF_INDEX = io_uring_sqe.buf_index$offset();
    static final long PERSONALITY = io_uring_sqe.personality$offset();
    static final long FILE_INDEX = io_uring_sqe.file_index$offset();
    static final long ADDR3 = io_uring_sqe.addr3$offset();
    static final long PAD2 = ADDR3 + 8;

    private Sqe()
    {
    }

    /** io_uring_prep_rw (liburing.h:363): the common body of every prep helper. */
    static void rw(
        final MemorySegment sqes,
        final long sqe,
        final int op,
        final int fd,
        final long addr,
        final int len,
        final long offset,
        final long userData)
    {
        sqes.set(JAVA_BYTE, sqe + OPCODE, (byte)op);
        sqes.set(JAVA_BYTE, sqe + FLAGS, (byte)0);
        sqes.set(JAVA_SHORT, sqe + IOPRIO, (short)0);
        sqes.set(JAVA_INT, sqe + FD, fd);
        sqes.set(JAVA_LONG, sqe + OFF, offset);
        sqes.set(JAVA_LONG, sqe + ADDR, addr);
        sqes.set(JAVA_INT, sqe + LEN, len);
        sqes.set(JAVA_INT, sqe + OP_FLAGS, 0);
        // io_uring_sqe_set_data64 (liburing.h:334)
        sqes.set(JAVA_LONG, sqe + USER_DATA, userData);
        sqes.set(JAVA_SHORT, sqe + BUF_INDEX, (short)0);
        sqes.set(JAVA_SHORT, sqe + PERSONALITY, (short)0);
        sqes.set(JAVA_INT, sqe + FILE_INDEX, 0);
        sqes.set(JAVA_LONG, sqe + ADDR3, 0L);
        sqes.set(JAVA_LONG, sqe + PAD2, 0L);
    }

    /** io_uring_sqe_set_flags (liburing.h:350). */
    static void flags(final MemorySegment sqes, final long sqe, final int flags)
    {
        sqes.set(JAVA_BYTE, sqe + FLAGS, (byte)flags);
    }

    /** The op-specific 32-bit flags union: rw_flags, fsync_flags, msg_flags, timeout_flags, accept_flags... */
    static void opFlags(final MemorySegment sqes, final long sqe, final int flags)
    {
        sqes.set(JAVA_INT, sqe + OP_FLAGS, flags);
    }

    static void ioprio(final MemorySegment sqes, final long sqe, final int ioprio)
    {
        sqes.set(JAVA_SHORT, sqe + IOPRIO, (short)ioprio);
    }

    static void bufIndex(final MemorySegment sqes, final long sqe, final int bufIndex)
    {
        sqes.set(JAVA_SHORT, sqe + BUF_INDEX, (short)bufIndex);
    }

    static final int OP_NOP = liburing.IORING_OP_NOP();
    static final int OP_FSYNC = liburing.IORING_OP_FSYNC();
    static final int OP_READ_FIXED = liburing.IORING_OP_READ_FIXED();
    static final int OP_WRITE_FIXED = liburing.IORING_OP_WRITE_FIXED();
    static final int OP_TIMEOUT = liburing.IORING_OP_TIMEOUT();
    static final int OP_TIMEOUT_REMOVE = liburing.IORING_OP_TIMEOUT_REMOVE();
    static final int OP_ACCEPT = liburing.IORING_OP_ACCEPT();
    static final int OP_ASYNC_CANCEL = liburing.IORING_OP_ASYNC_CANCEL();
    static final int OP_CLOSE = liburing.IORING_OP_CLOSE();
    static final int OP_READ = liburing.IORING_OP_READ();
    static final int OP_WRITE = liburing.IORING_OP_WRITE();
    static final int OP_SEND = liburing.IORING_OP_SEND();
    static final int OP_SENDMSG = liburing.IORING_OP_SENDMSG();
    static final int OP_RECV = liburing.IORING_OP_RECV();
    static final int OP_SHUTDOWN = liburing.IORING_OP_SHUTDOWN();
    static final int OP_POLL_ADD = liburing.IORING_OP_POLL_ADD();
}
