package io.ringblocks.client;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;

/**
 * The asynchronous operations of a ringblocks client, implemented by {@link AsyncBlockClient} and by
 * {@link BlockClientPool#async()}. Same semantics as {@link BlockOperations}, but each call returns as soon as
 * its request is queued, and many requests may be outstanding on a connection at once (pipelining).
 * <p>
 * Server and transport failures complete the future exceptionally with the {@link RingblocksException} subtype
 * documented on {@link BlockOperations} (not wrapped; {@code join()} wraps it in a
 * {@link java.util.concurrent.CompletionException} as usual). Argument errors throw directly
 * ({@link NullPointerException}, {@link IllegalArgumentException}) and send nothing.
 * <p>
 * Calls do block in two cases, together at most {@link ClientOptions#requestTimeout()} (then the future fails with
 * a {@link RequestTimeoutException} that was not {@link RequestTimeoutException#sent() sent}): while the
 * connection's {@link ClientOptions#maxInFlight()} slots are all taken, and while re-establishing a dropped
 * connection, or waiting for another caller to.
 * <p>
 * A future completes, and the dependent stages attached to it without an executor run, on one of these threads:
 * <ul>
 *   <li>the connection's reader thread, for a response, and for every request outstanding on the connection when
 *   the reader finds it broken (closed by the server, a read error, a connection-level error, a protocol
 *   violation);</li>
 *   <li>one of a few timeout threads shared by the JVM, for a request that timed out, and for every request
 *   outstanding on a connection closed because it stayed silent;</li>
 *   <li>the connection's writer thread, for every request outstanding when a write fails;</li>
 *   <li>the thread that calls {@link #close()}, for every request outstanding then;</li>
 *   <li>the calling thread, for a request that fails before it is sent (no in-flight slot, no connection, a closed
 *   client): the future is returned already completed, so stages attached to it run at once, in the caller;</li>
 *   <li>the thread of a caller that cancels or completes the future itself;</li>
 *   <li>for {@link ClusterClient}, also its own virtual threads, which send to members and walk a read's
 *   candidates.</li>
 * </ul>
 * Such stages must not block, or every response of that connection (or other callers' timeouts) waits for them; use
 * the {@code ...Async} stage methods for slow work. A future the caller cancels or completes itself gives its
 * in-flight slot back at once. Blocking client calls made from a stage on a reader, writer or timeout thread fail
 * with {@link IllegalStateException}, and asynchronous ones made there wait neither for in-flight slots nor for
 * another caller's reconnect, and make at most one connect attempt, without a pause (the cluster's virtual threads
 * are not such threads: one is started per task, and they may wait).
 */
public interface AsyncBlockOperations extends AutoCloseable
{
    /**
     * Stores a block. See {@link BlockOperations#put(byte[])}.
     *
     * @param data the block, 1..{@link ClientOptions#maxBlockSize()} bytes; sent without copying, so it must not
     *             change until the future completes.
     * @return the block's address.
     */
    CompletableFuture<Hash> put(byte[] data);

    /**
     * Stores the remaining bytes of a buffer. See {@link BlockOperations#put(ByteBuffer)}.
     *
     * @param data the block; a heap buffer is sent without copying, so its content must not change until the
     *             future completes. Position and limit are left unchanged.
     * @return the block's address.
     */
    CompletableFuture<Hash> put(ByteBuffer data);

    /**
     * Stores a block only if the server finds it hashes to {@code expected}. See
     * {@link BlockOperations#put(byte[], Hash)}.
     *
     * @param data     the block; must not change until the future completes.
     * @param expected the address the caller believes the block has.
     * @return {@code expected}.
     */
    CompletableFuture<Hash> put(byte[] data, Hash expected);

    /**
     * Reads a whole block, verified unless {@link ClientOptions#verifyGets()} is off. See
     * {@link BlockOperations#get(Hash)}.
     *
     * @param hash the block's address.
     * @return the block's bytes.
     */
    CompletableFuture<byte[]> get(Hash hash);

    /**
     * Reads a whole block into the caller's buffer. See {@link BlockOperations#get(Hash, ByteBuffer)}.
     *
     * @param hash        the block's address.
     * @param destination writable buffer; written (and its position advanced) by a client thread just before the
     *                    future completes, so the caller must not touch it until then. A caller that gives up
     *                    first, cancelling or completing the future (for example by {@code orTimeout}), gets the
     *                    buffer back unwritten: it is then never written.
     * @return the block's length.
     */
    CompletableFuture<Integer> get(Hash hash, ByteBuffer destination);

    /**
     * Reads part of a block, not verified. See {@link BlockOperations#getRange(Hash, long, int)}.
     *
     * @param hash   the block's address.
     * @param offset first byte.
     * @param length number of bytes, 0 for "to the end".
     * @return the bytes.
     */
    CompletableFuture<byte[]> getRange(Hash hash, long offset, int length);

    /**
     * Asks for a block's length. See {@link BlockOperations#head(Hash)}.
     *
     * @param hash the block's address.
     * @return the length, or empty if there is no such block.
     */
    CompletableFuture<OptionalInt> head(Hash hash);

    /**
     * Removes a block. See {@link BlockOperations#delete(Hash)}.
     *
     * @param hash the block's address.
     * @return true if removed, false if there was no such block.
     */
    CompletableFuture<Boolean> delete(Hash hash);

    /**
     * Which of {@code hashes} are not stored. See {@link BlockOperations#findMissing(java.util.Collection)}.
     *
     * @return the missing ones, in the order given.
     */
    CompletableFuture<List<Hash>> findMissing(Collection<Hash> hashes);

    /**
     * Reads the server's metrics. See {@link BlockOperations#stats()}.
     *
     * @return metric name to value, unmodifiable.
     */
    CompletableFuture<Map<String, Long>> stats();

    /**
     * Round-trips an empty request. See {@link BlockOperations#ping()}.
     *
     * @return the time from the call to the response.
     */
    CompletableFuture<Duration> ping();

    /**
     * Closes the connection(s); outstanding requests fail with {@link ConnectionLostException}, and a reconnect in
     * progress stops (its request fails with {@link IllegalStateException}) rather than being waited for. Idempotent.
     */
    @Override
    void close();
}
