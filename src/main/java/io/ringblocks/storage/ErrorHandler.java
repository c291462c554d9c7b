package io.ringblocks.storage;

import java.util.concurrent.atomic.AtomicLong;

/**
 * The one place runtime faults go (house rule: count them, log them, never let a loop die silently).
 */
public final class ErrorHandler
{
    private final AtomicLong errors = new AtomicLong();
    private final System.Logger logger = System.getLogger("ringblocks");

    public void onError(final String where, final Throwable error)
    {
        errors.incrementAndGet();
        logger.log(System.Logger.Level.ERROR, where + ": " + error, error);
    }

    public void onError(final String where, final String message)
    {
        errors.incrementAndGet();
        logger.log(System.Logger.Level.ERROR, where + ": " + message);
    }

    /** @return faults seen so far. */
    public long errors()
    {
        return errors.get();
    }
}
