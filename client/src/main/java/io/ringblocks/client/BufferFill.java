package io.ringblocks.client;

import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The future of a GET into a caller's buffer, filled from the whole block once it arrived. Whoever settles it first
 * wins: the fill (which then writes the buffer and completes with the length), or the caller cancelling or completing
 * it (directly or by {@code orTimeout}), after which the buffer is never written. So a caller that gave up never
 * finds its buffer changed later by a client thread.
 */
final class BufferFill extends CompletableFuture<Integer>
{
    private final AtomicBoolean settled = new AtomicBoolean();
    private final Hash hash;
    private final ByteBuffer destination;

    private BufferFill(final Hash hash, final ByteBuffer destination)
    {
        this.hash = hash;
        this.destination = destination;
    }

    /**
     * @param read the whole-block GET; cancelled when the caller gives up first, which frees its in-flight slot.
     * @return the future of the GET into {@code destination}.
     */
    static CompletableFuture<Integer> into(final Hash hash, final ByteBuffer destination,
        final CompletableFuture<byte[]> read)
    {
        final BufferFill fill = new BufferFill(hash, destination);
        read.whenComplete(fill::fill);
        fill.whenComplete((length, failure) -> read.cancel(false)); // nothing to cancel once the read completed
        return fill;
    }

    /**
     * Copies a whole block into the buffer at its position.
     *
     * @return the block's length.
     * @throws BufferTooSmallException if it does not fit; the buffer is left unchanged.
     */
    static int copy(final Hash hash, final byte[] block, final ByteBuffer destination)
    {
        if (block.length > destination.remaining())
        {
            throw new BufferTooSmallException("GET " + hash + ": block of " + block.length + " bytes does not fit " +
                "the " + destination.remaining() + " remaining in the buffer", block.length, destination.remaining());
        }
        destination.put(block);
        return block.length;
    }

    private void fill(final byte[] block, final Throwable failure)
    {
        if (!settled.compareAndSet(false, true))
        {
            return; // the caller gave up: the buffer is theirs again
        }
        if (failure != null)
        {
            super.completeExceptionally(failure);
            return;
        }
        final int length;
        try
        {
            length = copy(hash, block, destination);
        }
        catch (final RuntimeException ex)
        {
            super.completeExceptionally(ex);
            return;
        }
        super.complete(length);
    }

    @Override
    public boolean complete(final Integer value)
    {
        return settled.compareAndSet(false, true) && super.complete(value);
    }

    @Override
    public boolean completeExceptionally(final Throwable ex)
    {
        return settled.compareAndSet(false, true) && super.completeExceptionally(ex);
    }

    @Override
    public boolean cancel(final boolean mayInterruptIfRunning)
    {
        return settled.compareAndSet(false, true) && super.cancel(mayInterruptIfRunning);
    }
}
