package io.ringblocks.client;

/**
 * The server has no block with the requested hash (GET or ranged GET). HEAD and DELETE report a missing block
 * through their return values instead, because for them "absent" is an ordinary answer, not a failure.
 */
public final class NotFoundException extends RingblocksException
{
    NotFoundException(final String message)
    {
        super(message, StatusCode.NOT_FOUND, null);
    }
}
