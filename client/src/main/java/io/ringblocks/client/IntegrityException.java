package io.ringblocks.client;

/**
 * The bytes a full GET returned do not hash to the requested address (or a PUT's returned hash differs from the
 * one the caller asked the server to verify). The data was corrupted somewhere between the server's storage and
 * this process and has not been handed to the caller. Not a server status, so {@link #status()} is
 * {@link StatusCode#NONE}.
 */
public final class IntegrityException extends RingblocksException
{
    IntegrityException(final String message)
    {
        super(message, null);
    }
}
