package io.ringblocks.wire;

/**
 * Request opcodes (u8 at header offset 5), echoed in the response so that a client can check what an answer is
 * for. Plain {@code int} constants rather than an enum so that decoding a header never looks anything up or
 * allocates, and an unknown byte value stays representable until the validator rejects it.
 */
public final class Opcode
{
    /** Not a request opcode: the opcode of connection-level error responses that answer no particular request. */
    public static final int NONE = 0x00;
    public static final int PING = 0x01;
    public static final int PUT = 0x02;
    public static final int GET = 0x03;
    public static final int HEAD = 0x04;
    public static final int DELETE = 0x05;
    public static final int STATS = 0x06;
    /** The stored hashes with their lengths, in hash order, a page at a time from a cursor. */
    public static final int LIST = 0x07;
    /** Which of up to {@link Protocol#MAX_FIND_MISSING} hashes are not stored. */
    public static final int FIND_MISSING = 0x08;

    private static final String[] NAMES =
        { "NONE", "PING", "PUT", "GET", "HEAD", "DELETE", "STATS", "LIST", "FIND_MISSING" };

    private Opcode()
    {
    }

    /**
     * @return true if {@code opcode} is a request this protocol version defines ({@link #PING}..{@link
     * #FIND_MISSING}).
     */
    public static boolean isValid(final int opcode)
    {
        return opcode >= PING && opcode <= FIND_MISSING;
    }

    /**
     * @param opcode an opcode byte value.
     * @return its name, such as {@code PUT}, or {@code OPCODE_<n>} when unknown (allocates only then; for logs).
     */
    public static String name(final int opcode)
    {
        return opcode >= 0 && opcode < NAMES.length ? NAMES[opcode] : "OPCODE_" + opcode;
    }
}
