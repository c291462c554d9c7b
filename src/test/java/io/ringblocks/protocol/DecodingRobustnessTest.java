package io.ringblocks.protocol;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.agrona.concurrent.UnsafeBuffer;

import io.ringblocks.wire.Opcode;
import io.ringblocks.wire.Protocol;
import io.ringblocks.wire.Status;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Whatever bytes a peer sends, the decoding path must answer with a status, never an exception: an exception in
 * the server's event loop would take down every connection on that ring, not just the hostile one.
 */
class DecodingRobustnessTest
{
    @Property(tries = 2000)
    void shouldNeverThrowOnRandomBytes(
        @ForAll @Size(max = 64) final byte[] bytes,
        @ForAll @IntRange(min = 0, max = 64) final int offsetSeed,
        @ForAll @IntRange(min = 1, max = 2 * 1024 * 1024) final int maxBlockSize,
        @ForAll final boolean plausibleHeader)
    {
        final UnsafeBuffer buffer = new UnsafeBuffer(bytes);
        final int offset = bytes.length == 0 ? 0 : offsetSeed % bytes.length;
        final int available = bytes.length - offset;
        if (plausibleHeader && available >= RequestHeader.HEADER_LENGTH)
        {
            // Steer half the tries past the version and length checks so the per-opcode rules get exercised.
            buffer.putInt(offset, Protocol.MIN_LENGTH + (bytes[offset] & 0x3F));
            buffer.putByte(offset + RequestHeader.VERSION_OFFSET, (byte)Protocol.VERSION);
            buffer.putByte(offset + RequestHeader.OPCODE_OFFSET, (byte)(bytes[offset + 5] & 0x7));
        }
        final int length = FrameDecoder.frameLength(buffer, offset, available);
        if (available < 4)
        {
            assertTrue(length == FrameDecoder.INCOMPLETE);
            return;
        }
        assertTrue(length >= 0);
        final int frameStatus = FrameDecoder.check(length, Protocol.maxBodyLength(maxBlockSize));
        assertTrue(Status.isValid(frameStatus));
        if (frameStatus != Status.OK || available < RequestHeader.HEADER_LENGTH)
        {
            return;
        }
        final RequestHeader header = new RequestHeader().wrap(buffer, offset);
        final int status = RequestValidator.validate(header, header.bodyLength(), maxBlockSize);
        assertTrue(Status.isValid(status));
        FrameDecoder.isComplete(length, available);
    }

    @Property(tries = 2000)
    void shouldNeverThrowOnArbitraryFieldValues(
        @ForAll final int lengthField,
        @ForAll final int maxBodyLength,
        @ForAll final int version,
        @ForAll final int opcode,
        @ForAll final int flags,
        @ForAll final int bodyLength,
        @ForAll final int maxBlockSize)
    {
        assertTrue(Status.isValid(FrameDecoder.check(lengthField, maxBodyLength)));
        assertTrue(Status.isValid(RequestValidator.validate(version, opcode, flags, bodyLength, maxBlockSize)));
        Opcode.name(opcode);
        Status.name(version);
    }

    @Property(tries = 2000)
    void shouldNeverAcceptARangeOutsideTheBlock(
        @ForAll final long offset,
        @ForAll final int length,
        @ForAll @IntRange(min = 0) final int blockLength)
    {
        if (RangeBody.check(offset, length, blockLength) == Status.OK)
        {
            final int resolved = RangeBody.resolvedLength(offset, length, blockLength);
            assertTrue(offset >= 0 && resolved > 0 && offset + resolved <= blockLength);
        }
    }
}
