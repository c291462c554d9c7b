package io.ringblocks.client;

/**
 * Response status codes of protocol version 1 (u16 at response offset 6), for callers inspecting
 * {@link RingblocksException#status()}. A copy of the server's table rather than a reference to it, so that the
 * client library has no dependency on the server's classes.
 */
public final class StatusCode
{
    /** Success. */
    public static final int OK = 0;
    /** No block with that hash. */
    public static final int NOT_FOUND = 1;
    /** Malformed request. */
    public static final int BAD_REQUEST = 2;
    /** PUT with VERIFY_HASH: the payload's SHA-256 differs from the given one; nothing was stored. */
    public static final int HASH_MISMATCH = 3;
    /** PUT payload longer than the server's maximum block size. */
    public static final int BLOCK_TOO_LARGE = 4;
    /** The store cannot take a new block. */
    public static final int NO_SPACE = 5;
    /** The server does not speak the request's protocol version; it closes the connection. */
    public static final int UNSUPPORTED_VERSION = 6;
    /** The server does not know the opcode. */
    public static final int UNKNOWN_OPCODE = 7;
    /** Ranged GET outside the block. */
    public static final int BAD_RANGE = 8;
    /** Server-wide lack of resources at that moment; nothing was done, retrying later may succeed. */
    public static final int BUSY = 9;
    /** Unexpected server-side failure; for PUT/DELETE the effect is unknown. */
    public static final int INTERNAL_ERROR = 10;
    /** A frame's length exceeded the server's maximum; the server closes the connection. */
    public static final int FRAME_TOO_LARGE = 11;
    /** The server is stopping and did not execute the request. */
    public static final int SHUTTING_DOWN = 12;
    /** The server's stored copy failed its checksum; nothing of it was sent. A PUT of the same content heals it. */
    public static final int CORRUPT = 13;
    /** Value of {@link RingblocksException#status()} for failures that are not a server status. */
    public static final int NONE = -1;

    private static final String[] NAMES =
        {
            "OK", "NOT_FOUND", "BAD_REQUEST", "HASH_MISMATCH", "BLOCK_TOO_LARGE", "NO_SPACE",
            "UNSUPPORTED_VERSION", "UNKNOWN_OPCODE", "BAD_RANGE", "BUSY", "INTERNAL_ERROR", "FRAME_TOO_LARGE",
            "SHUTTING_DOWN", "CORRUPT"
        };

    private StatusCode()
    {
    }

    /**
     * @param status a status code.
     * @return its name, such as {@code NOT_FOUND}; {@code NONE} for {@link #NONE}; {@code STATUS_<n>} for a code
     * this client version does not know (a newer server may send one).
     */
    public static String name(final int status)
    {
        if (status == NONE)
        {
            return "NONE";
        }
        return status >= 0 && status < NAMES.length ? NAMES[status] : "STATUS_" + status;
    }
}
