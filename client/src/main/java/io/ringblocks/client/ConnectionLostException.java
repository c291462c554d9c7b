package io.ringblocks.client;

/**
 * The connection could not be established, or broke while the request was outstanding (closed by the server,
 * reset, a write or read error, a connection-level error response, or the client being closed). Whether the
 * server executed the request is unknown: a PUT or DELETE may or may not have taken effect. Both are idempotent
 * in effect (PUT of the same bytes stores one block; a repeated DELETE answers "not found"), so retrying is safe.
 * The next request reconnects transparently, up to {@link ClientOptions#reconnectAttempts()} attempts; when they all
 * fail, requests made before the next attempt is due fail with this at once, sharing that round's failure.
 */
public final class ConnectionLostException extends RingblocksException
{
    ConnectionLostException(final String message, final Throwable cause)
    {
        super(message, cause);
    }
}
