package io.ringblocks.protocol;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import io.ringblocks.wire.Protocol;
import io.ringblocks.wire.Status;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FrameDecoderTest
{
    private static final int MAX_BODY = Protocol.DEFAULT_MAX_BODY_LENGTH;

    @Test
    void shouldReportIncompleteBelowFourBytes()
    {
        final UnsafeBuffer buffer = new UnsafeBuffer(TestVectors.fromHex("0c000000"));
        for (int available = 0; available < 4; available++)
        {
            assertEquals(FrameDecoder.INCOMPLETE, FrameDecoder.frameLength(buffer, 0, available));
        }
        assertEquals(12, FrameDecoder.frameLength(buffer, 0, 4));
    }

    @Test
    void shouldReadLengthLittleEndianAtOffset()
    {
        final UnsafeBuffer buffer = new UnsafeBuffer(TestVectors.fromHex("ffff2c001000"));
        assertEquals(1_048_620, FrameDecoder.frameLength(buffer, 2, 4));
    }

    @Test
    void shouldSaturateLengthsOfTwoToTheThirtyOneAndAbove()
    {
        assertEquals(Integer.MAX_VALUE, lengthOf("ffffffff"));
        assertEquals(Integer.MAX_VALUE, lengthOf("00000080"));
        assertEquals(Integer.MAX_VALUE, lengthOf("ffffff7f"));
    }

    private static int lengthOf(final String hex)
    {
        return FrameDecoder.frameLength(new UnsafeBuffer(TestVectors.fromHex(hex)), 0, 4);
    }

    @Test
    void shouldAcceptLengthsFromHeaderOnlyToMaximum()
    {
        assertEquals(Status.OK, FrameDecoder.check(12, MAX_BODY));
        assertEquals(Status.OK, FrameDecoder.check(44, MAX_BODY));
        assertEquals(Status.OK, FrameDecoder.check(1_048_620, MAX_BODY));
    }

    @Test
    void shouldRejectLengthBelowTwelveAsBadRequest()
    {
        for (int length = 0; length < 12; length++)
        {
            assertEquals(Status.BAD_REQUEST, FrameDecoder.check(length, MAX_BODY));
        }
    }

    @Test
    void shouldRejectLengthAboveMaximumAsFrameTooLarge()
    {
        assertEquals(Status.FRAME_TOO_LARGE, FrameDecoder.check(1_048_621, MAX_BODY));
        assertEquals(Status.FRAME_TOO_LARGE, FrameDecoder.check(Integer.MAX_VALUE, MAX_BODY));
        assertEquals(Status.FRAME_TOO_LARGE, FrameDecoder.check(-1, MAX_BODY));
        assertEquals(Status.FRAME_TOO_LARGE, FrameDecoder.check(Integer.MIN_VALUE, MAX_BODY));
        assertEquals(Status.FRAME_TOO_LARGE, FrameDecoder.check(13, 0));
        assertEquals(Status.OK, FrameDecoder.check(Integer.MAX_VALUE, Integer.MAX_VALUE));
    }

    @Test
    void shouldTellWhenWholeFrameArrived()
    {
        assertFalse(FrameDecoder.isComplete(12, 15));
        assertTrue(FrameDecoder.isComplete(12, 16));
        assertTrue(FrameDecoder.isComplete(12, 17));
        assertFalse(FrameDecoder.isComplete(Integer.MAX_VALUE, Integer.MAX_VALUE));
        assertFalse(FrameDecoder.isComplete(-1, Integer.MAX_VALUE));
    }
}
