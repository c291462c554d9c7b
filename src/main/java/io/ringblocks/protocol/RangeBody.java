package io.ringblocks.protocol;

import java.nio.ByteOrder;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

import io.ringblocks.wire.Protocol;
import io.ringblocks.wire.Status;

/**
 * Layout of a ranged GET body and the range rule, shared by server and client so both compute the same slice.
 * <pre>
 *  0                         32              40        44
 * +-------------------------+---------------+---------+
 * |   hash (SHA-256, 32)    |  offset u64   | len u32 |
 * +-------------------------+---------------+---------+
 * </pre>
 * A range is valid when {@code offset < blockLength} and {@code offset + len <= blockLength}; {@code len = 0}
 * means "to the end of the block". A valid range therefore always yields at least one byte. Both numbers are
 * unsigned on the wire; the checks here treat them so and cannot overflow.
 */
public final class RangeBody
{
    public static final int HASH_OFFSET = 0;
    public static final int OFFSET_OFFSET = Protocol.RANGE_OFFSET_OFFSET;
    public static final int LENGTH_OFFSET = Protocol.RANGE_LENGTH_OFFSET;
    /** Exact body length of a ranged GET. */
    public static final int LENGTH = Protocol.RANGE_BODY_LENGTH;

    private RangeBody()
    {
    }

    /** @return the raw u64 range offset of the body at {@code bodyOffset}; negative means 2^63 or more. */
    public static long offset(final DirectBuffer buffer, final int bodyOffset)
    {
        return buffer.getLong(bodyOffset + OFFSET_OFFSET, ByteOrder.LITTLE_ENDIAN);
    }

    /** @return the raw u32 range length of the body at {@code bodyOffset}; negative means 2^31 or more. */
    public static int length(final DirectBuffer buffer, final int bodyOffset)
    {
        return buffer.getInt(bodyOffset + LENGTH_OFFSET, ByteOrder.LITTLE_ENDIAN);
    }

    /** Writes the offset and length; the caller writes the hash at {@code bodyOffset}. */
    public static void put(final MutableDirectBuffer buffer, final int bodyOffset, final long offset, final int length)
    {
        buffer.putLong(bodyOffset + OFFSET_OFFSET, offset, ByteOrder.LITTLE_ENDIAN);
        buffer.putInt(bodyOffset + LENGTH_OFFSET, length, ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * @param offset      raw u64 range offset.
     * @param length      raw u32 range length, 0 for "to the end".
     * @param blockLength the stored block's length.
     * @return {@link Status#OK} or {@link Status#BAD_RANGE}.
     */
    public static int check(final long offset, final int length, final int blockLength)
    {
        if (offset < 0 || offset >= blockLength)
        {
            return Status.BAD_RANGE;
        }
        return offset + (length & 0xFFFF_FFFFL) <= blockLength ? Status.OK : Status.BAD_RANGE;
    }

    /** @return the number of bytes a range that passed {@link #check} yields. */
    public static int resolvedLength(final long offset, final int length, final int blockLength)
    {
        return length == 0 ? blockLength - (int)offset : length;
    }
}
