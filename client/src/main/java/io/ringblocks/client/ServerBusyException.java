package io.ringblocks.client;

/**
 * The server declined the request for lack of resources at that moment. Nothing was done, so retrying later,
 * with backoff, is safe for every operation. Also what every request on a connection fails with when the server
 * refused the connection itself (a {@code BUSY} with opcode 0 and request id 0: at its connection limit or out of
 * file descriptors, it closes before reading a request); requests made before
 * {@link ClientOptions#reconnectBackoff()} has passed fail with it too, unsent, and the next one reconnects.
 */
public final class ServerBusyException extends RingblocksException
{
    ServerBusyException(final String message)
    {
        super(message, StatusCode.BUSY, null);
    }
}
