package io.ringblocks.server;

import org.agrona.concurrent.UnsafeBuffer;

import io.ringblocks.protocol.FrameDecoder;
import io.ringblocks.sys.Errno;
import io.ringblocks.uring.BufferRing;
import io.ringblocks.uring.Ring;

/**
 * Where a worker keeps what its connections received: each connection's own receive buffer (taken from the arena
 * only while it keeps bytes), the provided-buffer ring receives pick from, and the bytes held in those buffers until
 * the connection takes them ({@link HeldBuffers}), moved on in the order they arrived to wherever the connection's
 * state takes bytes. The {@link Receiver} decides when; this class only keeps and moves bytes.
 */
final class Inbox implements AutoCloseable
{
    /** Provided receive buffers per worker: enough for this many connections receiving in one duty cycle. */
    static final int PROVIDED_BUFFERS = 128;
    static final int PROVIDED_BUFFER_SIZE = 16 << 10;
    /** Fewer than this would run dry at once: such a worker gives every connection a buffer of its own instead. */
    static final int MIN_PROVIDED_BUFFERS = 16;
    private static final int PROVIDED_GROUP = 1;
    /**
     * A partial frame this short (any GET, HEAD, DELETE, PING, STATS or LIST frame, a PUT's header) waits outside the
     * arena, so that a client sending requests a few bytes at a time does not hold a whole receive buffer meanwhile.
     */
    static final int STASH_BYTES = 64;
    private static final System.Logger LOG = System.getLogger("ringblocks");

    /**
     * Tests only: workers started while this is set behave as on a kernel without provided-buffer rings (before 5.19),
     * so the path where every connection owns its receive buffer stays tested on kernels that have them.
     */
    static volatile boolean withoutProvidedBuffers;

    /** Where a body's bytes go once they are in place. */
    interface Host
    {
        /** {@code n} more bytes of {@code c}'s body are in place (its target and what remains are to be advanced). */
        void bodyBytes(int c, int n);
    }

    private final WorkerContext ctx;
    private final ServerConfig config;
    private final ServerStats stats;
    private final Requests reqs;
    private final IoArena arena;
    private final UnsafeBuffer memory;
    private final Connections conns;
    private final ConnectionTimeouts timeouts;
    private final Host host;
    private final int recvClass;
    /** What each connection received of a short partial frame while it holds no receive buffer, STASH_BYTES each. */
    private final UnsafeBuffer stash;
    /** A view for copying held bytes to a body's absolute address (the expected-hash slots are not in the arena). */
    private final UnsafeBuffer bodyView = new UnsafeBuffer(new byte[0]);
    /** Receive buffers the kernel picks only when bytes arrive; null where unsupported (every connection owns one). */
    private BufferRing provided;
    /** What connections received into provided buffers and did not take yet; null without provided buffers. */
    private HeldBuffers held;

    Inbox(final WorkerContext ctx, final Connections conns, final ConnectionTimeouts timeouts, final Host host)
    {
        this.ctx = ctx;
        this.config = ctx.config;
        this.stats = ctx.stats;
        this.reqs = ctx.reqs;
        this.arena = ctx.arena;
        this.memory = ctx.memory;
        this.conns = conns;
        this.timeouts = timeouts;
        this.host = host;
        recvClass = IoArena.classFor(config.recvBufferSize());
        stash = new UnsafeBuffer(new byte[conns.capacity * STASH_BYTES]);
    }

    /** Worker thread, once the ring exists: registers the provided buffers where the kernel has them. */
    void start(final Ring ring)
    {
        provided = registerProvidedBuffers(ring);
        held = provided == null ? null : new HeldBuffers(provided, conns.capacity);
        stats.set(ServerStats.PROVIDED_BUFFERS, provided != null ? 1 : 0);
    }

    /** @return true when receives can pick provided buffers (an idle connection then holds no receive memory). */
    boolean hasProvided()
    {
        return provided != null;
    }

    /** @return the provided buffers' group, for buffer-select receives. */
    int group()
    {
        return provided.group();
    }

    /** @return each provided buffer's size. */
    int bufferSize()
    {
        return provided.bufferSize();
    }

    /** Buffer {@code bid} brought {@code res} bytes for {@code c}: held until the connection takes them. */
    void hold(final int c, final int bid, final int res)
    {
        held.add(c, bid, res);
    }

