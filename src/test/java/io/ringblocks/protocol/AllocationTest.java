package io.ringblocks.protocol;

import java.lang.management.ManagementFactory;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import io.ringblocks.wire.Flags;
import io.ringblocks.wire.Opcode;
import io.ringblocks.wire.Protocol;
import io.ringblocks.wire.Status;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The codecs run once per request on the server's event loop, so they must not allocate: measured with the JVM's
 * per-thread allocation counter over many decode/validate/encode rounds.
 */
class AllocationTest
{
    private final UnsafeBuffer in = new UnsafeBuffer(new byte[128]);
    private final UnsafeBuffer out = new UnsafeBuffer(new byte[128]);
    private final RequestHeader request = new RequestHeader();
    private final RequestHeaderEncoder requestEncoder = new RequestHeaderEncoder();
    private final ResponseHeaderEncoder responseEncoder = new ResponseHeaderEncoder();
    private long sink;

    @Test
    void shouldNotAllocateOnTheRequestPath()
    {
        final com.sun.management.ThreadMXBean threads =
            (com.sun.management.ThreadMXBean)ManagementFactory.getThreadMXBean();
        requestEncoder.wrap(in, 0).encode(Opcode.GET, Flags.RANGE, 7L, RangeBody.LENGTH);
        RangeBody.put(in, requestEncoder.bodyOffset(), 1L, 3);
        rounds(20_000);

        final long before = threads.getCurrentThreadAllocatedBytes();
        rounds(100_000);
        final long allocated = threads.getCurrentThreadAllocatedBytes() - before;
        assertTrue(allocated < 1024, "allocated " + allocated + " bytes over 100000 rounds");
    }

    private void rounds(final int count)
    {
        for (int i = 0; i < count; i++)
        {
            final int length = FrameDecoder.frameLength(in, 0, 60);
            if (FrameDecoder.check(length, Protocol.DEFAULT_MAX_BODY_LENGTH) != Status.OK ||
                !FrameDecoder.isComplete(length, 60))
            {
                throw new AssertionError();
            }
            request.wrap(in, 0);
            final int status =
                RequestValidator.validate(request, request.bodyLength(), Protocol.DEFAULT_MAX_BLOCK_SIZE);
            final long offset = RangeBody.offset(in, request.bodyOffset());
            final int rangeLength = RangeBody.length(in, request.bodyOffset());
            final int rangeStatus = RangeBody.check(offset, rangeLength, 5);
            responseEncoder.wrap(out, 0).encode(request.opcode(), status | rangeStatus, request.requestId(),
                RangeBody.resolvedLength(offset, rangeLength, 5));
            sink += out.getLong(ResponseHeader.REQUEST_ID_OFFSET) + request.flags() + request.version();
        }
    }
}
