package io.ringblocks.server;

import io.ringblocks.alloc.BuddyAllocator;

/**
 * A request's buffer in the arena (a PUT's payload, a GET's block, a LIST page, the STATS text), charged against its
 * connection's budget while held ({@link Responder#chargeBuffer}).
 */
final class RequestBuffers
{
    private final Requests reqs;
    private final IoArena arena;
    private final Responder responder;
    private final long reserve;

    RequestBuffers(final WorkerContext ctx, final Responder responder)
    {
        reqs = ctx.reqs;
        arena = ctx.arena;
        this.responder = responder;
        // Room for 64 more connections' receive buffers, or a sixteenth of the arena, whichever is smaller.
        reserve = Math.min(64L * ctx.config.recvBufferSize(), ctx.config.arenaSize() / 16);
    }

    /**
     * Gives request {@code r} a buffer of at least {@code bytes}, leaving the reserve free for receive buffers.
     *
     * @return false when the arena has none: retry later.
     */
    boolean take(final int r, final int bytes)
    {
        final int cls = IoArena.classFor(Math.max(bytes, 1));
        final long buffer = arena.allocate(cls, reserve);
        if (buffer == IoArena.NONE)
        {
            return false;
        }
        reqs.buffer[r] = buffer;
        reqs.bufferClass[r] = cls;
        responder.chargeBuffer(r, BuddyAllocator.blockSize(cls));
        return true;
    }

    /** Gives request {@code r}'s buffer back, if it has one. */
    void release(final int r)
    {
        if (reqs.buffer[r] != IoArena.NONE)
        {
            arena.free(reqs.buffer[r], reqs.bufferClass[r]);
            reqs.buffer[r] = IoArena.NONE;
            responder.chargeBuffer(r, -BuddyAllocator.blockSize(reqs.bufferClass[r]));
        }
    }

    /** @return the absolute address of byte {@code at} of request {@code r}'s buffer. */
    long address(final int r, final int at)
    {
        return arena.address(reqs.buffer[r] + at);
    }
}
