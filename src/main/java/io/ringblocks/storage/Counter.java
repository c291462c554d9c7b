package io.ringblocks.storage;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A count with one writer thread, read by others (STATS, metrics): the writer updates it with a plain read of its
 * own last value and a release store (no fence, unlike {@code volatile ++}, which is also not atomic), readers take
 * it with an acquire read and see whole values that only move forward.
 */
public final class Counter
{
    private static final VarHandle VALUE;

    static
    {
        try
        {
            VALUE = MethodHandles.lookup().findVarHandle(Counter.class, "value", long.class);
        }
        catch (final ReflectiveOperationException e)
        {
            throw new ExceptionInInitializerError(e);
        }
    }

    private long value;

    /** Writer thread only. */
    public void increment()
    {
        VALUE.setRelease(this, value + 1);
    }

    /** Writer thread only. */
    public void add(final long delta)
    {
        VALUE.setRelease(this, value + delta);
    }

    /** @return the value last published (any thread). */
    public long get()
    {
        return (long)VALUE.getAcquire(this);
    }
}
