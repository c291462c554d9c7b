package io.ringblocks.client;

/**
 * The server holds the block but its stored copy failed the checksum recorded when it was written (bit rot, a
 * damaged disk): the server sent none of its bytes, so nothing wrong reached the caller. The block stays unreadable
 * on that server until someone PUTs the same content again, which rewrites it (heals it); fetch the content from
 * another copy and PUT it back. The connection stays usable.
 */
public final class CorruptBlockException extends RingblocksException
{
    CorruptBlockException(final String message)
    {
        super(message, StatusCode.CORRUPT, null);
    }
}
