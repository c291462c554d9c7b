package io.ringblocks.server;

import io.ringblocks.sys.Errno;
import io.ringblocks.uring.Ring;
import io.ringblocks.uring.UserData;
import io.ringblocks.wire.Opcode;

/**
 * The sending half of connection I/O: each connection's responses queue up in order (an intrusive list through
 * the request table), and at the end of the duty cycle every connection with responses ready and no send in flight
 * sends them — one SEND for one response in one part, one SENDMSG over up to {@link SendVectors#MAX_IOVECS} parts
 * otherwise (a response is one part in the arena, or two: a header in the request's small area, then a GET's block
 * from its read buffer or from the block cache). A
 * completion finishes the responses its bytes covered; a short send resumes inside the response it ended in.
 */
final class Sender implements AutoCloseable
{
    /** What the sender asks of the rest of connection I/O. */
    interface Events extends ConnectionEvents
    {
        /** The error frame that must be {@code c}'s last is out: close it lingeringly. */
        void lingerBegin(int c);
    }

    private final WorkerContext ctx;
    private final ServerStats stats;
    private final Requests reqs;
    private final IoArena arena;
    private final Connections conns;
    private final ConnectionTimeouts timeouts;
    private final SendVectors vectors;
    private final Events events;
    private Ring ring;
    /** Connections with responses to send at the end of this duty cycle. */
    private final IndexList ready;
    /** The duty cycle's clock, for the send timeout. */
    private long now = System.nanoTime();

    Sender(final WorkerContext ctx, final Connections conns, final ConnectionTimeouts timeouts, final Events events)
    {
        this.ctx = ctx;
        this.stats = ctx.stats;
        this.reqs = ctx.reqs;
        this.arena = ctx.arena;
        this.conns = conns;
        this.timeouts = timeouts;
        this.events = events;
        vectors = new SendVectors(conns.capacity);
        ready = new IndexList(conns.capacity);
    }

    /** Worker thread, once its ring exists. */
    void start()
    {
        ring = ctx.ring();
    }

    /** Start of a duty cycle: its clock. */
    void cycle(final long nanos)
    {
        now = nanos;
    }

    /** @return true while connections wait for the end of the cycle to send. */
    boolean hasReady()
    {
        return !ready.isEmpty();
    }

    /** Queues {@code [at, at + length)} (arena offsets) as request {@code r}'s response, sent at the end of the cycle. */
    void respond(final int r, final long at, final int length, final int status)
    {
        respond(r, at, length, 0L, 0, status);
    }

    /**
     * Queues request {@code r}'s response in two parts: {@code [at, at + length)} of the arena (its header), then
     * {@code bodyLength} bytes at absolute address {@code body}, which must stay put until the request finishes.
     */
    void respond(final int r, final long at, final int length, final long body, final int bodyLength,
        final int status)
    {
        final int c = reqs.connection[r];
        final int op = Opcode.isValid(reqs.opcode[r]) ? reqs.opcode[r] : Opcode.NONE;
        ServerStats.add(stats.requests, op, 1);
        ServerStats.add(stats.statuses, status, 1);
        ServerStats.add(stats.bytesOut, op, length + bodyLength);
        if (conns.generation[c] != reqs.connectionGeneration[r] || conns.state[c] == Connections.CLOSED ||
            conns.fd[c] < 0 || conns.closeAfterSend[c] || conns.broken[c])
        {
            // After a connection-level error frame nothing may follow it (the client already failed the request); a
            // broken connection's answers cannot go.
            events.finishRequest(r);
            return;
        }
        reqs.state[r] = Requests.RESPONDING;
        reqs.response[r] = at;
        reqs.responseLength[r] = length;
        reqs.bodyAddress[r] = body;
        reqs.bodyLength[r] = bodyLength;
        reqs.responseSent[r] = 0;
        reqs.next[r] = -1;
        if (conns.sendTail[c] < 0)
        {
            conns.sendHead[c] = r;
            timeouts.responseAtHead(c, now);
        }
        else
        {
            reqs.next[conns.sendTail[c]] = r;
        }
        conns.sendTail[c] = r;
        if (!conns.sending[c])
        {
            markSendReady(c);
        }
    }

    /** Queues {@code c} to send at the end of the duty cycle, together with whatever else it answers meanwhile. */
    private void markSendReady(final int c)
    {
        ready.add(c);
    }

    /** End of the duty cycle: every connection with responses ready and no send in flight sends them now. */
    void flush()
    {
        int c = ready.takeAll();
        int next = -1;
        try
        {
            while (c >= 0)
            {
                next = ready.leave(c);
                if (!conns.sending[c] && conns.sendHead[c] >= 0 && conns.state[c] != Connections.CLOSED)
                {
                    try
                    {
                        startSend(c);
                    }
                    catch (final RuntimeException e)
                    {
                        // One connection's fault must not strand the rest of the list.
                        ctx.errors.onError(ctx.name + " send on connection " + c, e);
                        events.beginClose(c, true);
                    }
                }
                c = next;
            }
        }
        finally
        {
            if (c >= 0)
            {
                ready.requeue(next); // a fault escaped (from the close above): the rest stay listed
            }
        }
    }

