package io.ringblocks.server;

import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Arrays;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import io.ringblocks.wire.Opcode;
import io.ringblocks.wire.Protocol;
import io.ringblocks.wire.Status;

import static io.ringblocks.server.ServerHarness.awaitStat;
import static io.ringblocks.server.ServerHarness.stat;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A connection whose large PUT waits for the partial-body budget receives nothing, so only its hang-up watch sees the
 * peer finish sending: a body cut short is closed at once, a whole one waits and is answered. Each case runs in every
 * receive mode (multishot, single-shot into provided buffers, receive buffers of their own), with the end of stream
 * right behind the header (racing the cancel of a multishot receive) and after the connection settled into its wait.
 */
@Timeout(60)
class HangupWatchTest
{
    /** The smallest arena: 1 MiB of body budget, all of it taken by a stalled 1 MiB upload. */
    private static final int STALLED_BODY = 1 << 20;
    private static final long SETTLE_MILLIS = 300;

    @TempDir
    Path dir;

    @AfterEach
    void restore()
    {
        ReceiveMode.reset();
    }

    @Test
    void shouldCloseAPutCutShortWhileItWaitsForBudget() throws Exception
    {
        for (final ReceiveMode mode : ReceiveMode.values())
        {
            cutShortWhileWaiting(mode, 0);
            cutShortWhileWaiting(mode, SETTLE_MILLIS);
        }
    }

    @Test
    void shouldAnswerAWholePutWhosePeerFinishedWhileItWaitedForBudget() throws Exception
    {
        for (final ReceiveMode mode : ReceiveMode.values())
        {
            wholeWhileWaiting(mode, 0);
            wholeWhileWaiting(mode, SETTLE_MILLIS);
        }
    }

    @Test
    void shouldStopWhileAWatchIsArmed() throws Exception
    {
        // A stop's deadline far beyond the test's timeout: a watch nobody cancelled would hold the stop until then.
        final ServerConfig config = config(ReceiveMode.MULTISHOT).toBuilder().shutdownTimeoutMillis(600_000L)
            .conclude();
        final RingblocksServer server = RingblocksServer.start(config);
        try (RawClient stalled = new RawClient(server.port());
            RawClient waiting = new RawClient(server.port()))
        {
            stall(server, stalled);
            final byte[] frame = RawClient.frame(Protocol.VERSION, Opcode.PUT, 0, 2, new byte[500_000]);
            waiting.send(Arrays.copyOf(frame, 10_000));
            settle(server); // waiting for budget, watched
            server.close();
            final RawClient.Response answer = waiting.read();
            assertEquals(Status.SHUTTING_DOWN, answer.status(), "the waiting PUT is refused by the stop");
            assertTrue(waiting.closedByServer());
        }
        finally
        {
            server.close();
        }
    }

    private void cutShortWhileWaiting(final ReceiveMode mode, final long pause) throws Exception
    {
        final String what = mode + ", pause " + pause + " ms";
        try (RingblocksServer server = RingblocksServer.start(config(mode));
            RawClient stalled = new RawClient(server.port());
            RawClient cut = new RawClient(server.port()))
        {
            stall(server, stalled);
            final byte[] frame = RawClient.frame(Protocol.VERSION, Opcode.PUT, 0, 2, new byte[500_000]);
            cut.send(Arrays.copyOf(frame, 10_000)); // all of it fits the receive buffer
            if (pause > 0)
            {
                settle(server);
            }
            cut.socket.shutdownOutput(); // its body can never arrive: no reason to wait for budget
            assertTrue(cut.closedByServer(), "a PUT cut short waited for body budget it could never use, " + what);
            awaitStat(server, "connections", 1); // the stalled upload keeps its connection
            if (pause > 0)
            {
                // Settled into its wait, only the watch could see the end of stream (without the pause, a multishot
                // receive may deliver it first).
                assertEquals(1, stat(server, "waiting_hangups_cut_short"), what);
            }
        }
    }

    private void wholeWhileWaiting(final ReceiveMode mode, final long pause) throws Exception
    {
        final String what = mode + ", pause " + pause + " ms";
        try (RingblocksServer server = RingblocksServer.start(config(mode));
            RawClient stalled = new RawClient(server.port());
            RawClient whole = new RawClient(server.port()))
        {
            final byte[] big = stall(server, stalled);
            // Larger than the 16 KiB receive buffer (it needs a block buffer), small enough that all of it and the
            // end of stream reach the server's socket while the PUT waits.
            final byte[] block = new byte[20_000];
            Arrays.fill(block, (byte)7);
            whole.send(RawClient.frame(Protocol.VERSION, Opcode.PUT, 0, 2, block));
            if (pause > 0)
            {
                settle(server);
            }
            whole.socket.shutdownOutput(); // everything it asked is in the server's hands: it must be answered
            if (pause > 0)
            {
                awaitStat(server, "waiting_hangups", 1);
            }
            else
            {
                Thread.sleep(SETTLE_MILLIS); // the end of stream is seen by a receive or by the watch
            }
            assertEquals(2, stat(server, "connections"), "a whole PUT was closed while it waited, " + what);
            assertEquals(0, stat(server, "waiting_hangups_cut_short"), what);
            stalled.send(Arrays.copyOfRange(big, 100_000, big.length)); // the stalled upload completes: budget back
            assertEquals(0, stalled.read().status(), what);
            final RawClient.Response answer = whole.read();
            assertEquals(0, answer.status(), "status of the PUT that waited, " + what);
            assertArrayEquals(MessageDigest.getInstance("SHA-256").digest(block), answer.body(), what);
            assertTrue(whole.closedByServer(), "closed once answered, " + what);
        }
    }

    private ServerConfig config(final ReceiveMode mode)
    {
        return mode.apply(ServerHarness.config(dir).toBuilder().workers(1).arenaSize(ServerConfig.MIN_ARENA_SIZE))
            .conclude();
    }

    /**
     * Returns once the second connection waits for the body budget, and a while later: by then its multishot
     * receive was cancelled (it is only cancelled once the connection waits), so only the watch can see its end.
     */
    private static void settle(final RingblocksServer server) throws InterruptedException
    {
        awaitStat(server, "body_budget_waiters", 1);
        Thread.sleep(SETTLE_MILLIS);
    }

    /** Starts a 1 MiB upload that takes the whole body budget and stops; returns its frame. */
    private static byte[] stall(final RingblocksServer server, final RawClient stalled) throws Exception
    {
        final byte[] big = RawClient.frame(Protocol.VERSION, Opcode.PUT, 0, 1, new byte[STALLED_BODY]);
        stalled.send(Arrays.copyOf(big, 100_000));
        awaitStat(server, "partial_body_bytes", STALLED_BODY);
        return big;
    }
}
