package io.ringblocks.server;

import io.ringblocks.protocol.FrameDecoder;
import io.ringblocks.protocol.RequestHeader;
import io.ringblocks.sys.Errno;
import io.ringblocks.uring.UserData;
import io.ringblocks.wire.Protocol;
import io.ringblocks.wire.Status;

/**
 * Graceful stop of one connection: requests already executing finish and get their answers, and every request the
 * server has read but not started (frames in the receive buffer, a PUT whose body was still arriving) or that the
 * client had already sent (input waiting in the socket) is answered {@code SHUTTING_DOWN} without being executed;
 * then the connection closes. The socket is read with non-blocking receives only, so a client that pauses is not
 * waited for; one that never stops sending is closed at the worker's shutdown deadline.
 * <p>
 * Only headers matter here: a body is skipped ({@link #skip}), receiving into the connection's own buffer.
 */
final class StopDrain
{
    static final int OP_RECV = 13;
    private static final int MSG_DONTWAIT = 0x40;

    /** What a stop's drain asks of the worker's connection I/O. */
    interface Host extends Linger.Host
    {
        /** What {@code c} holds in provided buffers becomes what its ended receive brought; returns the new result. */
        int settleForDrain(int c, int res);

        /** Answers request {@code r} with {@code status} and an empty body. */
        void respondStatus(int r, int status);
    }

    private final WorkerContext ctx;
    private final Host host;
    private final Connections conns;
    private final Requests reqs;
    private final int maxBodyLength;
    private final RequestHeader header = new RequestHeader();
    private final boolean[] active;
    private final boolean[] posted;
    /** Body bytes of the last answered frame still to be received and dropped. */
    private final int[] skip;
    /**
     * The drain ended with the peer possibly still sending: closing while input waits unread would send a reset,
     * which throws away answers still in the socket's send queue, so the close lingers ({@link Linger}).
     */
    private final boolean[] lingerAtClose;

    StopDrain(final WorkerContext ctx, final Connections conns, final Host host)
    {
        this.ctx = ctx;
        this.host = host;
        this.conns = conns;
        reqs = ctx.reqs;
        maxBodyLength = Protocol.maxBodyLength(ctx.config.store().maxBlockSize());
        active = new boolean[conns.capacity];
        posted = new boolean[conns.capacity];
        skip = new int[conns.capacity];
        lingerAtClose = new boolean[conns.capacity];
    }

    /** @return true while {@code c} must stay open: still draining, or a drain receive is in flight. */
    boolean holds(final int c)
    {
        return active[c] || posted[c];
    }

    boolean active(final int c)
    {
        return active[c];
    }

    /** The worker stops: {@code c} (OPEN) reads no new work. */
    void begin(final int c)
    {
        active[c] = true;
        posted[c] = false;
        skip[c] = 0;
        lingerAtClose[c] = false;
        host.beginClose(c, false); // cancels the receive in flight; its completion comes to afterRecv
        if (!conns.recvPosted[c])
        {
            afterRecv(c, host.settleForDrain(c, -Errno.ECANCELED));
        }
    }

    /** The connection's own receive completed (or was cancelled) after the stop began. */
    void afterRecv(final int c, final int res)
    {
        final int got = Math.max(res, 0);
        final int r = conns.bodyRequest[c];
        switch (conns.bodyState[c])
        {
            case Connections.BODY_NONE -> conns.filled[c] += got;
            case Connections.BODY_EXPECTED_HASH -> skip[c] = conns.bodyRemaining[c] - got + reqs.payloadLength[r];
            default -> skip[c] = conns.bodyRemaining[c] - got; // the rest of a body that will not be used
        }
        conns.bodyState[c] = Connections.BODY_NONE;
        if (r >= 0)
        {
            conns.bodyRequest[c] = -1;
            host.respondStatus(r, Status.SHUTTING_DOWN); // no receive writes into its buffer any more
        }
        if (res == 0 || res < 0 && res != -Errno.ECANCELED && res != -Errno.EINTR && res != -Errno.EAGAIN &&
            res != -Errno.ENOBUFS)
        {
            answerBuffered(c); // the peer finished sending (or the socket broke): answer what is here, stop reading
            end(c);
            return;
        }
        next(c);
    }

