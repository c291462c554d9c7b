package io.ringblocks.wire;

/**
 * Response status codes (u16 at response header offset 6). Plain {@code int} constants so that a response is
 * encoded without lookups or allocation. Whether an error closes the connection depends on its cause, not on the
 * code alone (a frame shorter than the header is BAD_REQUEST and closes, a bad flag is BAD_REQUEST and does
 * not), so that decision belongs to the connection state machine, not to this class.
 */
public final class Status
{
    public static final int OK = 0;
    public static final int NOT_FOUND = 1;
    public static final int BAD_REQUEST = 2;
    public static final int HASH_MISMATCH = 3;
    public static final int BLOCK_TOO_LARGE = 4;
    public static final int NO_SPACE = 5;
    public static final int UNSUPPORTED_VERSION = 6;
    public static final int UNKNOWN_OPCODE = 7;
    public static final int BAD_RANGE = 8;
    public static final int BUSY = 9;
    public static final int INTERNAL_ERROR = 10;
    public static final int FRAME_TOO_LARGE = 11;
    public static final int SHUTTING_DOWN = 12;
    /** The stored copy failed its checksum; nothing of it was sent. A PUT of the same content heals it. */
    public static final int CORRUPT = 13;
    /** How many statuses there are: each is below this. */
    public static final int COUNT = CORRUPT + 1;

    private static final String[] NAMES =
        {
            "OK", "NOT_FOUND", "BAD_REQUEST", "HASH_MISMATCH", "BLOCK_TOO_LARGE", "NO_SPACE",
            "UNSUPPORTED_VERSION", "UNKNOWN_OPCODE", "BAD_RANGE", "BUSY", "INTERNAL_ERROR", "FRAME_TOO_LARGE",
            "SHUTTING_DOWN", "CORRUPT"
        };

    private Status()
    {
    }

    /** @return true if {@code status} is one of the codes above. */
    public static boolean isValid(final int status)
    {
        return status >= OK && status <= CORRUPT;
    }

    /**
     * @param status a status code.
     * @return its name, such as {@code NOT_FOUND}, or {@code STATUS_<n>} when unknown (allocates only then).
     */
    public static String name(final int status)
    {
        return status >= 0 && status < NAMES.length ? NAMES[status] : "STATUS_" + status;
    }
}
