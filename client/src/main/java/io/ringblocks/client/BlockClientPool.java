package io.ringblocks.client;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A fixed set of {@link ClientOptions#poolSize()} connections (each an {@link AsyncBlockClient}) shared by many
 * threads. Each request goes to the connection with the fewest requests outstanding, scanning from a rotating
 * start so that ties spread round-robin: a connection stalled behind a large transfer or a slow server stops
 * receiving work while the others drain. A connection that is down counts as half a request more than an idle one
 * that is up, so it is re-established as soon as requests overlap; one the server refused (BUSY), one that failed to
 * reconnect (until its next attempt is due) and one that may not reconnect at all ({@code reconnectAttempts(0)})
 * get requests only when no other could take them, so a busy server is not asked again before
 * {@link ClientOptions#reconnectBackoff()}. Each connection reconnects on its own, as {@link AsyncBlockClient}
 * describes; {@link ClientOptions#maxInFlight()} applies per connection.
 * <p>
 * The blocking operations are on the pool itself; {@link #async()} gives the same operations returning futures.
 * <pre>{@code
 * try (BlockClientPool pool = BlockClientPool.connect(ClientOptions.builder().port(7070).poolSize(8).build()))
 * {
 *     Hash hash = pool.put(block);
 *     CompletableFuture<byte[]> later = pool.async().get(hash);
 * }
 * }</pre>
 */
public final class BlockClientPool extends BlockingOperations
{
    private final AsyncBlockClient[] clients;
    private final AtomicInteger cursor = new AtomicInteger();
    private final AsyncBlockOperations async = new AsyncView();

    private BlockClientPool(final AsyncBlockClient[] clients)
    {
        this.clients = clients;
    }

    /**
     * Opens a pool with default options ({@value ClientOptions#DEFAULT_POOL_SIZE} connections).
     *
     * @param host server host name or address.
     * @param port server TCP port.
     * @return a connected pool.
     * @throws ConnectionLostException if the server cannot be reached within the connect timeout.
     */
    public static BlockClientPool connect(final String host, final int port)
    {
        return connect(ClientOptions.of(host, port));
    }

    /**
     * Opens all {@link ClientOptions#poolSize()} connections eagerly; if one fails, those already open are
     * closed again.
     *
     * @param options client options.
     * @return a connected pool.
     * @throws ConnectionLostException if the server cannot be reached within the connect timeout.
     */
    public static BlockClientPool connect(final ClientOptions options)
    {
        Objects.requireNonNull(options, "options");
        final List<AsyncBlockClient> opened = new ArrayList<>(options.poolSize());
        try
        {
            for (int i = 0; i < options.poolSize(); i++)
            {
                opened.add(AsyncBlockClient.connect(options));
            }
        }
        catch (final RuntimeException ex)
        {
            opened.forEach(AsyncBlockClient::close);
            throw ex;
        }
        return new BlockClientPool(opened.toArray(AsyncBlockClient[]::new));
    }

    /**
     * @return the pool's asynchronous operations, balanced over the same connections; closing it closes the pool.
     */
    public AsyncBlockOperations async()
    {
        return async;
    }

    /**
     * @return the number of connections.
     */
    public int size()
    {
        return clients.length;
    }

    /**
     * @return the number of requests outstanding over all connections.
     */
    public int inFlight()
    {
        int total = 0;
        for (final AsyncBlockClient client : clients)
        {
            total += client.inFlight();
        }
        return total;
    }

    /**
     * Lists stored blocks a page at a time, see {@link AsyncBlockClient#list}.
     *
     * @param after the previous page's {@link ListPage#next()}, or null for the first page.
     * @param limit entries per page, 1..{@link ListPage#MAX_LIMIT}.
     */
    public ListPage list(final Hash after, final int limit)
    {
        Blocking.checkThread();
        return Blocking.await(pick().list(after, limit));
    }

    @Override
    AsyncBlockOperations asyncOperations()
    {
        return async;
    }

    @Override
    public void close()
    {
        for (final AsyncBlockClient client : clients)
        {
            client.close();
        }
    }

    /**
     * Least outstanding requests first, a connection to re-establish counting as half a request more than a connected
     * one with as many (so an idle connected one is preferred, but the pool grows back to its size as soon as
     * requests overlap, after the server dropped its connections); one not to reconnect yet (refused, or a failed
     * round in its backoff) last. Ties are broken by a rotating start index.
     */
    private AsyncBlockClient pick()
    {
        final int n = clients.length;
        final int start = Math.floorMod(cursor.getAndIncrement(), n);
        AsyncBlockClient best = null;
        long bestRank = Long.MAX_VALUE;
        for (int i = 0; i < n && bestRank > 0; i++)
        {
            final AsyncBlockClient candidate = clients[(start + i) % n];
            final int readiness = candidate.readiness();
            final long rank = readiness == 2 ? Long.MAX_VALUE - 1 : 2L * candidate.inFlight() + readiness;
            if (rank < bestRank)
            {
                best = candidate;
                bestRank = rank;
            }
        }
        return best;
    }

    /** The pool's asynchronous face; every call picks a connection, see {@link #pick()}. */
    private final class AsyncView implements AsyncBlockOperations
    {
        @Override
        public CompletableFuture<Hash> put(final byte[] data)
        {
            return pick().put(data);
        }

        @Override
        public CompletableFuture<Hash> put(final ByteBuffer data)
        {
            return pick().put(data);
        }

        @Override
        public CompletableFuture<Hash> put(final byte[] data, final Hash expected)
        {
            return pick().put(data, expected);
        }

        @Override
        public CompletableFuture<byte[]> get(final Hash hash)
        {
            return pick().get(hash);
        }

        @Override
        public CompletableFuture<Integer> get(final Hash hash, final ByteBuffer destination)
        {
            return pick().get(hash, destination);
        }

        @Override
        public CompletableFuture<byte[]> getRange(final Hash hash, final long offset, final int length)
        {
            return pick().getRange(hash, offset, length);
        }

        @Override
        public CompletableFuture<List<Hash>> findMissing(final Collection<Hash> hashes)
        {
            return pick().findMissing(hashes);
        }

        @Override
        public CompletableFuture<OptionalInt> head(final Hash hash)
        {
            return pick().head(hash);
        }

        @Override
        public CompletableFuture<Boolean> delete(final Hash hash)
        {
            return pick().delete(hash);
        }

        @Override
        public CompletableFuture<Map<String, Long>> stats()
        {
            return pick().stats();
        }

        @Override
        public CompletableFuture<Duration> ping()
        {
            return pick().ping();
        }

        @Override
        public void close()
        {
            BlockClientPool.this.close();
        }
    }
}
