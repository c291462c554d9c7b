package io.ringblocks.protocol;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import io.ringblocks.wire.Flags;
import io.ringblocks.wire.Opcode;
import io.ringblocks.wire.Protocol;
import io.ringblocks.wire.Status;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class HeaderCodecTest
{
    @Test
    void shouldEncodeRequestHeaderLittleEndianAtItsOffsets()
    {
        final byte[] bytes = new byte[16];
        new RequestHeaderEncoder().wrap(new UnsafeBuffer(bytes), 0)
            .encode(Opcode.GET, Flags.RANGE, 0x0102030405060708L, 44);
        assertEquals("3800000001030100" + "0807060504030201", TestVectors.toHex(bytes));
    }

    @Test
    void shouldRoundTripRequestHeaderAtNonZeroOffset()
    {
        final UnsafeBuffer buffer = new UnsafeBuffer(new byte[64]);
        final RequestHeaderEncoder encoder = new RequestHeaderEncoder().wrap(buffer, 7);
        encoder.encode(Opcode.PUT, Flags.VERIFY_HASH, -2L, 37);
        assertEquals(7 + 16, encoder.bodyOffset());

        final RequestHeader header = new RequestHeader().wrap(buffer, 7);
        assertEquals(49, header.length());
        assertEquals(Protocol.VERSION, header.version());
        assertEquals(Opcode.PUT, header.opcode());
        assertEquals(Flags.VERIFY_HASH, header.flags());
        assertEquals(-2L, header.requestId());
        assertEquals(23, header.bodyOffset());
        assertEquals(37, header.bodyLength());
        assertEquals(53, header.frameLength());
        assertEquals(buffer, header.buffer());
        assertEquals(7, header.offset());
        assertEquals(0, buffer.getByte(6));
        assertEquals(0, buffer.getByte(23));
    }

    @Test
    void shouldReadRequestFieldsAsUnsigned()
    {
        final UnsafeBuffer buffer = new UnsafeBuffer(new byte[16]);
        new RequestHeaderEncoder().wrap(buffer, 0).length(-1).version(0xFF).opcode(0xFE).flags(0xFFFF).requestId(-1L);
        final RequestHeader header = new RequestHeader().wrap(buffer, 0);
        assertEquals(-1, header.length());
        assertEquals(0xFF, header.version());
        assertEquals(0xFE, header.opcode());
        assertEquals(0xFFFF, header.flags());
        assertEquals(-1L, header.requestId());
    }

    @Test
    void shouldRoundTripResponseHeader()
    {
        final UnsafeBuffer buffer = new UnsafeBuffer(new byte[48]);
        final ResponseHeaderEncoder encoder = new ResponseHeaderEncoder().wrap(buffer, 3);
        encoder.encode(Opcode.HEAD, Status.OK, 42L, 4);
        assertEquals(19, encoder.bodyOffset());

        final ResponseHeader header = new ResponseHeader().wrap(buffer, 3);
        assertEquals(16, header.length());
        assertEquals(1, header.version());
        assertEquals(Opcode.HEAD, header.opcode());
        assertEquals(Status.OK, header.status());
        assertEquals(42L, header.requestId());
        assertEquals(19, header.bodyOffset());
        assertEquals(4, header.bodyLength());
        assertEquals(20, header.frameLength());
        assertEquals(buffer, header.buffer());
        assertEquals(3, header.offset());
    }

    @Test
    void shouldReadResponseStatusAsUnsigned()
    {
        final UnsafeBuffer buffer = new UnsafeBuffer(new byte[16]);
        new ResponseHeaderEncoder().wrap(buffer, 0).status(0xFFFF).opcode(0xFF).version(0x80);
        final ResponseHeader header = new ResponseHeader().wrap(buffer, 0);
        assertEquals(0xFFFF, header.status());
        assertEquals(0xFF, header.opcode());
        assertEquals(0x80, header.version());
    }

    @Test
    void shouldEncodeConnectionErrorWithOpcodeAndRequestIdZero()
    {
        final byte[] bytes = new byte[16];
        new ResponseHeaderEncoder().wrap(new UnsafeBuffer(bytes), 0).encodeConnectionError(Status.FRAME_TOO_LARGE);
        assertArrayEquals(TestVectors.fromHex("0c00000001000b000000000000000000"), bytes);
    }

    @Test
    void shouldShareHeaderLayoutBetweenDirections()
    {
        assertEquals(RequestHeader.HEADER_LENGTH, ResponseHeader.HEADER_LENGTH);
        assertEquals(RequestHeader.FLAGS_OFFSET, ResponseHeader.STATUS_OFFSET);
        assertEquals(RequestHeader.REQUEST_ID_OFFSET, ResponseHeader.REQUEST_ID_OFFSET);
        assertEquals(RequestHeader.HEADER_LENGTH, Protocol.LENGTH_FIELD_LENGTH + Protocol.MIN_LENGTH);
    }
}
