package io.ringblocks.client;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongFunction;

import io.ringblocks.wire.Protocol;

/**
 * A pipelining client over one TCP connection: any number of threads may call it concurrently, up to
 * {@link ClientOptions#maxInFlight()} requests are outstanding at once, and responses are matched to requests by
 * id, so the server may answer them in any order. See {@link AsyncBlockOperations} for the threading contract.
 * <p>
 * When the connection drops, the requests outstanding on it fail with {@link ConnectionLostException} (their
 * outcome is unknown), and the next request reconnects transparently: up to
 * {@link ClientOptions#reconnectAttempts()} attempts, pausing {@link ClientOptions#reconnectBackoff()} before the
 * second and doubling after (at most 2 s), in the calling thread, while concurrent callers wait for it. All of it
 * happens within the request's own {@link ClientOptions#requestTimeout()}: a request whose timeout runs out while
 * it reconnects, or waits for another caller's reconnect, fails with a {@link RequestTimeoutException} whose
 * {@link RequestTimeoutException#sent()} is false. If all attempts fail, that request fails with
 * {@link ConnectionLostException}, and so does every request made until the pause the next attempt would have
 * waited for has passed: they share that failure at once instead of each trying again. Then the next request
 * tries again. A connection the server refused (BUSY: at its connection limit) is not re-established before
 * {@link ClientOptions#reconnectBackoff()} has passed: until then requests fail at once, unsent, with
 * {@link ServerBusyException}.
 * <pre>{@code
 * try (AsyncBlockClient client = AsyncBlockClient.connect("127.0.0.1", 7070))
 * {
 *     List<CompletableFuture<Hash>> puts = blocks.stream().map(client::put).toList();
 *     CompletableFuture.allOf(puts.toArray(CompletableFuture[]::new)).join();
 * }
 * }</pre>
 */
public final class AsyncBlockClient implements AsyncBlockOperations
{
    private static final long MAX_BACKOFF_NANOS = TimeUnit.SECONDS.toNanos(2);

    private final ClientOptions options;
    private final Semaphore permits;
    private final AtomicLong requestIds = new AtomicLong();
    private final String timeoutText;
    /** Held while reconnecting: waited for with a deadline, so no caller waits longer than its own timeout. */
    private final ReentrantLock connectLock = new ReentrantLock();
    private volatile Connection connection;
    private volatile boolean closed;
    /** The last reconnect round's failure, which every request shares until {@link #retryNotBeforeNanos}. */
    private volatile ConnectionLostException lastFailure;
    private volatile long retryNotBeforeNanos;
    /** Counted down by {@link #close()}, to wake a reconnect pausing between attempts. */
    private final CountDownLatch closing = new CountDownLatch(1);

    private AsyncBlockClient(final ClientOptions options)
    {
        this.options = options;
        this.permits = new Semaphore(options.maxInFlight());
        this.timeoutText = options.requestTimeout().toString();
    }

    /**
     * Connects to a server with default options.
     *
     * @param host server host name or address.
     * @param port server TCP port.
     * @return a connected client.
     * @throws ConnectionLostException if the server cannot be reached within the connect timeout.
     */
    public static AsyncBlockClient connect(final String host, final int port)
    {
        return connect(ClientOptions.of(host, port));
    }

    /**
     * Connects to a server. The first connection is made once, eagerly, so that a wrong address fails here
     * rather than at the first request; reconnect attempts apply only to later drops.
     *
     * @param options client options.
     * @return a connected client.
     * @throws ConnectionLostException if the server cannot be reached within the connect timeout.
     */
    public static AsyncBlockClient connect(final ClientOptions options)
    {
        Objects.requireNonNull(options, "options");
        final AsyncBlockClient client = new AsyncBlockClient(options);
        try
        {
            client.connection = Connection.open(options, client.permits, options.connectTimeoutMillis());
        }
        catch (final IOException ex)
        {
            throw new ConnectionLostException("cannot connect to " + options.host() + ":" + options.port() + ": " +
                ex, ex);
        }
        return client;
    }

    /**
     * @return the options this client was created with.
     */
    public ClientOptions options()
    {
        return options;
    }

    /**
     * @return the number of requests currently outstanding (sent or queued, awaiting a response); what
     * {@link BlockClientPool} balances on.
     */
    public int inFlight()
    {
        return options.maxInFlight() - permits.availablePermits();
    }

    /** @return true while the client has an open connection (a closed one is replaced by the next request). */
    boolean connected()
    {
        final Connection current = connection;
        return current != null && current.isOpen();
    }

