package io.ringblocks.protocol;

import java.nio.ByteOrder;

import org.agrona.DirectBuffer;

import io.ringblocks.wire.Protocol;

/**
 * Read-only flyweight over the 16-byte response header, for clients and tests. It has the request's shape with
 * the flags replaced by a status, so one framing loop serves both directions. All integers are little-endian.
 * <pre>
 *  0        4         5        6        8                   16
 * +--------+---------+--------+--------+-------------------+----------------...
 * | length | version | opcode | status |    request id     |  body
 * |  u32   |  u8 = 1 |   u8   |  u16   |       u64         |  (length - 12 bytes)
 * +--------+---------+--------+--------+-------------------+----------------...
 * </pre>
 * {@code opcode} and {@code request id} echo the request; connection-level errors (FRAME_TOO_LARGE, a length
 * below 12, UNSUPPORTED_VERSION) answer no trustworthy request and carry opcode 0 and request id 0.
 */
public final class ResponseHeader
{
    public static final int LENGTH_OFFSET = Protocol.LENGTH_OFFSET;
    public static final int VERSION_OFFSET = Protocol.VERSION_OFFSET;
    public static final int OPCODE_OFFSET = Protocol.OPCODE_OFFSET;
    public static final int STATUS_OFFSET = Protocol.STATUS_OFFSET;
    public static final int REQUEST_ID_OFFSET = Protocol.REQUEST_ID_OFFSET;
    public static final int HEADER_LENGTH = Protocol.HEADER_LENGTH;

    private DirectBuffer buffer;
    private int offset;

    /**
     * @param buffer holding at least {@link #HEADER_LENGTH} bytes from {@code offset}.
     * @param offset of the length field.
     * @return this, for chaining.
     */
    public ResponseHeader wrap(final DirectBuffer buffer, final int offset)
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

    /** @return the raw u32 length field; values of 2^31 and above come out negative. */
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

    public int status()
    {
        return buffer.getShort(offset + STATUS_OFFSET, ByteOrder.LITTLE_ENDIAN) & 0xFFFF;
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

    /** @return {@code length - 12}: the body size. */
    public int bodyLength()
    {
        return length() - Protocol.MIN_LENGTH;
    }

    /** @return the whole frame's size on the wire, {@code 4 + length}. */
    public int frameLength()
    {
        return Protocol.LENGTH_FIELD_LENGTH + length();
    }
}
