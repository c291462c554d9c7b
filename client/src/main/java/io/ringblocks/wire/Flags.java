package io.ringblocks.wire;

/**
 * Request flag bits (u16 at header offset 6). Each opcode defines its own bits; every bit an opcode does not
 * define must be 0, so that a later version can give a bit meaning without an old server silently ignoring it.
 */
public final class Flags
{
    /** PUT: the body starts with the client's expected SHA-256 of the payload; a mismatch stores nothing. */
    public static final int VERIFY_HASH = 0x0001;

    /** GET: the body is hash(32) + offset u64 + length u32 and the response carries only that range. */
    public static final int RANGE = 0x0001;

    /** LIST: start at the smallest stored hash; the request's cursor is ignored. */
    public static final int FIRST = 0x0001;

    private Flags()
    {
    }

    /**
     * @param opcode a request opcode.
     * @return the mask of flag bits {@code opcode} defines; 0 for opcodes without flags or unknown ones.
     */
    public static int allowed(final int opcode)
    {
        return switch (opcode)
        {
            case Opcode.PUT -> VERIFY_HASH;
            case Opcode.GET -> RANGE;
            case Opcode.LIST -> FIRST;
            default -> 0;
        };
    }

    /** @return true if every set bit of {@code flags} is defined for {@code opcode}. */
    public static boolean isValid(final int opcode, final int flags)
    {
        return (flags & ~allowed(opcode)) == 0;
    }

    /** @return true if {@code bit} is set in {@code flags}. */
    public static boolean isSet(final int flags, final int bit)
    {
        return (flags & bit) != 0;
    }
}