    /**
     * @return how ready the client is to take a request, best first: 0 connected, 1 to reconnect first, 2 not to
     * reconnect now (the server refused the connection, or a reconnect round failed, too recently; or no reconnect
     * attempts at all): what {@link BlockClientPool} ranks its connections by, together with their load.
     */
    int readiness()
    {
        if (connected())
        {
            return 0;
        }
        // Without reconnect attempts a lost connection never comes back: like one not to reconnect yet, for ever.
        return options.reconnectAttempts() == 0 ||
            lastFailure != null && retryNotBeforeNanos - System.nanoTime() > 0 || refusedRecently(connection) ? 2 : 1;
    }

    /** {@inheritDoc} */
    @Override
    public CompletableFuture<Hash> put(final byte[] data)
    {
        Objects.requireNonNull(data, "data");
        checkPayload(data.length);
        return put(data, 0, data.length);
    }

    /** {@inheritDoc} */
    @Override
    public CompletableFuture<Hash> put(final ByteBuffer data)
    {
        Objects.requireNonNull(data, "data");
        final int length = data.remaining();
        checkPayload(length);
        final byte[] array;
        final int offset;
        if (data.hasArray())
        {
            array = data.array();
            offset = data.arrayOffset() + data.position();
        }
        else
        {
            array = new byte[length];
            data.get(data.position(), array);
            offset = 0;
        }
        return put(array, offset, length);
    }

    /** A PUT of {@code length} bytes of {@code array}; with {@link ClientOptions#verifyPuts()}, of their hash too. */
    private CompletableFuture<Hash> put(final byte[] array, final int offset, final int length)
    {
        if (!options.verifyPuts())
        {
            return submit(Wire.PUT, id -> Wire.put(id, length), array, offset, length, Responses.put(null));
        }
        final MessageDigest digest = Hash.sha256();
        digest.update(array, offset, length);
        final Hash expected = Hash.fromBytes(digest.digest());
        return submit(Wire.PUT, id -> Wire.putVerified(id, expected, length), array, offset, length,
            Responses.put(expected));
    }

    /** {@inheritDoc} */
    @Override
    public CompletableFuture<Hash> put(final byte[] data, final Hash expected)
    {
        Objects.requireNonNull(data, "data");
        Objects.requireNonNull(expected, "expected");
        checkPayload(data.length);
        return submit(Wire.PUT, id -> Wire.putVerified(id, expected, data.length), data, 0, data.length,
            Responses.put(expected));
    }

    /** {@inheritDoc} */
    @Override
    public CompletableFuture<byte[]> get(final Hash hash)
    {
        Objects.requireNonNull(hash, "hash");
        return submit(Wire.GET, id -> Wire.hashOnly(Wire.GET, id, hash), null, 0, 0,
            Responses.get(hash, options.verifyGets()));
    }

    /** {@inheritDoc} */
    @Override
    public CompletableFuture<Integer> get(final Hash hash, final ByteBuffer destination)
    {
        Objects.requireNonNull(destination, "destination");
        if (destination.isReadOnly())
        {
            throw new IllegalArgumentException("destination buffer is read-only");
        }
        return BufferFill.into(hash, destination, get(hash));
    }

    /** {@inheritDoc} */
    @Override
    public CompletableFuture<byte[]> getRange(final Hash hash, final long offset, final int length)
    {
        Objects.requireNonNull(hash, "hash");
        // Bounded by the protocol, not by this client's PUT limit: another client may have stored a larger block.
        if (offset < 0 || offset >= Protocol.MAX_BLOCK_SIZE)
        {
            throw new IllegalArgumentException("offset must be 0.." + (Protocol.MAX_BLOCK_SIZE - 1) + ": " + offset);
        }
        if (length < 0 || length > Protocol.MAX_BLOCK_SIZE)
        {
            throw new IllegalArgumentException("length must be 0.." + Protocol.MAX_BLOCK_SIZE + ": " + length);
        }
        return submit(Wire.GET, id -> Wire.getRange(id, hash, offset, length), null, 0, 0,
            Responses.getRange(hash, offset, length));
    }

    /** {@inheritDoc} */
    @Override
    public CompletableFuture<OptionalInt> head(final Hash hash)
    {
        Objects.requireNonNull(hash, "hash");
        return submit(Wire.HEAD, id -> Wire.hashOnly(Wire.HEAD, id, hash), null, 0, 0, Responses.head(hash));
    }

    /** {@inheritDoc} */
    @Override
    public CompletableFuture<Boolean> delete(final Hash hash)
    {
        Objects.requireNonNull(hash, "hash");
        return submit(Wire.DELETE, id -> Wire.hashOnly(Wire.DELETE, id, hash), null, 0, 0, Responses.delete(hash));
    }

