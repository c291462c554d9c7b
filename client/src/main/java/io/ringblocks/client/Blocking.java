package io.ringblocks.client;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * Waits for a future on behalf of the blocking API and rethrows its failure unwrapped, so callers catch
 * {@link NotFoundException} rather than dig through {@link ExecutionException} causes.
 */
final class Blocking
{
    private Blocking()
    {
    }

    /**
     * No timeout here: every request future is completed by a response, its timeout or a connection loss. An
     * interrupted caller cancels the future, which frees its in-flight slot and drops its late response.
     */
    static <T> T await(final CompletableFuture<T> future)
    {
        try
        {
            return future.get();
        }
        catch (final InterruptedException ex)
        {
            future.cancel(false);
            Thread.currentThread().interrupt();
            throw new RingblocksException("interrupted while waiting for a response", ex);
        }
        catch (final ExecutionException ex)
        {
            final Throwable cause = ex.getCause();
            if (cause instanceof RuntimeException runtime)
            {
                throw runtime;
            }
            if (cause instanceof Error error)
            {
                throw error;
            }
            throw new RingblocksException("request failed: " + cause, cause);
        }
    }

    /** Rejects blocking on a client thread, where it would wait for itself (see {@link AsyncBlockOperations}). */
    static void checkThread()
    {
        if (Connection.isClientThread())
        {
            throw new IllegalStateException("blocking ringblocks call on a client thread (" +
                Thread.currentThread().getName() + "); use the asynchronous API in callbacks");
        }
    }
}
