package io.ringblocks.storage;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;

import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Flyweight over one write-ahead log record at the start of a direct buffer: the effects of one committer batch.
 * <pre>
 * little-endian; starts on a 4096-byte boundary of the log, zero padded to a multiple of 4096:
 *  0        4          8             16        20        24       28         32                40             48
 *  +--------+----------+-------------+---------+---------+--------+----------+-----------------+--------------+-----------+
 *  | magic  | CRC32C   | sequence    | prevCrc | length  | count  | reserved | durableSequence | openSequence | count     |
 *  | "RBWR" | of bytes | u64         | u32     | u32     | u32    | u32 = 0  | u64             | u64          | effects   |
 *  | u32    | [8, len) |             |         |         | 1..4096|          |                 |              | (56 each) |
 *  +--------+----------+-------------+---------+---------+--------+----------+-----------------+--------------+-----------+
 * effect, 56 bytes (a DELETE has type and hash only, every other byte 0):
 *  0      1           2       3     4          8              16       20      24                           56
 *  +------+-----------+-------+-----+----------+--------------+--------+-------+----------------------------+
 *  | type | sizeClass | flags | 0   | length   | offset       | crc    | 0     | hash                       |
 *  | u8   | u8        | u8    |     | u32      | u64          | u32    |       | 32 bytes (SHA-256)         |
 *  +------+-----------+-------+-----+----------+--------------+--------+-------+----------------------------+
 * </pre>
 * length is {@code 48 + 56 * count} (without the padding). The CRC covers everything after itself up to length, so
 * a record torn by a crash mid-write fails it; the CRC is also the record's identity: the next record carries it as
 * prevCrc, which is what keeps a stale record (an earlier lap, or an earlier life's unfinished tail) out of the
 * chain. Nothing read from the log is trusted before {@link #wellFormed(long)} and {@link #crcMatches()} pass.
 */
final class WalRecord
{
    static final int MAGIC = 0x52574252; // "RBWR" read little-endian
    static final int MAGIC_OFFSET = 0;
    static final int CRC_OFFSET = 4;
    static final int SEQUENCE_OFFSET = 8;
    static final int PREV_CRC_OFFSET = 16;
    static final int LENGTH_OFFSET = 20;
    static final int COUNT_OFFSET = 24;
    static final int RESERVED_OFFSET = 28;
    static final int DURABLE_SEQUENCE_OFFSET = 32;
    static final int OPEN_SEQUENCE_OFFSET = 40;
    static final int HEADER_LENGTH = 48;

    static final int EFFECT_LENGTH = 56;
    static final int TYPE_OFFSET = 0;
    static final int SIZE_CLASS_OFFSET = 1;
    static final int FLAGS_OFFSET = 2;
    static final int EFFECT_LENGTH_OFFSET = 4;
    static final int EFFECT_OFFSET_OFFSET = 8;
    static final int EFFECT_CRC_OFFSET = 16;
    static final int HASH_OFFSET = 24;
    static final int HASH_LENGTH = 32;

    static final int MAX_EFFECTS = 4096;

    private static final ByteOrder ORDER = ByteOrder.LITTLE_ENDIAN;

    private final ByteBuffer view;
    private final UnsafeBuffer buffer;
    private final CRC32C crc32c = new CRC32C();

    /** @param direct a direct buffer of at least {@link #paddedLength(int) paddedLength(MAX_EFFECTS)} bytes. */
    WalRecord(final ByteBuffer direct)
    {
        if (!direct.isDirect() || direct.capacity() < paddedLength(MAX_EFFECTS))
        {
            throw new IllegalArgumentException("need a direct buffer of " + paddedLength(MAX_EFFECTS) + " bytes");
        }
        view = direct;
        buffer = new UnsafeBuffer(direct);
    }

    /** @return the bytes a record of {@code count} effects takes, unpadded. */
    static int length(final int count)
    {
        return HEADER_LENGTH + EFFECT_LENGTH * count;
    }

    /** @return the bytes a record of {@code count} effects takes in the log: its length padded to 4096. */
    static int paddedLength(final int count)
    {
        if (count < 1 || count > MAX_EFFECTS)
        {
            throw new IllegalArgumentException("a record holds 1 to " + MAX_EFFECTS + " effects, not " + count);
        }
        return (length(count) + WriteAheadLog.PAGE - 1) & -WriteAheadLog.PAGE;
    }

    static int effectOffset(final int index)
    {
        return HEADER_LENGTH + EFFECT_LENGTH * index;
    }

    UnsafeBuffer buffer()
    {
        return buffer;
    }

    /** The buffer as a ByteBuffer, for reads from and writes to the file; its position and limit are the caller's. */
    ByteBuffer view()
    {
        return view;
    }

    int magic()
    {
        return buffer.getInt(MAGIC_OFFSET, ORDER);
    }

    int crc()
    {
        return buffer.getInt(CRC_OFFSET, ORDER);
    }

    long sequence()
    {
        return buffer.getLong(SEQUENCE_OFFSET, ORDER);
    }

    int prevCrc()
    {
        return buffer.getInt(PREV_CRC_OFFSET, ORDER);
    }

    int length()
    {
        return buffer.getInt(LENGTH_OFFSET, ORDER);
    }

    int count()
    {
        return buffer.getInt(COUNT_OFFSET, ORDER);
    }

    long durableSequence()
    {
        return buffer.getLong(DURABLE_SEQUENCE_OFFSET, ORDER);
    }

    long openSequence()
    {
        return buffer.getLong(OPEN_SEQUENCE_OFFSET, ORDER);
    }

    /**
     * Checks the header fields read so far (the first {@link #HEADER_LENGTH} bytes) before anything else of the
     * record is trusted or read.
     *
     * @param space bytes of the log from the record's start to the end of the file.
     * @return true when magic, count and length agree and the record fits in {@code space}.
     */
    boolean wellFormed(final long space)
    {
        final int count = count();
        final int length = length();
        return magic() == MAGIC && count >= 1 && count <= MAX_EFFECTS && length == length(count) &&
            length <= space && buffer.getInt(RESERVED_OFFSET, ORDER) == 0;
    }

    /**
     * @return true when the stored CRC matches bytes [8, length) and every effect has a known type; only after
     * {@link #wellFormed(long)} passed and the whole record is in the buffer.
     */
    boolean crcMatches()
    {
        if (computeCrc(length()) != crc())
        {
            return false;
        }
        for (int i = 0, count = count(); i < count; i++)
        {
            final int type = type(i);
            if (type != WriteAheadLog.PUT && type != WriteAheadLog.DELETE)
            {
                return false;
            }
        }
        return true;
    }

    /** @return the CRC32C of bytes [8, length). */
    int computeCrc(final int length)
    {
        crc32c.reset();
        view.limit(length).position(SEQUENCE_OFFSET);
        crc32c.update(view);
        view.clear();
        return (int)crc32c.getValue();
    }

    /** Fills the header of a record whose {@code count} effects are in place, zeroes its padding, stamps its CRC. */
    int seal(
        final int count, final long sequence, final int prevCrc, final long durableSequence, final long openSequence)
    {
        final int length = length(count);
        buffer.putInt(MAGIC_OFFSET, MAGIC, ORDER);
        buffer.putLong(SEQUENCE_OFFSET, sequence, ORDER);
        buffer.putInt(PREV_CRC_OFFSET, prevCrc, ORDER);
        buffer.putInt(LENGTH_OFFSET, length, ORDER);
        buffer.putInt(COUNT_OFFSET, count, ORDER);
        buffer.putInt(RESERVED_OFFSET, 0, ORDER);
        buffer.putLong(DURABLE_SEQUENCE_OFFSET, durableSequence, ORDER);
        buffer.putLong(OPEN_SEQUENCE_OFFSET, openSequence, ORDER);
        buffer.setMemory(length, paddedLength(count) - length, (byte)0);
        final int crc = computeCrc(length);
        buffer.putInt(CRC_OFFSET, crc, ORDER);
        return crc;
    }

    void putEffect(
        final int index,
        final int type,
        final DirectBuffer hash,
        final int hashOffset,
        final long offset,
        final int length,
        final int sizeClass,
        final int crc,
        final int flags)
    {
        final int at = effectOffset(index);
        buffer.putByte(at + TYPE_OFFSET, (byte)type);
        buffer.putByte(at + SIZE_CLASS_OFFSET, (byte)sizeClass);
        buffer.putByte(at + FLAGS_OFFSET, (byte)flags);
        buffer.putByte(at + FLAGS_OFFSET + 1, (byte)0);
        buffer.putInt(at + EFFECT_LENGTH_OFFSET, length, ORDER);
        buffer.putLong(at + EFFECT_OFFSET_OFFSET, offset, ORDER);
        buffer.putInt(at + EFFECT_CRC_OFFSET, crc, ORDER);
        buffer.putInt(at + EFFECT_CRC_OFFSET + 4, 0, ORDER);
        buffer.putBytes(at + HASH_OFFSET, hash, hashOffset, HASH_LENGTH);
    }

    int type(final int index)
    {
        return buffer.getByte(effectOffset(index) + TYPE_OFFSET) & 0xFF;
    }

    int sizeClass(final int index)
    {
        return buffer.getByte(effectOffset(index) + SIZE_CLASS_OFFSET) & 0xFF;
    }

    int flags(final int index)
    {
        return buffer.getByte(effectOffset(index) + FLAGS_OFFSET) & 0xFF;
    }

    int blockLength(final int index)
    {
        return buffer.getInt(effectOffset(index) + EFFECT_LENGTH_OFFSET, ORDER);
    }

    long blockOffset(final int index)
    {
        return buffer.getLong(effectOffset(index) + EFFECT_OFFSET_OFFSET, ORDER);
    }

    int blockCrc(final int index)
    {
        return buffer.getInt(effectOffset(index) + EFFECT_CRC_OFFSET, ORDER);
    }

    /** @return where the effect's 32-byte hash starts in {@link #buffer()}. */
    static int hashOffset(final int index)
    {
        return effectOffset(index) + HASH_OFFSET;
    }
}