    /** Buffer {@code bid}'s bytes are not wanted (a stale or closing connection): it goes back to the ring. */
    void recycle(final int bid)
    {
        provided.recycle(bid);
    }

    boolean holding(final int c)
    {
        return held != null && !held.isEmpty(c);
    }

    /** @return how many provided buffers {@code c} holds. */
    int heldCount(final int c)
    {
        return held == null ? 0 : held.count(c);
    }

    /** @return how many bytes {@code c} holds in provided buffers. */
    int heldBytes(final int c)
    {
        return held == null ? 0 : held.bytes(c);
    }

    /**
     * Moves what {@code c} holds in provided buffers, oldest first, to where its state takes bytes now: the receive
     * buffer (as much as fits; parsing makes room), the body on its way, or nowhere (a discarded body).
     *
     * @return false when there is no arena memory for a receive buffer (the connection must wait for some).
     */
    boolean deliver(final int c, final long now)
    {
        while (held != null && !held.isEmpty(c))
        {
            final int n = held.firstRemaining(c);
            final int from = (int)(held.firstAddress(c) - arena.address(0));
            switch (conns.bodyState[c])
            {
                case Connections.BODY_NONE ->
                {
                    if (!ensureRecvBuffer(c))
                    {
                        return false;
                    }
                    final int k = Math.min(n, config.recvBufferSize() - conns.filled[c]);
                    if (k == 0)
                    {
                        return true; // full: parsing makes room
                    }
                    memory.putBytes((int)(conns.recvBuffer[c] + conns.filled[c]), memory, from, k);
                    conns.filled[c] += k;
                    held.take(c, k);
                }
                case Connections.BODY_DISCARD ->
                {
                    final int k = Math.min(n, conns.bodyRemaining[c]);
                    held.take(c, k);
                    conns.bodyRemaining[c] -= k;
                    if (conns.bodyRemaining[c] == 0)
                    {
                        conns.bodyState[c] = Connections.BODY_NONE;
                    }
                    timeouts.framing(c, false, now);
                }
                default ->
                {
                    final int k = Math.min(n, conns.bodyRemaining[c]);
                    bodyView.wrap(conns.bodyTarget[c], k);
                    bodyView.putBytes(0, memory, from, k);
                    held.take(c, k);
                    host.bodyBytes(c, k);
                    timeouts.framing(c, false, now);
                }
            }
        }
        return true;
    }

    /**
     * A stop drains {@code c} ({@link StopDrain}) and its receive ended with {@code res}: what it holds becomes what
     * that receive brought. Bytes for the receive buffer are added to it here; a body's are counted in the result.
     *
     * @return the result to hand the drain: 0 (answer what is buffered, then end) where bytes had to be dropped.
     */
    int settleForDrain(final int c, final int res, final long now)
    {
        if (held == null || held.isEmpty(c))
        {
            return res;
        }
        final boolean broken = res < 0 && res != -Errno.ECANCELED && res != -Errno.EINTR && res != -Errno.EAGAIN &&
            res != -Errno.ENOBUFS;
        final int total = held.bytes(c);
        final int state = conns.bodyState[c];
        if (broken || state == Connections.BODY_NONE && !ensureRecvBuffer(c))
        {
            held.clear(c);
            return broken ? res : -Errno.ENOMEM;
        }
        if (state == Connections.BODY_NONE)
        {
            deliver(c, now);
            final boolean dropped = !held.isEmpty(c);
            held.clear(c);
            return dropped || res == 0 ? 0 : -Errno.ECANCELED;
        }
        final int r = conns.bodyRequest[c];
        final long most = state == Connections.BODY_EXPECTED_HASH ?
            (long)conns.bodyRemaining[c] + reqs.payloadLength[r] : conns.bodyRemaining[c];
        held.clear(c);
        return total > most || res == 0 ? 0 : total;
    }

    /**
     * Gives the connection a receive buffer of its own if it has none, with what it had stashed at its start.
     *
     * @return false when the arena is full.
     */
    boolean ensureRecvBuffer(final int c)
    {
        if (conns.recvBuffer[c] != IoArena.NONE)
        {
            return true;
        }
        final long buffer = arena.allocate(recvClass);
        if (buffer == IoArena.NONE)
        {
            return false;
        }
        conns.recvBuffer[c] = buffer;
        if (conns.filled[c] > 0)
        {
            memory.putBytes((int)buffer, stash, c * STASH_BYTES, conns.filled[c]);
        }
        stats.increment(ServerStats.RECV_BUFFERS_HELD);
        return true;
    }

