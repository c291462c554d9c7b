package io.ringblocks.client;

/**
 * The server refused a PUT whose payload exceeds the server's maximum block size. The client rejects payloads
 * above its own {@link ClientOptions#maxBlockSize()} locally with {@link IllegalArgumentException}; this one
 * means the server is configured with a smaller limit than the client.
 */
public final class BlockTooLargeException extends RingblocksException
{
    BlockTooLargeException(final String message)
    {
        super(message, StatusCode.BLOCK_TOO_LARGE, null);
    }
}
