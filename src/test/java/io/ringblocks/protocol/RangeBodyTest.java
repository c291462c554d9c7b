package io.ringblocks.protocol;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import io.ringblocks.wire.Status;

import static org.junit.jupiter.api.Assertions.assertEquals;

class RangeBodyTest
{
    @Test
    void shouldRoundTripOffsetAndLengthLittleEndian()
    {
        final byte[] bytes = new byte[50];
        final UnsafeBuffer buffer = new UnsafeBuffer(bytes);
        RangeBody.put(buffer, 6, 0x0102030405060708L, 0x0A0B0C0D);
        assertEquals(0x0102030405060708L, RangeBody.offset(buffer, 6));
        assertEquals(0x0A0B0C0D, RangeBody.length(buffer, 6));
        assertEquals(0x08, bytes[6 + 32]);
        assertEquals(0x0D, bytes[6 + 40]);
        assertEquals(44, RangeBody.LENGTH);
    }

    @Test
    void shouldAcceptRangesInsideTheBlock()
    {
        assertEquals(Status.OK, RangeBody.check(0, 0, 5));
        assertEquals(Status.OK, RangeBody.check(0, 5, 5));
        assertEquals(Status.OK, RangeBody.check(1, 3, 5));
        assertEquals(Status.OK, RangeBody.check(4, 1, 5));
        assertEquals(Status.OK, RangeBody.check(4, 0, 5));
    }

    @Test
    void shouldRejectRangesBeyondTheBlock()
    {
        assertEquals(Status.BAD_RANGE, RangeBody.check(5, 0, 5));
        assertEquals(Status.BAD_RANGE, RangeBody.check(3, 5, 5));
        assertEquals(Status.BAD_RANGE, RangeBody.check(0, 6, 5));
        assertEquals(Status.BAD_RANGE, RangeBody.check(-1L, 1, 5));
        assertEquals(Status.BAD_RANGE, RangeBody.check(Long.MIN_VALUE, 0, 5));
        assertEquals(Status.BAD_RANGE, RangeBody.check(1, -1, Integer.MAX_VALUE));
        assertEquals(Status.BAD_RANGE, RangeBody.check(Integer.MAX_VALUE, 1, Integer.MAX_VALUE));
    }

    @Test
    void shouldResolveLengthZeroToTheEnd()
    {
        assertEquals(3, RangeBody.resolvedLength(2, 0, 5));
        assertEquals(2, RangeBody.resolvedLength(2, 2, 5));
        assertEquals(5, RangeBody.resolvedLength(0, 0, 5));
    }
}
