package io.ringblocks.server;

/**
 * One line for a failure, for the tools' error lines and the server's own messages. An exception's message is what
 * it says went wrong, but some carry none (an {@link ExceptionInInitializerError}, as when liburing cannot be loaded)
 * or only the JVM's bookkeeping (a {@link NoClassDefFoundError} for a class whose initialisation failed before): then
 * the cause says it, and "null" helps nobody.
 */
public final class Failures
{
    private Failures()
    {
    }

    /**
     * @return the message of {@code failure} or of the first of its causes that has one, skipping linkage errors
     * that have a cause; the innermost cause's class and message ({@link Throwable#toString()}) when none does.
     */
    public static String describe(final Throwable failure)
    {
        Throwable t = failure;
        while (true)
        {
            final Throwable cause = t.getCause();
            final boolean skip = t instanceof LinkageError && cause != null;
            if (t.getMessage() != null && !skip)
            {
                return t.getMessage();
            }
            if (cause == null || cause == t)
            {
                return t.toString();
            }
            t = cause;
        }
    }
}