    /** {@inheritDoc} */
    @Override
    public CompletableFuture<List<Hash>> findMissing(final Collection<Hash> hashes)
    {
        final List<Hash> all = List.copyOf(hashes);
        if (all.isEmpty())
        {
            return CompletableFuture.completedFuture(List.of());
        }
        final int chunks = (all.size() + Wire.MAX_FIND_MISSING - 1) / Wire.MAX_FIND_MISSING;
        @SuppressWarnings({"unchecked", "rawtypes"}) // a generic array: each element is set to such a future below
        final CompletableFuture<List<Hash>>[] parts = new CompletableFuture[chunks];
        for (int c = 0; c < chunks; c++)
        {
            final int from = c * Wire.MAX_FIND_MISSING;
            final int to = Math.min(all.size(), from + Wire.MAX_FIND_MISSING);
            parts[c] = submit(Wire.FIND_MISSING, id -> Wire.findMissing(id, all, from, to), null, 0, 0,
                Responses.findMissing(all.subList(from, to)));
        }
        final CompletableFuture<List<Hash>> result = CompletableFuture.allOf(parts).thenApply(v ->
        {
            final List<Hash> missing = new ArrayList<>();
            for (final CompletableFuture<List<Hash>> part : parts)
            {
                missing.addAll(part.join());
            }
            return Collections.unmodifiableList(missing);
        });
        forwardCancel(result, parts);
        return result;
    }

    /** A caller cancelling {@code result} cancels the requests it is made of, which frees their in-flight slots. */
    private static void forwardCancel(final CompletableFuture<?> result, final CompletableFuture<?>... requests)
    {
        result.whenComplete((value, error) ->
        {
            if (result.isCancelled())
            {
                for (final CompletableFuture<?> request : requests)
                {
                    request.cancel(false);
                }
            }
        });
    }

    /**
     * Lists stored blocks in ascending hash order, one page at a time: every block whose PUT was acknowledged
     * before the request, none whose DELETE was.
     *
     * @param after the cursor: the previous page's {@link ListPage#next()}, or null for the first page.
     * @param limit entries per page, 1..{@link ListPage#MAX_LIMIT}.
     * @return the page.
     */
    public CompletableFuture<ListPage> list(final Hash after, final int limit)
    {
        if (limit < 1 || limit > Wire.MAX_LIST_LIMIT)
        {
            throw new IllegalArgumentException("limit must be 1.." + Wire.MAX_LIST_LIMIT + ": " + limit);
        }
        return submit(Wire.LIST, id -> Wire.list(id, after, limit), null, 0, 0, Responses.list(after, limit));
    }

    /** {@inheritDoc} */
    @Override
    public CompletableFuture<Map<String, Long>> stats()
    {
        return submit(Wire.STATS, id -> Wire.empty(Wire.STATS, id), null, 0, 0, Responses.stats());
    }

    /** {@inheritDoc} */
    @Override
    public CompletableFuture<Duration> ping()
    {
        final long start = System.nanoTime();
        return submit(Wire.PING, id -> Wire.empty(Wire.PING, id), null, 0, 0, (status, body) ->
        {
            if (status != StatusCode.OK)
            {
                throw Responses.error(status, "PING");
            }
            return Duration.ofNanos(System.nanoTime() - start);
        });
    }

    /** {@inheritDoc} */
    @Override
    public void close()
    {
        closed = true;
        closing.countDown();
        // Not under connectLock: closing fails the outstanding futures, whose callers' stages run right here, and a
        // reconnect holding the lock must not hold up the close. A connection it opens after this read sees closed.
        final Connection current = connection;
        if (current != null)
        {
            current.close("client closed", null);
        }
    }

    private void checkPayload(final int length)
    {
        if (length == 0)
        {
            throw new IllegalArgumentException("a block must not be empty");
        }
        if (length > options.maxBlockSize())
        {
            throw new IllegalArgumentException("block of " + length + " bytes exceeds maxBlockSize " +
                options.maxBlockSize());
        }
    }

