package io.ringblocks.client;

/**
 * A ranged GET asked for bytes outside the block: offset at or past its end, or offset + length past its end.
 */
public final class BadRangeException extends RingblocksException
{
    BadRangeException(final String message)
    {
        super(message, StatusCode.BAD_RANGE, null);
    }
}
