package io.ringblocks.server;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The deadline logic on a hand-driven clock: which connection expires when, and when the worker must wake. */
class ConnectionTimeoutsTest
{
    private static final long MS = 1_000_000L;

    private final Connections conns = new Connections(8);
    private final List<String> expired = new ArrayList<>();
    private final ConnectionTimeouts.Expiry record = (c, kind) -> expired.add(c + ":" + kind);

    private int open(final ConnectionTimeouts t, final long now)
    {
        final int c = conns.open(100);
        t.opened(c, now);
        conns.recvPosted[c] = true;
        return c;
    }

    @Test
    void shouldNeedNoWakeupWithoutConnectionsOrWithOnlyIdleOnesWhenIdleTimeoutIsOff()
    {
        final ConnectionTimeouts t = new ConnectionTimeouts(conns, 30_000, 30_000, 0);
        assertEquals(Long.MAX_VALUE, t.nextSweep());
        open(t, 0);
        assertEquals(Long.MAX_VALUE, t.nextSweep(), "an idle connection with no idle timeout never needs a wakeup");
        assertEquals(0, t.sweep(Long.MAX_VALUE / 2, record));
    }

    @Test
    void shouldExpireAPartialFrameAfterTheRequestTimeoutCountedFromItsFirstBytes()
    {
        final ConnectionTimeouts t = new ConnectionTimeouts(conns, 30_000, 1_000, 0);
        final int c = open(t, 0);
        conns.filled[c] = 5; // five bytes of a frame arrived at 100 ms
        t.framing(c, false, 100 * MS);
        assertEquals(1_100 * MS, t.nextSweep());
        conns.filled[c] = 6; // one more byte later: the clock does not restart (slowloris)
        t.framing(c, false, 900 * MS);
        assertEquals(0, t.sweep(1_099 * MS, record));
        assertEquals(1, t.sweep(1_100 * MS, record));
        assertEquals(List.of(c + ":" + ConnectionTimeouts.REQUEST), expired);
        assertEquals(Long.MAX_VALUE, t.nextSweep());
    }

    @Test
    void shouldStartANewClockForTheFrameLeftOverAfterCompleteOnesAndStopItAtAFrameBoundary()
    {
        final ConnectionTimeouts t = new ConnectionTimeouts(conns, 30_000, 1_000, 0);
        final int c = open(t, 0);
        conns.filled[c] = 3;
        t.framing(c, false, 0);
        t.framing(c, true, 800 * MS); // frames completed at 800 ms, a new one is partly there
        assertEquals(0, t.sweep(1_000 * MS, record));
        assertEquals(1_800 * MS, t.nextSweep());
        conns.filled[c] = 0;
        t.framing(c, true, 1_200 * MS);
        assertEquals(0, t.sweep(5_000 * MS, record), "no frame pending, nothing to time out");
        assertTrue(expired.isEmpty());
    }

    @Test
    void shouldNotCountTimeTheWorkerHeldTheConnectionUnread()
    {
        final ConnectionTimeouts t = new ConnectionTimeouts(conns, 30_000, 1_000, 0);
        final int c = open(t, 0);
        conns.bodyState[c] = Connections.BODY_PAYLOAD;
        t.framing(c, false, 0);
        conns.recvPosted[c] = false; // waiting for the partial-body budget, say
        t.readHeld(c);
        assertEquals(0, t.sweep(10_000 * MS, record), "a held connection is not timed out");
        conns.recvPosted[c] = true;
        t.readResumed(c, 10_000 * MS);
        assertEquals(0, t.sweep(10_999 * MS, record));
        assertEquals(1, t.sweep(11_000 * MS, record));
        assertEquals(List.of(c + ":" + ConnectionTimeouts.REQUEST), expired);
    }

