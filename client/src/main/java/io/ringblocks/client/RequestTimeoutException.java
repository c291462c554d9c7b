package io.ringblocks.client;

/**
 * No response arrived within {@link ClientOptions#requestTimeout()}, or no in-flight slot
 * ({@link ClientOptions#maxInFlight()}) became free within it. The request may still execute on the server (its
 * late response is discarded), so as with {@link ConnectionLostException} the outcome of a PUT or DELETE is
 * unknown. A timeout does not close the connection: a slow server is not a broken one.
 */
public final class RequestTimeoutException extends RingblocksException
{
    RequestTimeoutException(final String message)
    {
        super(message, null);
    }
}
