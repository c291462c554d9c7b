package io.ringblocks.cli;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The server's stop signals: the first asks for the graceful stop, one within a second of it is the same request,
 * a later one ends the process at once.
 */
class StopSignalsTest
{
    @Test
    void shouldAskForAGracefulStopFirstAndHaltOnTheNextSignal() throws Exception
    {
        final ByteArrayOutputStream err = new ByteArrayOutputStream();
        final List<Integer> halts = new ArrayList<>();
        final long[] now = {5_000_000_000L};
        final StopSignals signals =
            new StopSignals(new PrintStream(err, true, StandardCharsets.UTF_8), halts::add, () -> now[0]);
        final Thread waiter = Thread.ofVirtual().start(() ->
        {
            try
            {
                signals.await();
            }
            catch (final InterruptedException e)
            {
                Thread.currentThread().interrupt();
            }
        });

        signals.received("HUP", 1);
        waiter.join(TimeUnit.SECONDS.toMillis(10));
        assertTrue(!waiter.isAlive(), "the first signal releases the graceful stop");
        assertEquals(List.of(), halts);
        assertEquals("", err.toString(StandardCharsets.UTF_8));

        now[0] += StopSignals.SAME_REQUEST_NANOS - 1;
        signals.received("TERM", 15);
        assertEquals(List.of(), halts, "the same request delivered twice (timeout signals the child, then its group)");

        now[0] += 1;
        signals.received("TERM", 15);
        assertEquals(List.of(143), halts, "128 + SIGTERM's number, as the shell reports a signal's exit");
        assertEquals("ringblocks-server: SIGTERM while stopping: exiting at once (the next start recovers)\n",
            err.toString(StandardCharsets.UTF_8));
    }
}
