package io.ringblocks.client;

/**
 * The server refused a PUT whose payload exceeds the server's maximum block size: per request (BLOCK_TOO_LARGE), or,
 * for a frame above its frame limit, by closing the connection (FRAME_TOO_LARGE), which fails this PUT with this
 * exception and the other requests outstanding on that connection with {@link ConnectionLostException}. Nothing was
 * stored. The client rejects payloads above its own {@link ClientOptions#maxBlockSize()} locally with
 * {@link IllegalArgumentException}; this one means the server is configured with a smaller limit than the client,
 * which it must not be.
 */
public final class BlockTooLargeException extends RingblocksException
{
    BlockTooLargeException(final String message)
    {
        super(message, StatusCode.BLOCK_TOO_LARGE, null);
    }
}
