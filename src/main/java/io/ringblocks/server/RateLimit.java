package io.ringblocks.server;

/**
 * A token bucket on a caller's clock: {@code perSecond} tokens a second, at most {@code burst} saved up. One thread;
 * the clock is passed in, so tests drive it deterministically.
 */
final class RateLimit
{
    private final long nanosPerToken;
    private final long burstNanos;
    /** How far ahead of the clock the tokens taken reach (GCRA's theoretical arrival time); a burst at most. */
    private long spentUntil = Long.MIN_VALUE;

    RateLimit(final int perSecond, final int burst)
    {
        if (perSecond < 1 || burst < 1)
        {
            throw new IllegalArgumentException("rate and burst must be positive: " + perSecond + ", " + burst);
        }
        nanosPerToken = 1_000_000_000L / perSecond;
        burstNanos = nanosPerToken * burst;
    }

    /** @return true when a token was there at {@code now} (and is taken), false when the rate is exceeded. */
    boolean take(final long now)
    {
        final long from = spentUntil == Long.MIN_VALUE || spentUntil - now < 0 ? now : spentUntil;
        if (from + nanosPerToken - now > burstNanos)
        {
            return false;
        }
        spentUntil = from + nanosPerToken;
        return true;
    }
}
