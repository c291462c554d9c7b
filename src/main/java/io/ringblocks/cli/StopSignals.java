package io.ringblocks.cli;

import java.io.PrintStream;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntConsumer;
import java.util.function.LongSupplier;

import sun.misc.Signal;

/**
 * SIGTERM, SIGINT and SIGHUP as the server takes them: the first asks for the graceful stop, one more while that
 * runs ends the process at once (exit 128 + the signal's number), as a crash would, which loses nothing
 * acknowledged. Signals within {@link #SAME_REQUEST_NANOS} of the first are the same request delivered twice, not an
 * operator who insists: GNU timeout sends its TERM to the child and then to the whole process group, as do
 * supervisors that signal a group. Installed before the store opens, so that a signal during a long recovery is a
 * graceful stop right after it rather than the JVM's default exit 143 (HUP included: a closed terminal or a
 * supervisor's HUP must not kill the server without its final commit).
 */
final class StopSignals
{
    static final String[] NAMES = {"TERM", "INT", "HUP"};
    static final long SAME_REQUEST_NANOS = 1_000_000_000L;

    private final CountDownLatch stop = new CountDownLatch(1);
    private final AtomicLong firstNanos = new AtomicLong(Long.MIN_VALUE);
    private final PrintStream err;
    private final IntConsumer halt;
    private final LongSupplier clock;

    StopSignals(final PrintStream err, final IntConsumer halt, final LongSupplier clock)
    {
        this.err = err;
        this.halt = halt;
        this.clock = clock;
    }

    /** @return the process's handlers, installed; a second signal halts the JVM. */
    static StopSignals install()
    {
        final StopSignals signals =
            new StopSignals(System.err, status -> Runtime.getRuntime().halt(status), System::nanoTime);
        for (final String name : NAMES)
        {
            try
            {
                Signal.handle(new Signal(name), s -> signals.received(s.getName(), s.getNumber()));
            }
            catch (final IllegalArgumentException e)
            {
                // The JVM refuses a handler for a signal the process was started ignoring (nohup ignores HUP):
                // that choice stands.
            }
        }
        return signals;
    }

    void received(final String name, final int number)
    {
        final long now = clock.getAsLong();
        if (firstNanos.compareAndSet(Long.MIN_VALUE, now))
        {
            stop.countDown();
            return;
        }
        if (now - firstNanos.get() < SAME_REQUEST_NANOS)
        {
            return;
        }
        err.println("ringblocks-server: SIG" + name + " while stopping: exiting at once (the next start recovers)");
        err.flush();
        halt.accept(128 + number);
    }

    /** Waits for the first signal. */
    void await() throws InterruptedException
    {
        stop.await();
    }
}
