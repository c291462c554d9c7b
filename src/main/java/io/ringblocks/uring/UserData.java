package io.ringblocks.uring;

/**
 * Packs the 64-bit {@code user_data} of an SQE from a slot index, an operation code and a generation, so that a
 * completion finds its owner by array index and a stale completion (its slot was recycled meanwhile) is
 * recognised by a generation mismatch. Never an fd or a map key.
 * <pre>
 *  63                    40 39      32 31                               0
 * +------------------------+----------+----------------------------------+
 * |   generation (24 bit)  | op (8)   |          slot (32 bit)           |
 * +------------------------+----------+----------------------------------+
 * </pre>
 */
public final class UserData
{
    public static final int MAX_OP = 0xFF;
    public static final int GENERATION_MASK = 0xFF_FFFF;

    private UserData()
    {
    }

    /**
     * @param slot       index into the owner's slot array, {@code >= 0}.
     * @param op         the owner's operation code, 0..255.
     * @param generation the slot's generation; only its low 24 bits are kept.
     * @return the packed user_data.
     */
    public static long pack(final int slot, final int op, final int generation)
    {
        if (slot < 0 || op < 0 || op > MAX_OP)
        {
            throw new IllegalArgumentException("slot must be >= 0 and op in 0..255: slot=" + slot + " op=" + op);
        }
        return ((long)(generation & GENERATION_MASK) << 40) | ((long)op << 32) | (slot & 0xFFFF_FFFFL);
    }

    public static int slot(final long userData)
    {
        return (int)userData;
    }

    public static int op(final long userData)
    {
        return (int)(userData >>> 32) & MAX_OP;
    }

    public static int generation(final long userData)
    {
        return (int)(userData >>> 40) & GENERATION_MASK;
    }

    /**
     * @return the generation that follows {@code generation}, wrapping within 24 bits.
     */
    public static int nextGeneration(final int generation)
    {
        return (generation + 1) & GENERATION_MASK;
    }
}
