package io.ringblocks.client;

/**
 * A PUT with an expected hash was refused because the payload's SHA-256 differs from it; nothing was stored.
 * Means the caller's bytes or its expectation were wrong (for example corrupted in the caller's memory).
 */
public final class HashMismatchException extends RingblocksException
{
    HashMismatchException(final String message)
    {
        super(message, StatusCode.HASH_MISMATCH, null);
    }
}
