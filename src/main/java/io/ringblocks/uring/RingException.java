package io.ringblocks.uring;

import io.ringblocks.sys.ErrnoException;

/**
 * A kernel or liburing call about a ring failed in a way the caller cannot treat as an ordinary outcome (ring setup,
 * registration, a failed submit). The message names the errno.
 */
public final class RingException extends ErrnoException
{
    private static final long serialVersionUID = 1L;

    public RingException(final String operation, final int negativeErrno)
    {
        super(operation, negativeErrno);
    }
}
