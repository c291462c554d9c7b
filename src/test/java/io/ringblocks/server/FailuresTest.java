package io.ringblocks.server;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** One line per failure: never "null", and the cause when the exception itself says nothing useful. */
class FailuresTest
{
    private static final String NO_LIBRARY = "Cannot open library: liburing.so.2";

    @Test
    void shouldNameTheCauseOfAFailedClassInitialisation()
    {
        // What a worker catches when the bindings' static initialiser cannot load liburing.
        final ExceptionInInitializerError first =
            new ExceptionInInitializerError(new IllegalArgumentException(NO_LIBRARY));
        assertEquals(NO_LIBRARY, Failures.describe(first));
        // What the next thread to touch the class gets.
        final NoClassDefFoundError next =
            new NoClassDefFoundError("Could not initialize class io.ringblocks.ffi.liburing_h");
        next.initCause(first);
        assertEquals(NO_LIBRARY, Failures.describe(next));
    }

    @Test
    void shouldKeepAMessageAndFallBackToTheClassName()
    {
        assertEquals("worker 0 failed to start: x",
            Failures.describe(new IllegalStateException("worker 0 failed to start: x", new RuntimeException("y"))));
        assertEquals("java.lang.NullPointerException", Failures.describe(new NullPointerException()));
        assertEquals("java.lang.IllegalStateException",
            Failures.describe(new RuntimeException(new IllegalStateException())));
        assertEquals("Could not initialize class X",
            Failures.describe(new NoClassDefFoundError("Could not initialize class X")));
    }
}