    /**
     * Sends the connection's queued responses, the first from where a short send left it: one SEND for a single
     * one-part response, one SENDMSG over at most {@link SendVectors#MAX_IOVECS} parts (and about
     * {@link SendVectors#MAX_BYTES}) otherwise. GET bodies go straight from their read buffers or cache entries.
     */
    private void startSend(final int c)
    {
        int r = conns.sendHead[c];
        final long ud = UserData.pack(c, Worker.OP_SEND, conns.generation[c]);
        if (reqs.next[r] < 0 && reqs.bodyLength[r] == 0)
        {
            ring.prepSend(conns.fd[c], arena.address(reqs.response[r] + reqs.responseSent[r]),
                reqs.responseLength[r] - reqs.responseSent[r], 0, ud);
            sendStarted(c);
            return;
        }
        int count = addParts(c, 0, r, reqs.responseSent[r]);
        long bytes = total(r) - reqs.responseSent[r];
        r = reqs.next[r];
        while (r >= 0 && count + parts(r) <= SendVectors.MAX_IOVECS && bytes < SendVectors.MAX_BYTES)
        {
            count = addParts(c, count, r, 0);
            bytes += total(r);
            r = reqs.next[r];
        }
        ring.prepSendmsg(conns.fd[c], vectors.seal(c, count), 0, ud);
        sendStarted(c);
    }

    /** @return the iovecs response {@code r} takes: its header part, and its body when that lies elsewhere. */
    private int parts(final int r)
    {
        return reqs.bodyLength[r] > 0 ? 2 : 1;
    }

    /** @return all bytes of response {@code r}, both parts. */
    private int total(final int r)
    {
        return reqs.responseLength[r] + reqs.bodyLength[r];
    }

    /** Sets the iovecs for what is left of response {@code r} after {@code sent} bytes. @return the new count. */
    private int addParts(final int c, final int count, final int r, final int sent)
    {
        int n = count;
        final int head = reqs.responseLength[r];
        if (sent < head)
        {
            vectors.set(c, n++, arena.address(reqs.response[r] + sent), head - sent);
        }
        if (reqs.bodyLength[r] > 0)
        {
            final int into = Math.max(0, sent - head);
            vectors.set(c, n++, reqs.bodyAddress[r] + into, reqs.bodyLength[r] - into);
        }
        return n;
    }

    /** Only once its SQE exists: a connection marked sending without one would never send again. */
    private void sendStarted(final int c)
    {
        conns.sending[c] = true;
        timeouts.sendStarted(c, now);
        stats.increment(ServerStats.SENDS);
    }

    void onSend(final int c, final int gen, final int res)
    {
        if (conns.generation[c] != gen)
        {
            return;
        }
        conns.sending[c] = false;
        if (res < 0)
        {
            if (res == -Errno.EINTR || res == -Errno.EAGAIN || res == -Errno.ENOBUFS)
            {
                markSendReady(c); // sent again by this cycle's flush, whose fault handling covers it
                return;
            }
            events.beginClose(c, true); // drops the queued responses once the connection is CLOSING
            return;
        }
        final int head = conns.sendHead[c];
        if (consumeSent(c, res))
        {
            stats.increment(ServerStats.SHORT_IO);
        }
        if (conns.sendHead[c] >= 0)
        {
            if (conns.sendHead[c] != head)
            {
                timeouts.responseAtHead(c, now); // the next response's clock starts when the one before it is out
            }
            markSendReady(c); // with whatever else this connection answers in this duty cycle
        }
        else if (conns.closeAfterSend[c] && conns.state[c] == Connections.OPEN)
        {
            events.lingerBegin(c); // the error frame is out: the client reads it, then end-of-stream
        }
        else
        {
            events.tryFinishClose(c);
        }
    }

    /**
     * Finishes the queued responses the {@code sent} bytes completed, in order; a response sent in part keeps its
     * place with its progress. Finishing a request puts its connection on the ready list (a freed slot may let
     * buffered frames through); their responses join the queue later in the cycle.
     *
     * @return true when the send ended inside a response (a short send).
     */
    private boolean consumeSent(final int c, final int sent)
    {
        int left = sent;
        while (left > 0)
        {
            final int r = conns.sendHead[c];
            final int remaining = total(r) - reqs.responseSent[r];
            if (left < remaining)
            {
                reqs.responseSent[r] += left;
                return true;
            }
            left -= remaining;
            conns.sendHead[c] = reqs.next[r];
            if (conns.sendHead[c] < 0)
            {
                conns.sendTail[c] = -1;
            }
            events.finishRequest(r);
        }
        return false;
    }

    /** Finishes every queued response unsent (the socket is broken). */
    void dropQueue(final int c)
    {
        int r = conns.sendHead[c];
        conns.sendHead[c] = -1;
        conns.sendTail[c] = -1;
        while (r >= 0)
        {
            final int next = reqs.next[r];
            events.finishRequest(r);
            r = next;
        }
    }

    @Override
    public void close()
    {
        vectors.close();
    }
}
