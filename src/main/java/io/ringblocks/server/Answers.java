package io.ringblocks.server;

import org.agrona.concurrent.UnsafeBuffer;

import io.ringblocks.protocol.ResponseHeader;
import io.ringblocks.protocol.ResponseHeaderEncoder;
import io.ringblocks.wire.Protocol;
import io.ringblocks.wire.Status;

/**
 * Response headers, and the small responses that need no buffer of their own: each request slot has a 64-byte area
 * in the arena (taken once, at start) for a status, a hash or a HEAD's length, and for the header of a response
 * whose body is sent from elsewhere (a GET's block).
 */
final class Answers
{
    private static final int SMALL_RESPONSE = 64;
    private static final int HASH = Protocol.HASH_LENGTH;

    private final ResponseHeaderEncoder encoder = new ResponseHeaderEncoder();
    private final Requests reqs;
    private final UnsafeBuffer memory;
    private final Responder responder;
    private final long smallBase;

    Answers(final WorkerContext ctx, final Responder responder)
    {
        reqs = ctx.reqs;
        memory = ctx.memory;
        this.responder = responder;
        smallBase = ctx.arena.allocate(IoArena.classFor(Math.max(4096, reqs.capacity * SMALL_RESPONSE)));
        if (smallBase == IoArena.NONE)
        {
            throw new IllegalArgumentException("I/O arena too small for " + reqs.capacity + " request slots");
        }
    }

    /** @return the arena offset of request {@code r}'s small response area. */
    long smallResponse(final int r)
    {
        return smallBase + (long)r * SMALL_RESPONSE;
    }

    /** Writes a response header at {@code at} for a body of {@code bodyLength} that is sent after it. */
    void header(final int r, final long at, final int status, final int bodyLength)
    {
        encoder.wrap(memory, (int)at).encode(reqs.opcode[r], status, reqs.requestId[r], bodyLength);
    }

    /** Answers a status with an empty body. */
    void status(final int r, final int status)
    {
        final long at = smallResponse(r);
        header(r, at, status, 0);
        responder.respond(r, at, ResponseHeader.HEADER_LENGTH, status);
    }

    /** Answers OK with request {@code r}'s hash (a PUT's). */
    void hash(final int r)
    {
        final long at = smallResponse(r);
        header(r, at, Status.OK, HASH);
        memory.putBytes((int)at + ResponseHeader.HEADER_LENGTH, reqs.hashes, r * HASH, HASH);
        responder.respond(r, at, ResponseHeader.HEADER_LENGTH + HASH, Status.OK);
    }

    /** Answers OK with the 4-byte little-endian {@code value} (a HEAD's block length). */
    void int32(final int r, final int value)
    {
        final long at = smallResponse(r);
        header(r, at, Status.OK, 4);
        memory.putInt((int)at + ResponseHeader.HEADER_LENGTH, value, java.nio.ByteOrder.LITTLE_ENDIAN);
        responder.respond(r, at, ResponseHeader.HEADER_LENGTH + 4, Status.OK);
    }
}
