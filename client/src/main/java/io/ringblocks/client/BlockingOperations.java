package io.ringblocks.client;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalInt;

/**
 * The blocking operations written once over the asynchronous ones: each call refuses to run on a client thread
 * (it would wait for itself) and waits for its future, rethrowing the failure unwrapped ({@link Blocking}).
 */
abstract class BlockingOperations implements BlockOperations
{
    /** @return the asynchronous operations these block on. */
    abstract AsyncBlockOperations asyncOperations();

    /** {@inheritDoc} */
    @Override
    public Hash put(final byte[] data)
    {
        Blocking.checkThread();
        return Blocking.await(asyncOperations().put(data));
    }

    /** {@inheritDoc} */
    @Override
    public Hash put(final ByteBuffer data)
    {
        Blocking.checkThread();
        return Blocking.await(asyncOperations().put(data));
    }

    /** {@inheritDoc} */
    @Override
    public Hash put(final byte[] data, final Hash expected)
    {
        Blocking.checkThread();
        return Blocking.await(asyncOperations().put(data, expected));
    }

    /** {@inheritDoc} */
    @Override
    public byte[] get(final Hash hash)
    {
        Blocking.checkThread();
        return Blocking.await(asyncOperations().get(hash));
    }

    /** {@inheritDoc} */
    @Override
    public int get(final Hash hash, final ByteBuffer destination)
    {
        Objects.requireNonNull(hash, "hash");
        Objects.requireNonNull(destination, "destination");
        if (destination.isReadOnly())
        {
            throw new IllegalArgumentException("destination buffer is read-only");
        }
        Blocking.checkThread();
        // Copied here, on the caller's thread: a client thread never writes the buffer after this call returned.
        return BufferFill.copy(hash, Blocking.await(asyncOperations().get(hash)), destination);
    }

    /** {@inheritDoc} */
    @Override
    public byte[] getRange(final Hash hash, final long offset, final int length)
    {
        Blocking.checkThread();
        return Blocking.await(asyncOperations().getRange(hash, offset, length));
    }

    /** {@inheritDoc} */
    @Override
    public OptionalInt head(final Hash hash)
    {
        Blocking.checkThread();
        return Blocking.await(asyncOperations().head(hash));
    }

    /** {@inheritDoc} */
    @Override
    public boolean delete(final Hash hash)
    {
        Blocking.checkThread();
        return Blocking.await(asyncOperations().delete(hash));
    }

    /** {@inheritDoc} */
    @Override
    public List<Hash> findMissing(final Collection<Hash> hashes)
    {
        Blocking.checkThread();
        return Blocking.await(asyncOperations().findMissing(hashes));
    }

    /** {@inheritDoc} */
    @Override
    public Map<String, Long> stats()
    {
        Blocking.checkThread();
        return Blocking.await(asyncOperations().stats());
    }

    /** {@inheritDoc} */
    @Override
    public Duration ping()
    {
        Blocking.checkThread();
        return Blocking.await(asyncOperations().ping());
    }
}
