package io.ringblocks.server;

import io.ringblocks.alloc.BuddyAllocator;

/**
 * A request's buffer in the arena (a PUT's payload, a GET's block, a LIST page, the STATS text), charged against its
 * connection's budget while held ({@link Responder#chargeBuffer}).
 */
final class RequestBuffers
{
    /** Bytes of each of a worker's own read-back buffers ({@link #takeCheck}); a multiple of the page. */
    static final int SCRATCH = 64 << 10;
    private static final int SCRATCH_BUFFERS = IoArena.SIDE / SCRATCH;
    private static final int SCRATCH_CLASS = -1;

    private final Requests reqs;
    private final IoArena arena;
    private final Responder responder;
    private final long reserve;
    private final long[] scratch = new long[SCRATCH_BUFFERS];
    private int scratchFree;

    RequestBuffers(final WorkerContext ctx, final Responder responder)
    {
        reqs = ctx.reqs;
        arena = ctx.arena;
        this.responder = responder;
        // Room for 64 more connections' receive buffers, or a sixteenth of the arena, whichever is smaller.
        reserve = Math.min(64L * ctx.config.recvBufferSize(), ctx.config.arenaSize() / 16);
        for (int i = 0; i < SCRATCH_BUFFERS; i++)
        {
            scratch[scratchFree++] = arena.side() + (long)i * SCRATCH;
        }
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

    /**
     * Gives request {@code r} a second buffer (a deduplicated PUT reads the stored copy into it, its payload still
     * in the first): one of {@code bytes} when the arena has it at once, else one of the worker's own
     * {@link #SCRATCH}-byte buffers (in the arena's side piece), through which the copy is read and compared a piece
     * at a time. Those no allocation can take, and each is held only for one check, so a request holding its payload
     * never waits on the arena for a second buffer (two could wait on each other's for ever).
     *
     * @return false when neither is free: retry later.
     */
    boolean takeCheck(final int r, final int bytes)
    {
        final int cls = IoArena.classFor(Math.max(bytes, 1));
        final long buffer = arena.allocateIfFree(cls, reserve);
        if (buffer != IoArena.NONE)
        {
            reqs.checkBuffer[r] = buffer;
            reqs.checkBufferClass[r] = cls;
            responder.chargeBuffer(r, BuddyAllocator.blockSize(cls));
            return true;
        }
        if (scratchFree == 0)
        {
            return false;
        }
        reqs.checkBuffer[r] = scratch[--scratchFree];
        reqs.checkBufferClass[r] = SCRATCH_CLASS;
        return true;
    }

    /** @return how many bytes request {@code r}'s second buffer holds. */
    int checkLength(final int r)
    {
        return reqs.checkBufferClass[r] == SCRATCH_CLASS ? SCRATCH : BuddyAllocator.blockSize(reqs.checkBufferClass[r]);
    }

    /** Gives request {@code r}'s buffers back, if it has any. */
    void release(final int r)
    {
        if (reqs.buffer[r] != IoArena.NONE)
        {
            arena.free(reqs.buffer[r], reqs.bufferClass[r]);
            reqs.buffer[r] = IoArena.NONE;
            responder.chargeBuffer(r, -BuddyAllocator.blockSize(reqs.bufferClass[r]));
        }
        releaseCheck(r);
    }

    /** Gives request {@code r}'s second buffer back, if it has one. */
    void releaseCheck(final int r)
    {
        if (reqs.checkBuffer[r] == IoArena.NONE)
        {
            return;
        }
        if (reqs.checkBufferClass[r] == SCRATCH_CLASS)
        {
            scratch[scratchFree++] = reqs.checkBuffer[r];
        }
        else
        {
            arena.free(reqs.checkBuffer[r], reqs.checkBufferClass[r]);
            responder.chargeBuffer(r, -BuddyAllocator.blockSize(reqs.checkBufferClass[r]));
        }
        reqs.checkBuffer[r] = IoArena.NONE;
    }

    /** @return the absolute address of byte {@code at} of request {@code r}'s buffer. */
    long address(final int r, final int at)
    {
        return arena.address(reqs.buffer[r] + at);
    }
}
