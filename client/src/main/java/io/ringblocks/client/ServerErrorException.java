package io.ringblocks.client;

/**
 * A server status the caller cannot act on beyond reporting or retrying: {@code INTERNAL_ERROR} (the effect of a
 * PUT or DELETE is unknown), {@code SHUTTING_DOWN} (not executed), {@code UNKNOWN_OPCODE},
 * {@code UNSUPPORTED_VERSION}, {@code FRAME_TOO_LARGE}, and any code this client version does not know.
 * {@link #status()} and {@link #statusName()} tell which. When the server sent one of these as a
 * connection-level error (opcode 0, request id 0) it closed the connection; the outstanding requests then fail
 * with {@link ConnectionLostException} whose cause is this exception.
 */
public final class ServerErrorException extends RingblocksException
{
    ServerErrorException(final String message, final int status)
    {
        super(message, status, null);
    }
}
