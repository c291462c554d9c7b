package io.ringblocks.client;

/**
 * The server's store cannot take a new block. Already stored content is still accepted (PUT is idempotent), so
 * only new blocks fail; deleting blocks frees space.
 */
public final class NoSpaceException extends RingblocksException
{
    NoSpaceException(final String message)
    {
        super(message, StatusCode.NO_SPACE, null);
    }
}
