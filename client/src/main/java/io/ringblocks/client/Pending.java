package io.ringblocks.client;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;

/**
 * One request from submission to completion: its frame (header array plus an optional payload slice that is
 * written without copying), how to turn the response into a value, and the future the caller holds. Whoever
 * removes it from its connection's in-flight map (the reader on a response, a timeout, the closer on a connection
 * loss, or the connection told that the caller completed or cancelled the future itself) is the only one that
 * releases its in-flight slot, so that happens exactly once; the future completes once, by the remover or by the
 * caller first (a completion that comes second is ignored, as {@link CompletableFuture} ignores it).
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
    final CompletableFuture<T> future = new RequestFuture();
    private final Decoder<T> decoder;
    private volatile ScheduledFuture<?> timeout;
    /** The connection holding it in flight, told when the caller completes or cancels the future itself. */
    private volatile Connection owner;
    /** When it was handed to its connection ({@link System#nanoTime()}). */
    volatile long sentNanos;
    /** A connection's own liveness PING: it holds no in-flight slot of the client. */
    volatile boolean probe;

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

    /** @return the bytes of its request frame on the wire. */
    long frameLength()
    {
        return header.length + (long)payloadLength;
    }

    /** Sets the connection the request is in flight on (before it is registered there). */
    void owner(final Connection connection)
    {
        owner = connection;
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
        catch (final Throwable ex)
        {
            // An Error too (say, out of memory for a decoded page): the request already left the in-flight map, so
            // nobody else would ever complete its future.
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

    void cancelTimeout()
    {
        final ScheduledFuture<?> task = timeout;
        if (task != null)
        {
            task.cancel(false);
        }
    }

    /**
     * The caller's future. Completed or cancelled by the caller, it gives its in-flight slot back at once rather than
     * at its timeout (a request done before it is written is not sent at all); completed by the library, it already
     * left the in-flight map, so this finds nothing to do.
     */
    private final class RequestFuture extends CompletableFuture<T>
    {
        @Override
        public boolean complete(final T value)
        {
            return retired(super.complete(value));
        }

        @Override
        public boolean completeExceptionally(final Throwable ex)
        {
            return retired(super.completeExceptionally(ex));
        }

        @Override
        public boolean cancel(final boolean mayInterruptIfRunning)
        {
            return retired(super.cancel(mayInterruptIfRunning));
        }

        private boolean retired(final boolean completedNow)
        {
            final Connection connection = owner;
            if (completedNow && connection != null)
            {
                connection.retire(Pending.this);
            }
            return completedNow;
        }
    }
}
