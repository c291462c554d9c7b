package io.ringblocks.uring;

/**
 * A kernel or liburing call failed in a way the caller cannot treat as an ordinary outcome (ring setup,
 * registration, a failed submit). The message names the errno.
 */
public final class RingException extends RuntimeException
{
    private static final long serialVersionUID = 1L;

    private final int errno;

    public RingException(final String operation, final int negativeErrno)
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