    @Test
    void shouldExpireOnlyConnectionsIdleForTheIdleTimeout()
    {
        final ConnectionTimeouts t = new ConnectionTimeouts(conns, 30_000, 30_000, 2_000);
        final int idle = open(t, 0);
        final int busy = open(t, 0);
        final int working = open(t, 0);
        conns.inFlight[working] = 1; // a request still executing: not idle however long it takes
        assertEquals(2_000 * MS, t.nextSweep());
        t.activity(busy, 1_500 * MS);
        assertEquals(1, t.sweep(2_000 * MS, record));
        assertEquals(List.of(idle + ":" + ConnectionTimeouts.IDLE), expired);
        assertEquals(3_500 * MS, t.nextSweep(), "the next deadline is the busy connection's");
        conns.state[idle] = Connections.CLOSED;
        t.activity(busy, 3_000 * MS);
        assertEquals(0, t.sweep(3_500 * MS, record));
        assertEquals(5_000 * MS, t.nextSweep());
    }

    @Test
    void shouldExpireAStuckSendOnceEvenWhileClosing()
    {
        final ConnectionTimeouts t = new ConnectionTimeouts(conns, 1_000, 30_000, 0);
        final int c = open(t, 0);
        conns.sending[c] = true;
        conns.sendHead[c] = 0;
        t.responseAtHead(c, 0);
        t.sendStarted(c, 0);
        conns.state[c] = Connections.CLOSING;
        assertEquals(1, t.sweep(1_000 * MS, record));
        assertEquals(0, t.sweep(100_000 * MS, record), "expired once: the worker's shutdown ends the send");
        assertEquals(List.of(c + ":" + ConnectionTimeouts.SEND), expired);
    }

    @Test
    void shouldExpireAResponseThatTricklesOutInShortSendsAndStartEachResponsesClockWhenItReachesTheHead()
    {
        final ConnectionTimeouts t = new ConnectionTimeouts(conns, 1_000, 30_000, 0);
        final int c = open(t, 0);
        conns.sending[c] = true;
        t.responseAtHead(c, 0);
        t.sendStarted(c, 0);
        t.sendStarted(c, 600 * MS); // a short send moved a few bytes: the response is not out yet
        t.sendStarted(c, 900 * MS);
        assertEquals(0, t.sweep(999 * MS, record));
        assertEquals(1, t.sweep(1_000 * MS, record), "a reader that takes a little now and then still expires");

        final int d = open(t, 0);
        conns.sending[d] = true;
        t.responseAtHead(d, 0);
        t.sendStarted(d, 0);
        t.responseAtHead(d, 800 * MS); // the first response is out, the next one starts its own clock
        t.sendStarted(d, 800 * MS);
        assertEquals(0, t.sweep(1_700 * MS, record));
        assertEquals(1, t.sweep(1_900 * MS, record)); // sweeps come at most an eighth of the timeout late
        assertEquals(List.of(c + ":" + ConnectionTimeouts.SEND, d + ":" + ConnectionTimeouts.SEND), expired);
    }

    @Test
    void shouldShortenTheSendDeadlineWhileTheArenaRunsShort()
    {
        final ConnectionTimeouts t = new ConnectionTimeouts(conns, 30_000, 30_000, 0);
        final int c = open(t, 0);
        conns.sending[c] = true;
        t.responseAtHead(c, 0);
        t.sendStarted(c, 0);
        assertEquals(0, t.sweep(10_000 * MS, record), "no pressure: the full 30 s");
        t.pressure(true, false, 10_000 * MS);
        assertEquals(10_000 * MS, t.nextSweep(), "a fresh sign of pressure brings the sweep forward");
        assertEquals(1, t.sweep(10_000 * MS, record), "under pressure an eighth of it (3.75 s) has long passed");
        assertEquals(List.of(c + ":" + ConnectionTimeouts.SEND), expired);

        final int d = open(t, 20_000 * MS);
        conns.sending[d] = true;
        t.responseAtHead(d, 20_000 * MS);
        t.sendStarted(d, 20_000 * MS);
        assertEquals(0, t.sweep(30_000 * MS, record), "pressure more than a second ago no longer counts");
    }

