package io.ringblocks.client;

import io.ringblocks.wire.Status;

/**
 * Response status codes of protocol version 1 (u16 at response offset 6), for callers inspecting
 * {@link RingblocksException#status()}: the values of {@link Status}, the wire format's one table, plus
 * {@link #NONE} for failures that are not a server status.
 */
public final class StatusCode
{
    /** Success. */
    public static final int OK = Status.OK;
    /** No block with that hash. */
    public static final int NOT_FOUND = Status.NOT_FOUND;
    /** Malformed request. */
    public static final int BAD_REQUEST = Status.BAD_REQUEST;
    /** PUT with VERIFY_HASH: the payload's SHA-256 differs from the given one; nothing was stored. */
    public static final int HASH_MISMATCH = Status.HASH_MISMATCH;
    /** PUT payload longer than the server's maximum block size. */
    public static final int BLOCK_TOO_LARGE = Status.BLOCK_TOO_LARGE;
    /** The store cannot take a new block. */
    public static final int NO_SPACE = Status.NO_SPACE;
    /** The server does not speak the request's protocol version; it closes the connection. */
    public static final int UNSUPPORTED_VERSION = Status.UNSUPPORTED_VERSION;
    /** The server does not know the opcode. */
    public static final int UNKNOWN_OPCODE = Status.UNKNOWN_OPCODE;
    /** Ranged GET outside the block. */
    public static final int BAD_RANGE = Status.BAD_RANGE;
    /** Server-wide lack of resources at that moment; nothing was done, retrying later may succeed. */
    public static final int BUSY = Status.BUSY;
    /** Unexpected server-side failure; for PUT/DELETE the effect is unknown. */
    public static final int INTERNAL_ERROR = Status.INTERNAL_ERROR;
    /** A frame's length exceeded the server's maximum; the server closes the connection. */
    public static final int FRAME_TOO_LARGE = Status.FRAME_TOO_LARGE;
    /** The server is stopping and did not execute the request. */
    public static final int SHUTTING_DOWN = Status.SHUTTING_DOWN;
    /** The server's stored copy failed its checksum; nothing of it was sent. A PUT of the same content heals it. */
    public static final int CORRUPT = Status.CORRUPT;
    /** Value of {@link RingblocksException#status()} for failures that are not a server status. */
    public static final int NONE = -1;

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
        return Status.name(status);
    }
}
