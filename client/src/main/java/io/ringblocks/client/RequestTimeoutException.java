package io.ringblocks.client;

/**
 * No response arrived within {@link ClientOptions#requestTimeout()}, or no in-flight slot
 * ({@link ClientOptions#maxInFlight()}) became free, or a lost connection was not re-established, within it. A request
 * that was sent may still execute on the server (its late response is discarded), so as with
 * {@link ConnectionLostException} the outcome of a PUT or DELETE is unknown; one that ran out of time before it was
 * sent was not sent at all ({@link #sent()}). A timeout does not close the
 * connection: a slow server is not a broken one. But when no whole response has arrived on the connection since the
 * request was sent (nothing at all, or a response that stopped halfway), the connection checks itself with a PING,
 * and closes once that goes unanswered as long (at least 2 s) without a byte arriving meanwhile: a peer gone silent
 * (a vanished host, a firewall that dropped the connection) is not waited for, a large answer still arriving is.
 */
public final class RequestTimeoutException extends RingblocksException
{
    private final boolean sent;

    RequestTimeoutException(final String message)
    {
        this(message, true);
    }

    RequestTimeoutException(final String message, final boolean sent)
    {
        this(message, sent, null);
    }

    /** @param cause the last failed attempt to re-establish the connection, when that is what the time went on. */
    RequestTimeoutException(final String message, final boolean sent, final Throwable cause)
    {
        super(message, cause);
        this.sent = sent;
    }

    /**
     * @return false when the request never left this client (its cause, if any, is the last failed attempt to
     * re-establish the connection): it waited for an in-flight slot (the client's own
     * {@link ClientOptions#maxInFlight()} was reached) or for a lost connection to be re-established until its
     * timeout ran out. It did not execute.
     */
    public boolean sent()
    {
        return sent;
    }
}