    @Test
    void shouldGiveASendStartedDuringAPressureEpisodeTheShortDeadlineToo()
    {
        final ConnectionTimeouts t = new ConnectionTimeouts(conns, 30_000, 30_000, 0);
        final int c = open(t, 0);
        t.pressure(true, false, 0);
        assertEquals(0, t.sweep(0, record)); // the episode's first sweep: nothing is sending yet
        conns.sending[c] = true;
        t.responseAtHead(c, 500 * MS);
        t.sendStarted(c, 500 * MS); // scheduled with the full 30 s
        long now = 600 * MS;
        while (expired.isEmpty() && now < 10_000 * MS)
        {
            t.pressure(true, false, now); // the arena keeps running short
            t.sweep(now, record);
            now += 10 * MS;
        }
        assertEquals(List.of(c + ":" + ConnectionTimeouts.SEND), expired);
        assertTrue(now <= (500 + 3_750 + 1_000 + 10) * MS, "cut within a sweep gap of its short deadline: " + now);
    }

    /** Large PUTs wait for the body budget from {@code fromMillis} to {@code toMillis}, as a worker reports it. */
    private static void waiting(final ConnectionTimeouts t, final long fromMillis, final long toMillis)
    {
        for (long at = fromMillis; at <= toMillis; at += 100)
        {
            t.pressure(false, true, at * MS);
        }
    }

    @Test
    void shouldCutASlowBodyOnlyWhileOtherUploadsWaitForTheBudget()
    {
        final ConnectionTimeouts t = new ConnectionTimeouts(conns, 30_000, 30_000, 0);
        final int c = open(t, 0);
        conns.bodyState[c] = Connections.BODY_PAYLOAD;
        t.framing(c, false, 0); // a large PUT's header; its body trickles in
        assertEquals(0, t.sweep(20_000 * MS, record), "nobody waits: a slow upload keeps its 30 s");
        t.pressure(false, true, 20_000 * MS);
        assertEquals(0, t.sweep(20_000 * MS, record), "others wait from now on: it gets 5 s from now, not from its start");
        waiting(t, 20_500, 24_900); // uploads still wait, signalled every cycle
        assertEquals(1, t.sweep(25_000 * MS, record), "5 s of pressure and the body is not whole: cut");
        assertEquals(List.of(c + ":" + ConnectionTimeouts.REQUEST), expired);

        final int d = open(t, 0);
        conns.bodyState[d] = Connections.BODY_PAYLOAD;
        t.framing(d, false, 21_000 * MS); // started during the pressure: 5 s from its own start
        waiting(t, 25_000, 25_500);
        assertEquals(0, t.sweep(25_500 * MS, record), "a body within its 5 s is not cut");
        // Bytes arriving now and then do not matter: holding the budget, the body must arrive whole in time.
        waiting(t, 25_500, 27_000);
        assertEquals(1, t.sweep(27_000 * MS, record));
        assertEquals(List.of(c + ":" + ConnectionTimeouts.REQUEST, d + ":" + ConnectionTimeouts.REQUEST), expired);
    }

    @Test
    void shouldNeverSweepMoreOftenThanAnEighthOfTheShortestTimeout()
    {
        final ConnectionTimeouts t = new ConnectionTimeouts(conns, 30_000, 800, 0);
        final int a = open(t, 0);
        conns.filled[a] = 1;
        t.framing(a, false, 0);
        final int b = open(t, 0);
        conns.filled[b] = 1;
        t.framing(b, false, 10 * MS);
        assertEquals(1, t.sweep(800 * MS, record));
        assertEquals(900 * MS, t.nextSweep(), "b's deadline at 810 ms is rounded up to the minimum gap (100 ms)");
        assertEquals(1, t.sweep(900 * MS, record));
    }
}
