package io.ringblocks.sys;

/**
 * A system call failed in a way the caller cannot treat as an ordinary outcome (a socket that cannot be bound, a
 * ring that cannot be set up). The message names the call and the errno.
 */
public class ErrnoException extends RuntimeException
{
    private static final long serialVersionUID = 1L;

    private final int errno;

    /** @param negativeErrno the call's result, {@code -errno} (the sign is ignored). */
    public ErrnoException(final String operation, final int negativeErrno)
    {
        super(operation + " failed: " + Errno.describe(negativeErrno));
        this.errno = Math.abs(negativeErrno);
    }

    /** @return the positive errno value. */
    public int errno()
    {
        return errno;
    }
}
