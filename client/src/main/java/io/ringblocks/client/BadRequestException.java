package io.ringblocks.client;

/**
 * The server judged a request malformed. The client validates its arguments before sending, so this points to a
 * client/server version disagreement or a bug, not to a caller error.
 */
public final class BadRequestException extends RingblocksException
{
    BadRequestException(final String message)
    {
        super(message, StatusCode.BAD_REQUEST, null);
    }
}
