package io.ringblocks.protocol;

/**
 * Wire constants and size limits of protocol version 1, in one place so that the codecs, the validator, the
 * server's buffer sizing and the spec's test tooling cannot disagree about them. See {@code protocol-spec/README.md}.
 */
public final class Protocol
{
    /** The only protocol version this code speaks; any other version byte is answered with UNSUPPORTED_VERSION. */
    public static final int VERSION = 1;

    /** Size of the u32 length prefix; the length value counts the bytes after it. */
    public static final int LENGTH_FIELD_LENGTH = 4;

    /** Header bytes after the length field (version, opcode, flags/status, request id): the minimum length value. */
    public static final int MIN_LENGTH = 12;

    /** Length of a block address: a SHA-256 digest. */
    public static final int HASH_LENGTH = 32;

    /**
     * Most hashes in one FIND_MISSING request: its frame (16 + 127 × 32 = 4080 bytes) fits the smallest receive
     * buffer a server may be configured with, 4 KiB.
     */
    public static final int MAX_FIND_MISSING = 127;

    /** The largest fixed part a request body can carry besides a payload (the VERIFY_HASH digest). */
    public static final int MAX_BODY_OVERHEAD = HASH_LENGTH;

    /** Default largest block payload, 1 MiB. */
    public static final int DEFAULT_MAX_BLOCK_SIZE = 1024 * 1024;

    /** {@link #maxBodyLength(int)} for the default block size: 1048608. */
    public static final int DEFAULT_MAX_BODY_LENGTH = DEFAULT_MAX_BLOCK_SIZE + MAX_BODY_OVERHEAD;

    /** {@link #maxLength(int)} for the default block size: 1048620. */
    public static final int DEFAULT_MAX_LENGTH = MIN_LENGTH + DEFAULT_MAX_BODY_LENGTH;

    private Protocol()
    {
    }

    /**
     * @param maxBlockSize the server's largest block payload, {@code > 0}.
     * @return the largest request body a frame may carry: a VERIFY_HASH digest plus a full block.
     */
    public static int maxBodyLength(final int maxBlockSize)
    {
        return maxBlockSize + MAX_BODY_OVERHEAD;
    }

    /**
     * @param maxBlockSize the server's largest block payload, {@code > 0}.
     * @return the largest length field value the server accepts; anything larger is FRAME_TOO_LARGE.
     */
    public static int maxLength(final int maxBlockSize)
    {
        return MIN_LENGTH + maxBodyLength(maxBlockSize);
    }
}
