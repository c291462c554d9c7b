package io.ringblocks.protocol;

import java.nio.ByteOrder;

import org.agrona.MutableDirectBuffer;

import io.ringblocks.wire.Protocol;

import static io.ringblocks.protocol.RequestHeader.FLAGS_OFFSET;
import static io.ringblocks.protocol.RequestHeader.HEADER_LENGTH;
import static io.ringblocks.protocol.RequestHeader.LENGTH_OFFSET;
import static io.ringblocks.protocol.RequestHeader.OPCODE_OFFSET;
import static io.ringblocks.protocol.RequestHeader.REQUEST_ID_OFFSET;
import static io.ringblocks.protocol.RequestHeader.VERSION_OFFSET;

/**
 * Writing flyweight for the request header laid out in {@link RequestHeader}, for clients, benchmarks and tests:
 * it writes in place into a send buffer, so encoding a request allocates nothing. The caller writes the body at
 * {@link #bodyOffset()}.
 */
public final class RequestHeaderEncoder
{
    private MutableDirectBuffer buffer;
    private int offset;

    /**
     * @param buffer with room for at least {@link RequestHeader#HEADER_LENGTH} bytes from {@code offset}.
     * @param offset where the length field goes.
     * @return this, for chaining.
     */
    public RequestHeaderEncoder wrap(final MutableDirectBuffer buffer, final int offset)
    {
        this.buffer = buffer;
        this.offset = offset;
        return this;
    }

    /**
     * Writes a whole version-1 header.
     *
     * @param opcode     request opcode.
     * @param flags      flag bits for {@code opcode}.
     * @param requestId  echoed by the server; the client's key for matching out-of-order responses.
     * @param bodyLength bytes of body that will follow the header.
     * @return this, for chaining.
     */
    public RequestHeaderEncoder encode(final int opcode, final int flags, final long requestId, final int bodyLength)
    {
        return length(Protocol.MIN_LENGTH + bodyLength)
            .version(Protocol.VERSION)
            .opcode(opcode)
            .flags(flags)
            .requestId(requestId);
    }

    /** @param length the u32 length field: bytes after it, {@code 12 + body length}. */
    public RequestHeaderEncoder length(final int length)
    {
        buffer.putInt(offset + LENGTH_OFFSET, length, ByteOrder.LITTLE_ENDIAN);
        return this;
    }

    public RequestHeaderEncoder version(final int version)
    {
        buffer.putByte(offset + VERSION_OFFSET, (byte)version);
        return this;
    }

    public RequestHeaderEncoder opcode(final int opcode)
    {
        buffer.putByte(offset + OPCODE_OFFSET, (byte)opcode);
        return this;
    }

    public RequestHeaderEncoder flags(final int flags)
    {
        buffer.putShort(offset + FLAGS_OFFSET, (short)flags, ByteOrder.LITTLE_ENDIAN);
        return this;
    }

    public RequestHeaderEncoder requestId(final long requestId)
    {
        buffer.putLong(offset + REQUEST_ID_OFFSET, requestId, ByteOrder.LITTLE_ENDIAN);
        return this;
    }

    /** @return the absolute index where the body starts. */
    public int bodyOffset()
    {
        return offset + HEADER_LENGTH;
    }
}
