package io.ringblocks.client;

/**
 * The server declined the request for lack of resources at that moment. Nothing was done, so retrying later,
 * with backoff, is safe for every operation.
 */
public final class ServerBusyException extends RingblocksException
{
    ServerBusyException(final String message)
    {
        super(message, StatusCode.BUSY, null);
    }
}
