package io.ringblocks.server;

import org.agrona.concurrent.UnsafeBuffer;

import io.ringblocks.ffi.iovec;
import io.ringblocks.ffi.msghdr;
import io.ringblocks.sys.LibC;

/**
 * One {@code msghdr} and up to {@link #MAX_IOVECS} iovecs per connection slot, in anonymous memory that the kernel
 * backs only where a connection has sent more than one part at a time (several responses, or a GET's header and
 * block; an idle connection costs no RAM): all
 * responses of a connection that are ready in one duty cycle leave in one SENDMSG, pipelining clients get their
 * answers in one TCP push instead of one per response.
 * <pre>
 *  slot c: +--------------------+----------+----------+-----+
 *          | msghdr (64 bytes)  | iovec 0  | iovec 1  | ... |   iovec = { base address, length }, 16 bytes
 *          +--------------------+----------+----------+-----+
 *            msg_iov points at iovec 0, msg_iovlen = count; no name, no control data
 * </pre>
 * The header and its iovecs are read by the kernel when the SENDMSG is issued, which may be after the submit that
 * carried it; a slot is rewritten only after its send completed.
 */
final class SendVectors implements AutoCloseable
{
    /** Responses (or parts of one) per send: bounds the work of one completion and the memory per connection. */
    static final int MAX_IOVECS = 64;
    /** Bytes per send: larger bodies simply take more sends. */
    static final long MAX_BYTES = 4L << 20;

    private static final int HEADER = 64;
    private static final int IOVEC = (int)iovec.layout().byteSize();
    private static final int STRIDE = HEADER + MAX_IOVECS * IOVEC;
    private static final long IOV_BASE = iovec.iov_base$offset();
    private static final long IOV_LEN = iovec.iov_len$offset();
    private static final int NAME = (int)msghdr.msg_name$offset();
    private static final int NAME_LENGTH = (int)msghdr.msg_namelen$offset();
    private static final int IOV = (int)msghdr.msg_iov$offset();
    private static final int IOV_COUNT = (int)msghdr.msg_iovlen$offset();
    private static final int CONTROL = (int)msghdr.msg_control$offset();
    private static final int CONTROL_LENGTH = (int)msghdr.msg_controllen$offset();
    private static final int FLAGS = (int)msghdr.msg_flags$offset();

    private final long base;
    private final long length;
    private final UnsafeBuffer view;

    SendVectors(final int connections)
    {
        if (msghdr.layout().byteSize() > HEADER)
        {
            throw new IllegalStateException("struct msghdr is " + msghdr.layout().byteSize() + " bytes here");
        }
        if (connections <= 0 || (long)connections * STRIDE > Integer.MAX_VALUE)
        {
            throw new IllegalArgumentException("cannot hold send vectors for " + connections + " connections");
        }
        length = (long)connections * STRIDE;
        base = LibC.mapAnonymous(length, "send vectors");
        view = new UnsafeBuffer(base, (int)length);
    }

    /** Sets iovec {@code i} of connection {@code c} to {@code [address, address + bytes)}. */
    void set(final int c, final int i, final long address, final long bytes)
    {
        final int iov = c * STRIDE + HEADER + i * IOVEC;
        view.putLong(iov + (int)IOV_BASE, address);
        view.putLong(iov + (int)IOV_LEN, bytes);
    }

    /** Completes connection {@code c}'s header for its first {@code count} iovecs. @return the header's address. */
    long seal(final int c, final int count)
    {
        final int header = c * STRIDE;
        view.putLong(header + NAME, 0L);
        view.putInt(header + NAME_LENGTH, 0);
        view.putLong(header + IOV, base + header + HEADER);
        view.putLong(header + IOV_COUNT, count);
        view.putLong(header + CONTROL, 0L);
        view.putLong(header + CONTROL_LENGTH, 0L);
        view.putInt(header + FLAGS, 0);
        return base + header;
    }

    @Override
    public void close()
    {
        LibC.munmap(base, length);
    }
}