    private <T> CompletableFuture<T> submit(
        final int opcode,
        final LongFunction<byte[]> frame,
        final byte[] payload,
        final int payloadOffset,
        final int payloadLength,
        final Pending.Decoder<T> decoder)
    {
        final long start = System.nanoTime();
        if (closed)
        {
            return CompletableFuture.failedFuture(new IllegalStateException("client is closed"));
        }
        final long timeoutNanos = options.requestTimeoutNanos();
        try
        {
            // On a client thread waiting would stall the very reader that frees slots: fail fast instead.
            final boolean acquired = Connection.isClientThread() ?
                permits.tryAcquire() : permits.tryAcquire(timeoutNanos, TimeUnit.NANOSECONDS);
            if (!acquired)
            {
                return CompletableFuture.failedFuture(new RequestTimeoutException(Wire.opcodeName(opcode) +
                    ": all " + options.maxInFlight() + " in-flight slots stayed taken for " + timeoutText, false));
            }
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            return CompletableFuture.failedFuture(
                new RingblocksException("interrupted while waiting for an in-flight slot", ex));
        }
        final Connection current;
        try
        {
            current = connection(opcode, start, timeoutNanos);
        }
        catch (final RuntimeException ex)
        {
            permits.release();
            return CompletableFuture.failedFuture(ex);
        }
        final long remaining = timeoutNanos - (System.nanoTime() - start);
        if (remaining <= 0)
        {
            // Queued with no time left it would only time out unsent, yet count as sent (outcome unknown).
            permits.release();
            return CompletableFuture.failedFuture(timedOutUnsent(opcode, null));
        }
        long id = requestIds.incrementAndGet();
        if (id == 0)
        {
            id = requestIds.incrementAndGet(); // 0 is the id of connection-level errors
        }
        final Pending<T> request = new Pending<>(id, opcode, frame.apply(id), payload, payloadOffset, payloadLength,
            decoder);
        current.send(request, remaining, timeoutText);
        return request.future;
    }

    /**
     * The open connection, re-established first if it was lost, all within the request's timeout (which started at
     * {@code start}).
     *
     * @throws ConnectionLostException  if reconnecting failed, now or in a round that failed so recently that the
     *                                  next attempt is not due yet.
     * @throws RequestTimeoutException  (not sent) if the timeout ran out first.
     */
    private Connection connection(final int opcode, final long start, final long timeoutNanos)
    {
        final Connection current = connection;
        if (current != null && current.isOpen())
        {
            return current;
        }
        failIfReconnectNotDue(current);
        try
        {
            // A client library thread (a callback) must not wait for another caller's reconnect: the responses of
            // its own connection, or other clients' timeouts, would wait with it.
            final boolean locked = Connection.isClientThread() ? connectLock.tryLock() :
                connectLock.tryLock(timeoutNanos - (System.nanoTime() - start), TimeUnit.NANOSECONDS);
            if (!locked)
            {
                throw timedOutUnsent(opcode, null);
            }
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new RingblocksException("interrupted while waiting for a reconnect; nothing was sent", ex);
        }
        try
        {
            if (closed)
            {
                throw new IllegalStateException("client is closed");
            }
            if (connection != null && connection.isOpen())
            {
                return connection;
            }
            failIfReconnectNotDue(connection); // the round this caller waited for just failed
            return reconnect(opcode, start, timeoutNanos);
        }
        finally
        {
            connectLock.unlock();
        }
    }

    /**
     * Fails the request if it is too early to reconnect: a failed reconnect round's outcome is shared until the next
     * attempt is due, so that callers do not queue up for it; a server that refused the connection (BUSY) is not
     * asked again before {@link ClientOptions#reconnectBackoff()} has passed.
     */
    private void failIfReconnectNotDue(final Connection lost)
    {
        final ConnectionLostException failure = lastFailure;
        final long untilNanos = retryNotBeforeNanos - System.nanoTime();
        if (failure != null && untilNanos > 0)
        {
            throw new ConnectionLostException(failure.getMessage() + "; the next attempt is due in " +
                TimeUnit.NANOSECONDS.toMillis(untilNanos) + " ms", failure);
        }
        if (refusedRecently(lost))
        {
            throw new ServerBusyException("server " + options.host() + ":" + options.port() + " refused the " +
                "connection (BUSY) " + TimeUnit.NANOSECONDS.toMillis(lost.closedForNanos()) + " ms ago; not " +
                "reconnecting before " + options.reconnectBackoff() + " has passed. Nothing was sent, retry later");
        }
    }

    private boolean refusedRecently(final Connection lost)
    {
        return lost != null && lost.refused() &&
            lost.closedForNanos() < ClientOptions.saturatedNanos(options.reconnectBackoff());
    }

