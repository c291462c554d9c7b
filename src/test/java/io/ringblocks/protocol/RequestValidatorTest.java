package io.ringblocks.protocol;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import io.ringblocks.wire.Flags;
import io.ringblocks.wire.Opcode;
import io.ringblocks.wire.Protocol;
import io.ringblocks.wire.Status;

import static org.junit.jupiter.api.Assertions.assertEquals;

class RequestValidatorTest
{
    private static final int MAX = Protocol.DEFAULT_MAX_BLOCK_SIZE;

    private static int validate(final int opcode, final int flags, final int bodyLength)
    {
        return RequestValidator.validate(Protocol.VERSION, opcode, flags, bodyLength, MAX);
    }

    @Test
    void shouldAcceptWellFormedRequests()
    {
        assertEquals(Status.OK, validate(Opcode.PING, 0, 0));
        assertEquals(Status.OK, validate(Opcode.STATS, 0, 0));
        assertEquals(Status.OK, validate(Opcode.PUT, 0, 1));
        assertEquals(Status.OK, validate(Opcode.PUT, 0, MAX));
        assertEquals(Status.OK, validate(Opcode.PUT, Flags.VERIFY_HASH, 33));
        assertEquals(Status.OK, validate(Opcode.PUT, Flags.VERIFY_HASH, 32 + MAX));
        assertEquals(Status.OK, validate(Opcode.GET, 0, 32));
        assertEquals(Status.OK, validate(Opcode.GET, Flags.RANGE, 44));
        assertEquals(Status.OK, validate(Opcode.HEAD, 0, 32));
        assertEquals(Status.OK, validate(Opcode.DELETE, 0, 32));
    }

    @Test
    void shouldRejectOtherVersionsFirst()
    {
        for (final int version : new int[]{ 0, 2, 0xFF })
        {
            assertEquals(Status.UNSUPPORTED_VERSION, RequestValidator.validate(version, Opcode.PING, 0, 0, MAX));
            assertEquals(Status.UNSUPPORTED_VERSION, RequestValidator.validate(version, 0x7F, 0xFFFF, -1, MAX));
        }
    }

    @Test
    void shouldRejectUnknownOpcodesBeforeFlagsAndBody()
    {
        for (final int opcode : new int[]{ 0, 9, 0x80, 0xFF })
        {
            assertEquals(Status.UNKNOWN_OPCODE, validate(opcode, 0, 0));
            assertEquals(Status.UNKNOWN_OPCODE, validate(opcode, 0xFFFF, 5));
        }
    }

    @Test
    void shouldRejectUndefinedFlagBits()
    {
        assertEquals(Status.BAD_REQUEST, validate(Opcode.PING, 1, 0));
        assertEquals(Status.BAD_REQUEST, validate(Opcode.STATS, 0x8000, 0));
        assertEquals(Status.BAD_REQUEST, validate(Opcode.PUT, 0x0002, 5));
        assertEquals(Status.BAD_REQUEST, validate(Opcode.PUT, 0x0003, 37));
        assertEquals(Status.BAD_REQUEST, validate(Opcode.GET, 0x0002, 32));
        assertEquals(Status.BAD_REQUEST, validate(Opcode.HEAD, 1, 32));
        assertEquals(Status.BAD_REQUEST, validate(Opcode.DELETE, 1, 32));
    }

    @Test
    void shouldRejectBodiesOnPingAndStats()
    {
        assertEquals(Status.BAD_REQUEST, validate(Opcode.PING, 0, 1));
        assertEquals(Status.BAD_REQUEST, validate(Opcode.STATS, 0, 32));
    }

    @Test
    void shouldRejectEmptyPut()
    {
        assertEquals(Status.BAD_REQUEST, validate(Opcode.PUT, 0, 0));
        assertEquals(Status.BAD_REQUEST, validate(Opcode.PUT, Flags.VERIFY_HASH, 32));
    }

    @Test
    void shouldRejectVerifyHashBodyShorterThanDigest()
    {
        assertEquals(Status.BAD_REQUEST, validate(Opcode.PUT, Flags.VERIFY_HASH, 0));
        assertEquals(Status.BAD_REQUEST, validate(Opcode.PUT, Flags.VERIFY_HASH, 31));
    }

    @Test
    void shouldRejectOversizedPayloadAsBlockTooLarge()
    {
        assertEquals(Status.BLOCK_TOO_LARGE, validate(Opcode.PUT, 0, MAX + 1));
        assertEquals(Status.BLOCK_TOO_LARGE, validate(Opcode.PUT, 0, MAX + 32));
        assertEquals(Status.BLOCK_TOO_LARGE, validate(Opcode.PUT, Flags.VERIFY_HASH, 32 + MAX + 1));
        assertEquals(Status.BLOCK_TOO_LARGE, RequestValidator.validate(1, Opcode.PUT, 0, 4097, 4096));
    }

    @Test
    void shouldRejectWrongHashBodyLengths()
    {
        for (final int opcode : new int[]{ Opcode.GET, Opcode.HEAD, Opcode.DELETE })
        {
            assertEquals(Status.BAD_REQUEST, validate(opcode, 0, 0));
            assertEquals(Status.BAD_REQUEST, validate(opcode, 0, 31));
            assertEquals(Status.BAD_REQUEST, validate(opcode, 0, 33));
            assertEquals(Status.BAD_REQUEST, validate(opcode, 0, 44));
        }
    }

    @Test
    void shouldRequireExactRangeBodyLength()
    {
        assertEquals(Status.BAD_REQUEST, validate(Opcode.GET, Flags.RANGE, 32));
        assertEquals(Status.BAD_REQUEST, validate(Opcode.GET, Flags.RANGE, 43));
        assertEquals(Status.BAD_REQUEST, validate(Opcode.GET, Flags.RANGE, 45));
    }

    @Test
    void shouldRejectNegativeBodyLength()
    {
        assertEquals(Status.BAD_REQUEST, validate(Opcode.PING, 0, -1));
        assertEquals(Status.BAD_REQUEST, validate(Opcode.PUT, 0, Integer.MIN_VALUE));
        assertEquals(Status.BAD_REQUEST, validate(Opcode.PUT, Flags.VERIFY_HASH, Integer.MIN_VALUE));
    }

    @Test
    void shouldValidateFromWrappedHeader()
    {
        final UnsafeBuffer buffer = new UnsafeBuffer(new byte[16]);
        new RequestHeaderEncoder().wrap(buffer, 0).encode(Opcode.HEAD, 0, 9L, 31);
        final RequestHeader header = new RequestHeader().wrap(buffer, 0);
        assertEquals(Status.BAD_REQUEST, RequestValidator.validate(header, header.bodyLength(), MAX));
        new RequestHeaderEncoder().wrap(buffer, 0).encode(Opcode.HEAD, 0, 9L, 32);
        assertEquals(Status.OK, RequestValidator.validate(header, header.bodyLength(), MAX));
    }

    @Test
    void shouldComputePutPayloadLength()
    {
        assertEquals(5, RequestValidator.putPayloadLength(0, 5));
        assertEquals(5, RequestValidator.putPayloadLength(Flags.VERIFY_HASH, 37));
    }
}
