package io.ringblocks.protocol;

import java.nio.ByteOrder;

import org.agrona.DirectBuffer;

import io.ringblocks.wire.Protocol;

/**
 * Read-only flyweight over the 16-byte request header, so that the server decodes a request in place in its
 * receive buffer without copying or allocating. All integers are little-endian.
 * <pre>
 *  0        4         5        6        8                   16
 * +--------+---------+--------+--------+-------------------+----------------...
 * | length | version | opcode | flags  |    request id     |  body
 * |  u32   |  u8 = 1 |   u8   |  u16   |       u64         |  (length - 12 bytes)
 * +--------+---------+--------+--------+-------------------+----------------...
 * </pre>
 * {@code length} counts the bytes after itself: the 12 remaining header bytes plus the body. Check it with
 * {@link FrameDecoder#check(int, int)} before trusting anything else, and the rest with
 * {@link RequestValidator} before doing any work.
 */
public final class RequestHeader
{
    public static final int LENGTH_OFFSET = Protocol.LENGTH_OFFSET;
    public static final int VERSION_OFFSET = Protocol.VERSION_OFFSET;
    public static final int OPCODE_OFFSET = Protocol.OPCODE_OFFSET;
    public static final int FLAGS_OFFSET = Protocol.FLAGS_OFFSET;
    public static final int REQUEST_ID_OFFSET = Protocol.REQUEST_ID_OFFSET;
    public static final int HEADER_LENGTH = Protocol.HEADER_LENGTH;

    private DirectBuffer buffer;
    private int offset;

    /**
     * @param buffer holding at least {@link #HEADER_LENGTH} bytes from {@code offset}.
     * @param offset of the length field.
     * @return this, for chaining.
     */
    public RequestHeader wrap(final DirectBuffer buffer, final int offset)
    {
        this.buffer = buffer;
        this.offset = offset;
        return this;
    }

    public DirectBuffer buffer()
    {
        return buffer;
    }

    public int offset()
    {
        return offset;
    }

    /** @return the raw u32 length field; values of 2^31 and above come out negative (see {@link FrameDecoder}). */
    public int length()
    {
        return buffer.getInt(offset + LENGTH_OFFSET, ByteOrder.LITTLE_ENDIAN);
    }

    public int version()
    {
        return buffer.getByte(offset + VERSION_OFFSET) & 0xFF;
    }

    public int opcode()
    {
        return buffer.getByte(offset + OPCODE_OFFSET) & 0xFF;
    }

    public int flags()
    {
        return buffer.getShort(offset + FLAGS_OFFSET, ByteOrder.LITTLE_ENDIAN) & 0xFFFF;
    }

    public long requestId()
    {
        return buffer.getLong(offset + REQUEST_ID_OFFSET, ByteOrder.LITTLE_ENDIAN);
    }

    /** @return the absolute index of the first body byte. */
    public int bodyOffset()
    {
        return offset + HEADER_LENGTH;
    }

    /** @return {@code length - 12}: the body size; only meaningful once the length passed {@link FrameDecoder}. */
    public int bodyLength()
    {
        return length() - Protocol.MIN_LENGTH;
    }

    /** @return the whole frame's size on the wire, {@code 4 + length}; meaningful once the length passed. */
    public int frameLength()
    {
        return Protocol.LENGTH_FIELD_LENGTH + length();
    }
}