    void onRecv(final int c, final int gen, final int res)
    {
        if (conns.generation[c] != gen || !posted[c])
        {
            return;
        }
        posted[c] = false;
        if (res == -Errno.EINTR)
        {
            next(c);
            return;
        }
        if (res <= 0)
        {
            // -EAGAIN: nothing more has arrived, but more may come; 0: end of stream; else the socket broke.
            lingerAtClose[c] = res == -Errno.EAGAIN;
            end(c);
            return;
        }
        if (skip[c] > 0)
        {
            skip[c] -= res;
        }
        else
        {
            conns.filled[c] += res;
        }
        next(c);
    }

    private void next(final int c)
    {
        if (!active[c])
        {
            host.tryFinishClose(c);
            return;
        }
        if (!host.ensureRecvBuffer(c) || skip[c] == 0 && !answerBuffered(c))
        {
            lingerAtClose[c] = true; // input may be left unread
            end(c);
            return;
        }
        final long buffer = conns.recvBuffer[c];
        final int room = ctx.config.recvBufferSize() - conns.filled[c];
        final int length = skip[c] > 0 ? Math.min(ctx.config.recvBufferSize(), skip[c]) : room;
        final long target = skip[c] > 0 ? buffer : buffer + conns.filled[c];
        try
        {
            ctx.ring().prepRecv(conns.fd[c], ctx.arena.address(target), length, MSG_DONTWAIT,
                UserData.pack(c, OP_RECV, conns.generation[c]));
        }
        catch (final RuntimeException e)
        {
            end(c); // what is left unanswered is dropped with the connection, which must still close
            throw e;
        }
        posted[c] = true;
    }

    /**
     * Answers every frame whose header is in the receive buffer; the body of the last one may still be on its way
     * ({@link #skip}).
     *
     * @return false when draining must stop: a frame that breaks framing, or no request slot for the answer.
     */
    private boolean answerBuffered(final int c)
    {
        if (conns.filled[c] > 0 && !host.ensureRecvBuffer(c))
        {
            conns.filled[c] = 0; // a stash with no memory to parse it in: dropped with the connection
            return false;
        }
        final long base = conns.recvBuffer[c];
        int pos = 0;
        boolean more = true;
        while (true)
        {
            final int available = conns.filled[c] - pos;
            final int length = FrameDecoder.frameLength(ctx.memory, (int)(base + pos), available);
            if (length == FrameDecoder.INCOMPLETE || available < RequestHeader.HEADER_LENGTH &&
                FrameDecoder.check(length, maxBodyLength) == Status.OK)
            {
                break;
            }
            header.wrap(ctx.memory, (int)(base + pos));
            if (FrameDecoder.check(length, maxBodyLength) != Status.OK || header.version() != Protocol.VERSION)
            {
                more = false; // the stream cannot be split any further
                pos = conns.filled[c];
                break;
            }
            final int r = reqs.acquire(c, conns.generation[c]);
            if (r < 0)
            {
                more = false;
                pos = conns.filled[c];
                break;
            }
            reqs.opcode[r] = header.opcode();
            reqs.flags[r] = header.flags();
            reqs.requestId[r] = header.requestId();
            conns.inFlight[c]++;
            host.respondStatus(r, Status.SHUTTING_DOWN);
            final int frameLength = Protocol.LENGTH_FIELD_LENGTH + length;
            if (frameLength > available)
            {
                skip[c] = frameLength - available;
                pos = conns.filled[c];
                break;
            }
            pos += frameLength;
        }
        final int rest = conns.filled[c] - pos;
        if (rest > 0 && pos > 0)
        {
            ctx.memory.putBytes((int)base, ctx.memory, (int)(base + pos), rest);
        }
        conns.filled[c] = rest;
        return more;
    }

    private void end(final int c)
    {
        active[c] = false;
        host.tryFinishClose(c);
    }

    /** @return true once, when {@code c}'s drain asks for a lingering close: everything else is done. */
    boolean takeLingerAtClose(final int c)
    {
        final boolean linger = lingerAtClose[c];
        lingerAtClose[c] = false;
        return linger;
    }
}
