package io.ringblocks.storage;

import java.nio.ByteOrder;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * The value the index keeps under a block's hash (LMDB database {@code blocks}); one definition for the index, the
 * checkpointer and recovery.
 * <pre>
 * 28 bytes, little-endian:
 *  0               8           12     13     14       16                  24          28
 *  +---------------+-----------+------+------+--------+-------------------+-----------+
 *  |  file offset  |  length   |class |flags |reserved| sync generation   |  crc32c   |
 *  |     u64       |   u32     |  u8  |  u8  | (zero) |       u64         |    u32    |
 *  +---------------+-----------+------+------+--------+-------------------+-----------+
 * </pre>
 * The sync generation is always 0 since schema 4 (version 3 used it for relaxed mode's flush generations, which the
 * write-ahead log's recovery replaced: {@link WalRecovery}). The CRC32C covers the block's {@code length} bytes (not
 * the zero padding of its last page) and is checked on every read; flag {@link #CORRUPT} is set by the committer when
 * a read failed that check, until a PUT of the same content replaces the entry.
 */
public final class IndexValue
{
    public static final int VALUE_LENGTH = 28;
    public static final int OFFSET_OFFSET = 0;
    public static final int LENGTH_OFFSET = 8;
    public static final int CLASS_OFFSET = 12;
    public static final int FLAGS_OFFSET = 13;
    public static final int GENERATION_OFFSET = 16;
    public static final int CRC_OFFSET = 24;
    /** Flag bit: a read of this block failed its CRC32C check; GETs answer CORRUPT until a PUT heals it. */
    public static final int CORRUPT = 1;

    private static final ByteOrder ORDER = ByteOrder.LITTLE_ENDIAN;

    private IndexValue()
    {
    }

    public static void encode(
        final MutableDirectBuffer value,
        final long offset,
        final int length,
        final int sizeClass,
        final long generation,
        final int crc,
        final int flags)
    {
        value.putLong(OFFSET_OFFSET, offset, ORDER);
        value.putInt(LENGTH_OFFSET, length, ORDER);
        value.putInt(CLASS_OFFSET, (sizeClass & 0xFF) | (flags & 0xFF) << 8, ORDER); // reserved bytes zeroed too
        value.putLong(GENERATION_OFFSET, generation, ORDER);
        value.putInt(CRC_OFFSET, crc, ORDER);
    }

    public static int crc(final DirectBuffer value)
    {
        return value.getInt(CRC_OFFSET, ORDER);
    }

    public static int flags(final DirectBuffer value)
    {
        return value.getByte(FLAGS_OFFSET) & 0xFF;
    }

    public static long generation(final DirectBuffer value)
    {
        return value.getLong(GENERATION_OFFSET, ORDER);
    }

    public static long offset(final DirectBuffer value)
    {
        return value.getLong(OFFSET_OFFSET, ORDER);
    }

    public static int length(final DirectBuffer value)
    {
        return value.getInt(LENGTH_OFFSET, ORDER);
    }

    public static int sizeClass(final DirectBuffer value)
    {
        return value.getByte(CLASS_OFFSET) & 0xFF;
    }
}
