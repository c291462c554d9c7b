package io.ringblocks.client;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;

/**
 * One request from submission to completion: its frame (header array plus an optional payload slice that is
 * written without copying), how to turn the response into a value, and the future the caller holds. Whoever
 * removes it from its connection's in-flight map (the reader on a response, the timer on a timeout, the closer on
 * a connection loss) is the only one allowed to complete it, so each request completes exactly once and releases
 * its in-flight slot exactly once.
 */
final class Pending<T>
{
    /**
     * Turns a response into the operation's value, or throws the {@link RingblocksException} the status means.
     * Runs on the connection's reader thread.
     */
    @FunctionalInterface
    interface Decoder<T>
    {
        T decode(int status, byte[] body);
    }

    final long id;
    final int opcode;
    final byte[] header;
    final byte[] payload;
    final int payloadOffset;
    final int payloadLength;
    final CompletableFuture<T> future = new CompletableFuture<>();
    private final Decoder<T> decoder;
    private volatile ScheduledFuture<?> timeout;

    Pending(
        final long id,
        final int opcode,
        final byte[] header,
        final byte[] payload,
        final int payloadOffset,
        final int payloadLength,
        final Decoder<T> decoder)
    {
        this.id = id;
        this.opcode = opcode;
        this.header = header;
        this.payload = payload;
        this.payloadOffset = payloadOffset;
        this.payloadLength = payloadLength;
        this.decoder = decoder;
    }

    /** Attaches the timeout task so that completion can cancel it (keeping the timer's queue small). */
    void timeout(final ScheduledFuture<?> task)
    {
        timeout = task;
        if (future.isDone())
        {
            task.cancel(false);
        }
    }

    void complete(final int responseOpcode, final int status, final byte[] body)
    {
        cancelTimeout();
        if (responseOpcode != opcode)
        {
            future.completeExceptionally(new ProtocolException("response to " + Wire.opcodeName(opcode) +
                " request " + id + " echoes opcode " + Wire.opcodeName(responseOpcode)));
            return;
        }
        final T value;
        try
        {
            value = decoder.decode(status, body);
        }
        catch (final RuntimeException ex)
        {
            future.completeExceptionally(ex);
            return;
        }
        future.complete(value);
    }

    void fail(final Throwable cause)
    {
        cancelTimeout();
        future.completeExceptionally(cause);
    }

    private void cancelTimeout()
    {
        final ScheduledFuture<?> task = timeout;
        if (task != null)
        {
            task.cancel(false);
        }
    }
}