    /** One round of reconnect attempts, under {@link #connectLock}, cut short where the request's timeout ends. */
    private Connection reconnect(final int opcode, final long start, final long timeoutNanos)
    {
        IOException last = null;
        boolean lastShortened = false;
        long backoffNanos = Math.min(MAX_BACKOFF_NANOS, ClientOptions.saturatedNanos(options.reconnectBackoff()));
        for (int attempt = 0; attempt < options.reconnectAttempts(); attempt++)
        {
            if (attempt > 0)
            {
                // A client library thread makes one attempt, never a pause: its connection's responses wait on it.
                if (backoffNanos >= timeoutNanos - (System.nanoTime() - start) || Connection.isClientThread())
                {
                    throw cutShort(opcode, lastShortened ? null : last, last, backoffNanos);
                }
                pause(backoffNanos);
                backoffNanos = Math.min(MAX_BACKOFF_NANOS, backoffNanos * 2);
            }
            final long leftNanos = timeoutNanos - (System.nanoTime() - start);
            if (leftNanos <= 0)
            {
                throw cutShort(opcode, lastShortened ? null : last, last, backoffNanos);
            }
            final int connectMillis = connectTimeoutMillis(leftNanos);
            try
            {
                return install(Connection.open(options, permits, connectMillis));
            }
            catch (final IOException ex)
            {
                last = ex;
                // A connect that timed out only because the request's time was short says nothing of the server.
                lastShortened = ex instanceof java.net.SocketTimeoutException &&
                    connectMillis < options.connectTimeoutMillis();
            }
        }
        final ConnectionLostException failed = new ConnectionLostException("connection to " + options.host() + ":" +
            options.port() + " lost and not re-established after " + options.reconnectAttempts() + " attempts" +
            (last == null ? "" : ": " + last), last);
        if (options.reconnectAttempts() > 0) // with none, there is no next attempt to wait for
        {
            retryNotBeforeNanos = System.nanoTime() + backoffNanos;
            lastFailure = failed;
        }
        throw failed;
    }

    /**
     * Makes a new connection the client's. {@link #close()} sets {@code closed} before it reads {@code connection},
     * and this writes {@code connection} before it reads {@code closed}, so one of the two closes it.
     */
    private Connection install(final Connection fresh)
    {
        connection = fresh;
        lastFailure = null;
        if (closed)
        {
            fresh.close("client closed", null);
            throw new IllegalStateException("client is closed");
        }
        return fresh;
    }

    /** The connect timeout, shortened to what is left of the request's timeout. */
    private int connectTimeoutMillis(final long leftNanos)
    {
        final long leftMillis = Math.max(1, TimeUnit.NANOSECONDS.toMillis(leftNanos));
        return (int)Math.min(options.connectTimeoutMillis(), leftMillis);
    }

    /** A request that ran out of time before it was sent, waiting for a slot or for the connection. */
    private RequestTimeoutException timedOutUnsent(final int opcode, final IOException lastConnectFailure)
    {
        return new RequestTimeoutException(Wire.opcodeName(opcode) + ": not sent; its timeout of " + timeoutText +
            " ran out waiting for an in-flight slot or for the connection to " + options.host() + ":" +
            options.port() + " to be re-established" +
            (lastConnectFailure == null ? "" : " (last attempt: " + lastConnectFailure + ")"), false,
            lastConnectFailure);
    }

    /**
     * A reconnect round the request's timeout cut short: when an attempt failed in a way that tells of the server
     * ({@code telling}: refused, unreachable, or a connect that had its whole timeout), its outcome is shared like a
     * whole failed round's ({@link #failIfReconnectNotDue}), so that the callers behind this one do not each try again,
     * and is the timeout's cause; a connect that only had what was left of the request's time is neither.
     */
    private RequestTimeoutException cutShort(final int opcode, final IOException telling, final IOException last,
        final long backoffNanos)
    {
        if (telling != null)
        {
            retryNotBeforeNanos = System.nanoTime() + backoffNanos;
            lastFailure = new ConnectionLostException("connection to " + options.host() + ":" + options.port() +
                " lost and not re-established within a request's timeout: " + telling, telling);
        }
        final RequestTimeoutException timedOut = timedOutUnsent(opcode, telling);
        if (telling == null && last != null)
        {
            timedOut.addSuppressed(last); // kept for the reader, but not as the cause that marks a member down
        }
        return timedOut;
    }

    /** The pause between reconnect attempts, which {@link #close()} cuts short: closing never waits for a reconnect. */
    private void pause(final long nanos)
    {
        try
        {
            if (closing.await(Math.min(nanos, MAX_BACKOFF_NANOS), TimeUnit.NANOSECONDS))
            {
                throw new IllegalStateException("client is closed");
            }
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new RingblocksException("interrupted while reconnecting; nothing was sent", ex);
        }
    }
}
