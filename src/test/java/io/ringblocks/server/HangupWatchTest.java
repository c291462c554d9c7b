package io.ringblocks.server;

import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Arrays;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import io.ringblocks.wire.Opcode;
import io.ringblocks.wire.Protocol;

import static io.ringblocks.server.ServerHarness.awaitStat;
import static io.ringblocks.server.ServerHarness.stat;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A connection whose large PUT waits for the partial-body budget receives nothing, so only its hang-up watch sees the
 * peer finish sending: a body cut short is closed at once, a whole one waits and is answered. Each case runs with
 * multishot receives on and off, with the end of stream arriving right behind the header (racing the cancel of the
 * multishot receive) and after the connection settled into its wait.
 */
@Timeout(60)
class HangupWatchTest
{
    /** The smallest arena: 1 MiB of body budget, all of it taken by a stalled 1 MiB upload. */
    private static final int STALLED_BODY = 1 << 20;
    private static final long SETTLE_MILLIS = 300;

    @TempDir
    Path dir;

    @Test
    void shouldCloseAPutCutShortWhileItWaitsForBudget() throws Exception
    {
        for (final boolean multishot : new boolean[] {true, false})
        {
            for (final long pause : new long[] {0, SETTLE_MILLIS})
            {
                cutShortWhileWaiting(multishot, pause);
            }
        }
    }

    @Test
    void shouldAnswerAWholePutWhosePeerFinishedWhileItWaitedForBudget() throws Exception
    {
        for (final boolean multishot : new boolean[] {true, false})
        {
            for (final long pause : new long[] {0, SETTLE_MILLIS})
            {
                wholeWhileWaiting(multishot, pause);
            }
        }
    }

    private void cutShortWhileWaiting(final boolean multishot, final long pause) throws Exception
    {
        final String mode = "multishot " + multishot + ", pause " + pause + " ms";
        try (RingblocksServer server = RingblocksServer.start(config(multishot));
            RawClient stalled = new RawClient(server.port());
            RawClient cut = new RawClient(server.port()))
        {
            stall(server, stalled);
            final byte[] frame = RawClient.frame(Protocol.VERSION, Opcode.PUT, 0, 2, new byte[500_000]);
            cut.send(Arrays.copyOf(frame, 10_000)); // all of it fits the receive buffer
            Thread.sleep(pause);
            cut.socket.shutdownOutput(); // its body can never arrive: no reason to wait for budget
            cut.socket.setSoTimeout(5_000);
            assertTrue(cut.closedByServer(), "a PUT cut short waited for body budget it could never use, " + mode);
            awaitStat(server, "connections", 1); // the stalled upload keeps its connection
        }
    }

    private void wholeWhileWaiting(final boolean multishot, final long pause) throws Exception
    {
        final String mode = "multishot " + multishot + ", pause " + pause + " ms";
        try (RingblocksServer server = RingblocksServer.start(config(multishot));
            RawClient stalled = new RawClient(server.port());
            RawClient whole = new RawClient(server.port()))
        {
            final byte[] big = stall(server, stalled);
            final byte[] block = new byte[100_000]; // larger than the receive buffer: needs a block buffer
            Arrays.fill(block, (byte)7);
            whole.send(RawClient.frame(Protocol.VERSION, Opcode.PUT, 0, 2, block));
            Thread.sleep(pause);
            whole.socket.shutdownOutput(); // everything it asked is in the socket: it must be answered
            Thread.sleep(SETTLE_MILLIS);
            assertEquals(2, stat(server, "connections"), "a whole PUT was closed while it waited, " + mode);
            stalled.send(Arrays.copyOfRange(big, 100_000, big.length)); // the stalled upload completes: budget back
            assertEquals(0, stalled.read().status(), mode);
            final RawClient.Response answer = whole.read();
            assertEquals(0, answer.status(), "status of the PUT that waited, " + mode);
            assertArrayEquals(MessageDigest.getInstance("SHA-256").digest(block), answer.body(), mode);
            assertTrue(whole.closedByServer(), "closed once answered, " + mode);
        }
    }

    private ServerConfig config(final boolean multishot)
    {
        return ServerHarness.config(dir).toBuilder().workers(1).arenaSize(ServerConfig.MIN_ARENA_SIZE)
            .multishotRecv(multishot).conclude();
    }

    /** Starts a 1 MiB upload that takes the whole body budget and stops; returns its frame. */
    private static byte[] stall(final RingblocksServer server, final RawClient stalled) throws Exception
    {
        final byte[] big = RawClient.frame(Protocol.VERSION, Opcode.PUT, 0, 1, new byte[STALLED_BODY]);
        stalled.send(Arrays.copyOf(big, 100_000));
        awaitStat(server, "partial_body_bytes", STALLED_BODY);
        return big;
    }

    private static long connections(final RingblocksServer server)
    {
        return stat(server, "connections");
    }
}