    /**
     * Frees {@code c}'s receive buffer while it waits for bytes, keeping what it holds of a partial frame of at most
     * {@link #STASH_BYTES} outside the arena ({@link #ensureRecvBuffer} puts it back). Connections with no buffer and
     * bytes received ({@code filled > 0}) are exactly those with a stash.
     *
     * @return true when {@code c} holds no receive buffer now; false when it keeps more than a stash holds.
     */
    boolean stash(final int c)
    {
        if (conns.recvBuffer[c] == IoArena.NONE)
        {
            return true;
        }
        final int n = conns.filled[c];
        if (n > STASH_BYTES)
        {
            return false;
        }
        if (n > 0)
        {
            stash.putBytes(c * STASH_BYTES, memory, (int)conns.recvBuffer[c], n);
        }
        releaseRecvBuffer(c);
        return true;
    }

    /** @return true while {@code c} keeps the start of a frame in its stash, and nothing in provided buffers. */
    boolean stashed(final int c)
    {
        return conns.recvBuffer[c] == IoArena.NONE && conns.filled[c] > 0 && !holding(c);
    }

    /** @return the length field of the frame {@code c} keeps at its start (see {@link FrameDecoder#frameLength}). */
    int frameLength(final int c)
    {
        return conns.recvBuffer[c] == IoArena.NONE ?
            FrameDecoder.frameLength(stash, c * STASH_BYTES, conns.filled[c]) :
            FrameDecoder.frameLength(memory, (int)conns.recvBuffer[c], conns.filled[c]);
    }

    void releaseRecvBuffer(final int c)
    {
        if (conns.recvBuffer[c] != IoArena.NONE)
        {
            arena.free(conns.recvBuffer[c], recvClass);
            conns.recvBuffer[c] = IoArena.NONE;
            stats.add(ServerStats.RECV_BUFFERS_HELD, -1);
        }
    }

    /**
     * Registers up to {@link #PROVIDED_BUFFERS} receive buffers of up to 16 KiB, carved from at most a quarter of the
     * arena, as this ring's provided-buffer group. @return null where the kernel has none (before 5.19) or the
     * arena is too small.
     */
    private BufferRing registerProvidedBuffers(final Ring ring)
    {
        final int size = Math.min(PROVIDED_BUFFER_SIZE, config.recvBufferSize());
        // At most a quarter of the arena: the rest is for block buffers and the receive buffers of busy connections.
        final long most = Math.min(PROVIDED_BUFFERS, config.arenaSize() / 4 / size);
        final int count = most < MIN_PROVIDED_BUFFERS ? 0 : Integer.highestOneBit((int)most);
        final int cls = IoArena.classFor(Math.max(1, count * size));
        if (withoutProvidedBuffers)
        {
            LOG.log(System.Logger.Level.INFO, ctx.name + ": provided receive buffers off for a test");
            return null;
        }
        final long region = count == 0 ? IoArena.NONE : arena.allocateIfFree(cls, 0); // a fallback exists
        if (region == IoArena.NONE)
        {
            LOG.log(System.Logger.Level.INFO, ctx.name + ": arena too small for provided receive buffers; " +
                "every connection keeps a " + config.recvBufferSize() + "-byte receive buffer");
            return null;
        }
        final BufferRing registered = BufferRing.register(ring, PROVIDED_GROUP, count, arena.address(region), size);
        if (registered == null)
        {
            arena.free(region, cls);
            LOG.log(System.Logger.Level.INFO, ctx.name + ": no provided-buffer rings on this kernel; " +
                "every connection keeps a " + config.recvBufferSize() + "-byte receive buffer");
        }
        return registered;
    }

    /** The connection's descriptor is closed: what it held goes back. */
    void closed(final int c)
    {
        releaseRecvBuffer(c);
        if (held != null)
        {
            held.clear(c);
        }
    }

    @Override
    public void close()
    {
        if (provided != null)
        {
            provided.close();
        }
    }
}
