package io.ringblocks.wire;

/**
 * The wire format of protocol version 1, defined once: frame layout, body layouts and size limits. The server's
 * codecs and validator, the Java client and the load generator all take their numbers from here (this package
 * depends on nothing but the JDK, so the client library can carry it). The spec is {@code protocol-spec/README.md}.
 * All integers are little-endian and unsigned.
 * <pre>
 * frame header (16 bytes), then the body (length - 12 bytes):
 *  0        4         5        6        8                   16
 * +--------+---------+--------+--------+-------------------+----------------...
 * | length | version | opcode | flags  |    request id     |  body
 * |  u32   |  u8 = 1 |   u8   | status |       u64         |
 * +--------+---------+--------+--------+-------------------+----------------...
 *                               u16: flags in a request, status in a response
 *
 * ranged GET body (flag RANGE, 44 bytes):        LIST request body (36 bytes):
 *  0              32           40        44         0                32          36
 * | hash (32)    | offset u64 | len u32 |          | after (32)     | limit u32 |
 *
 * HEAD response body: | len u32 |                 LIST response body (36 + 36 x n bytes):
 *                                                  0          4            36           68        72
 *                                                 | more u32 | next (32)  | hash (32)  | len u32 | ... n entries
 * </pre>
 */
public final class Protocol
{
    /** The only protocol version this code speaks; any other version byte is answered with UNSUPPORTED_VERSION. */
    public static final int VERSION = 1;

    /** Size of the u32 length prefix; the length value counts the bytes after it. */
    public static final int LENGTH_FIELD_LENGTH = 4;

    /** Header bytes after the length field (version, opcode, flags/status, request id): the minimum length value. */
    public static final int MIN_LENGTH = 12;

    /** The frame header: the length field and the 12 bytes it counts before the body. */
    public static final int HEADER_LENGTH = 16;
    public static final int LENGTH_OFFSET = 0;
    public static final int VERSION_OFFSET = 4;
    public static final int OPCODE_OFFSET = 5;
    /** A request's u16 flags ({@link Flags}). */
    public static final int FLAGS_OFFSET = 6;
    /** A response's u16 status ({@link Status}), where a request has its flags. */
    public static final int STATUS_OFFSET = 6;
    public static final int REQUEST_ID_OFFSET = 8;

    /** Length of a block address: a SHA-256 digest. */
    public static final int HASH_LENGTH = 32;
    /** The largest block a server may be configured to store (protocol-spec section 6): 1 MiB. */
    public static final int MAX_BLOCK_SIZE = 1 << 20;

    /**
     * Most hashes in one FIND_MISSING request: its frame (16 + 127 × 32 = 4080 bytes) fits the smallest receive
     * buffer a server may be configured with, 4 KiB.
     */
    public static final int MAX_FIND_MISSING = 127;

    /** A HEAD answer's body: the block's length, u32. */
    public static final int HEAD_BODY_LENGTH = 4;

    /** Ranged GET body: the hash at 0, then the offset and the length (0 = to the end). */
    public static final int RANGE_OFFSET_OFFSET = 32;
    public static final int RANGE_LENGTH_OFFSET = 40;
    public static final int RANGE_BODY_LENGTH = 44;

    /** LIST request body: the cursor at 0 (ignored with flag FIRST), then the page size. */
    public static final int LIST_AFTER_OFFSET = 0;
    public static final int LIST_LIMIT_OFFSET = 32;
    public static final int LIST_REQUEST_LENGTH = 36;
    /** Most entries one LIST answers (a 147,492-byte body); a limit of 0 or above it means this. */
    public static final int MAX_LIST_LIMIT = 4096;
    /** LIST response body: 1 when the listing goes on, the cursor to continue from, then the entries. */
    public static final int LIST_MORE_OFFSET = 0;
    public static final int LIST_NEXT_OFFSET = 4;
    public static final int LIST_ENTRIES_OFFSET = 36;
    /** An entry: the hash, then the block's length (u32) at {@link #LIST_ENTRY_LENGTH_OFFSET}. */
    public static final int LIST_ENTRY_LENGTH = 36;
    public static final int LIST_ENTRY_LENGTH_OFFSET = 32;
    /** The largest LIST answer body. */
    public static final int MAX_LIST_BODY = LIST_ENTRIES_OFFSET + MAX_LIST_LIMIT * LIST_ENTRY_LENGTH;

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
