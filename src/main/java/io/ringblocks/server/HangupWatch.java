package io.ringblocks.server;

import io.ringblocks.sys.Errno;
import io.ringblocks.sys.LibC;
import io.ringblocks.uring.Ring;
import io.ringblocks.uring.UserData;
import io.ringblocks.wire.Protocol;

/**
 * Notices a peer that stops sending while its connection waits for the partial-body budget. Such a connection has no
 * receive posted (its body must not be read before it has a block buffer), so no receive would see the end of stream,
 * and a PUT cut short would wait for budget that other connections hold, possibly for ever, only to fail once it got
 * it. One POLL_ADD for POLLRDHUP watches each waiting connection. Its completion only records that the peer is done
 * and resumes the connection; the duty cycle then counts the bytes the peer can still deliver (held, or unread in the
 * socket) while no receive is posted: when they cannot complete the waiting frame, the connection is closed at once;
 * a frame that is whole waits for the budget like any other and is answered before the close.
 * <p>
 * The end of stream travels behind the data, so a peer that stops with more unread bytes than the server's receive
 * window takes is seen only once the budget comes, as before. A watch stays armed when its connection stops waiting
 * (its receives see the end of stream themselves) and is cancelled when the connection closes. Once the peer's end
 * was seen, later waits are judged without a new watch. Worker thread only.
 */
final class HangupWatch
{
    static final int OP_POLL = 14;
    private static final byte NONE = 0;
    private static final byte ARMED = 1;
    /** The peer's end of stream was seen (it stays so): waits are judged at once. */
    private static final byte SEEN = 2;
    /** The poll failed: no watch any more, and nothing is judged (the connection waits as it would without one). */
    private static final byte FAILED = 3;

    /** What the watch asks of the receiver. */
    interface Host
    {
        /** {@code c}'s waiting frame can never complete: close it. */
        void cutShort(int c);

        /** {@code c}'s peer finished sending: settle it in this duty cycle. */
        void resume(int c);

        /** {@code c} is closing and its watch ended: close it if nothing else holds it open. */
        void tryFinishClose(int c);
    }

    private final WorkerContext ctx;
    private final Connections conns;
    private final Inbox inbox;
    private final PartialBodies bodies;
    private final Host host;
    private final byte[] state;
    private Ring ring;

    HangupWatch(final WorkerContext ctx, final Connections conns, final Inbox inbox, final PartialBodies bodies,
        final Host host)
    {
        this.ctx = ctx;
        this.conns = conns;
        this.inbox = inbox;
        this.bodies = bodies;
        this.host = host;
        state = new byte[conns.capacity];
    }

    void start(final Ring ring)
    {
        this.ring = ring;
    }

    /** A new connection in slot {@code c}. */
    void opened(final int c)
    {
        state[c] = NONE;
    }

    /** {@code c} waits for the body budget with no receive posted: watch for its peer's end, or judge it now. */
    void waiting(final int c)
    {
        if (conns.state[c] != Connections.OPEN || conns.recvPosted[c] || conns.bodyState[c] != Connections.BODY_NONE)
        {
            return; // a receive in the ring may have taken bytes the count below would miss
        }
        if (state[c] == NONE)
        {
            ring.prepPollAdd(conns.fd[c], LibC.POLLRDHUP, UserData.pack(c, OP_POLL, conns.generation[c]));
            state[c] = ARMED;
        }
        else if (state[c] == SEEN && !canComplete(c))
        {
            ctx.stats.increment(ServerStats.HANGUPS_CUT_SHORT);
            host.cutShort(c);
        }
    }

    /** @return true while a watch of {@code c} is in the ring: its descriptor must stay open until it ends. */
    boolean armed(final int c)
    {
        return state[c] == ARMED;
    }

    /** {@code c} is closing (called once, as it leaves OPEN; no watch is armed after): its watch ends. */
    void closing(final int c)
    {
        if (state[c] == ARMED)
        {
            ring.prepCancel(UserData.pack(c, OP_POLL, conns.generation[c]), UserData.pack(0, Worker.OP_IGNORE, 0));
        }
    }

    void onPoll(final int c, final int gen, final int res)
    {
        if (conns.generation[c] != gen || state[c] != ARMED)
        {
            return;
        }
        if (res < 0)
        {
            state[c] = FAILED;
            if (res != -Errno.ECANCELED)
            {
                ctx.errors.onError(ctx.name, "connection " + c + " hang-up watch failed: " + Errno.describe(res));
            }
        }
        else
        {
            state[c] = SEEN;
        }
        if (conns.state[c] != Connections.OPEN)
        {
            host.tryFinishClose(c);
        }
        else if (state[c] == SEEN && bodies.isWaiting(c))
        {
            ctx.stats.increment(ServerStats.HANGUPS_SEEN); // not when it fires after the wait: receives see that end
            host.resume(c); // judged by the duty cycle, once every completion of this batch is in
        }
    }

    /** Whether what the peer already sent completes the frame at the start of {@code c}'s receive buffer. */
    private boolean canComplete(final int c)
    {
        final int length = inbox.frameLength(c);
        if (length < 0)
        {
            return false;
        }
        final long missing = Protocol.LENGTH_FIELD_LENGTH + (long)length - conns.filled[c] - inbox.heldBytes(c);
        if (missing <= 0)
        {
            return true;
        }
        final int unread = LibC.unreadBytes(conns.fd[c]);
        return unread >= missing;
    }
}
