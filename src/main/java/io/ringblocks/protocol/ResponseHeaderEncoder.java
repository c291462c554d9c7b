package io.ringblocks.protocol;

import java.nio.ByteOrder;

import org.agrona.MutableDirectBuffer;

import io.ringblocks.wire.Opcode;
import io.ringblocks.wire.Protocol;

import static io.ringblocks.protocol.ResponseHeader.HEADER_LENGTH;
import static io.ringblocks.protocol.ResponseHeader.LENGTH_OFFSET;
import static io.ringblocks.protocol.ResponseHeader.OPCODE_OFFSET;
import static io.ringblocks.protocol.ResponseHeader.REQUEST_ID_OFFSET;
import static io.ringblocks.protocol.ResponseHeader.STATUS_OFFSET;
import static io.ringblocks.protocol.ResponseHeader.VERSION_OFFSET;

/**
 * Writing flyweight for the response header laid out in {@link ResponseHeader}: the server writes responses in
 * place into its send buffers, so answering allocates nothing. The caller writes the body at {@link #bodyOffset()}.
 */
public final class ResponseHeaderEncoder
{
    private MutableDirectBuffer buffer;
    private int offset;

    /**
     * @param buffer with room for at least {@link ResponseHeader#HEADER_LENGTH} bytes from {@code offset}.
     * @param offset where the length field goes.
     * @return this, for chaining.
     */
    public ResponseHeaderEncoder wrap(final MutableDirectBuffer buffer, final int offset)
    {
        this.buffer = buffer;
        this.offset = offset;
        return this;
    }

    /**
     * Writes a whole version-1 header.
     *
     * @param opcode     the request's opcode, or {@link Opcode#NONE} for a connection-level error.
     * @param status     a {@link Status} code.
     * @param requestId  the request's id, or 0 for a connection-level error.
     * @param bodyLength bytes of body that will follow the header; 0 for every error in version 1.
     * @return this, for chaining.
     */
    public ResponseHeaderEncoder encode(final int opcode, final int status, final long requestId, final int bodyLength)
    {
        return length(Protocol.MIN_LENGTH + bodyLength)
            .version(Protocol.VERSION)
            .opcode(opcode)
            .status(status)
            .requestId(requestId);
    }

    /**
     * Writes the body-less answer to a connection-level error, after which the server closes the connection.
     *
     * @param status {@link Status#FRAME_TOO_LARGE}, {@link Status#BAD_REQUEST} (length below 12) or
     *               {@link Status#UNSUPPORTED_VERSION}.
     * @return this, for chaining.
     */
    public ResponseHeaderEncoder encodeConnectionError(final int status)
    {
        return encode(Opcode.NONE, status, 0L, 0);
    }

    /** @param length the u32 length field: bytes after it, {@code 12 + body length}. */
    public ResponseHeaderEncoder length(final int length)
    {
        buffer.putInt(offset + LENGTH_OFFSET, length, ByteOrder.LITTLE_ENDIAN);
        return this;
    }

    public ResponseHeaderEncoder version(final int version)
    {
        buffer.putByte(offset + VERSION_OFFSET, (byte)version);
        return this;
    }

    public ResponseHeaderEncoder opcode(final int opcode)
    {
        buffer.putByte(offset + OPCODE_OFFSET, (byte)opcode);
        return this;
    }

    public ResponseHeaderEncoder status(final int status)
    {
        buffer.putShort(offset + STATUS_OFFSET, (short)status, ByteOrder.LITTLE_ENDIAN);
        return this;
    }

    public ResponseHeaderEncoder requestId(final long requestId)
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
