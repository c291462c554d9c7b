package io.ringblocks.client;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;

/**
 * The blocking operations of a ringblocks client, implemented by {@link BlockClient} (one connection) and
 * {@link BlockClientPool} (several). Every method is thread-safe and waits for its response, at most about
 * {@link ClientOptions#requestTimeout()}, which includes any wait for an in-flight slot and for re-establishing a
 * dropped connection (a request that ran out of time before it was sent fails with a
 * {@link RequestTimeoutException} whose {@link RequestTimeoutException#sent()} is false).
 * <p>
 * Failures are unchecked {@link RingblocksException}s; besides the ones listed per method, any call may throw
 * {@link ConnectionLostException}, {@link RequestTimeoutException}, {@link ServerBusyException},
 * {@link ServerErrorException} or {@link ProtocolException}. Argument errors ({@code null}, a payload that is
 * empty or above {@link ClientOptions#maxBlockSize()}, a negative range) throw {@link NullPointerException} or
 * {@link IllegalArgumentException} before anything is sent. Calling after {@link #close()} throws
 * {@link IllegalStateException}, as does calling from a callback running on a client library thread (which would
 * wait for itself).
 */
public interface BlockOperations extends AutoCloseable
{
    /**
     * Stores a block; idempotent, storing the same content twice keeps one block. With
     * {@link ClientOptions#verifyPuts()} (the default) the address is computed here too and sent along, so the server
     * stores the block only if what it received hashes to it.
     *
     * @param data the block, 1..{@link ClientOptions#maxBlockSize()} bytes; must not change during the call.
     * @return its address, as computed by the server (and here, when verifying).
     * @throws NoSpaceException       if the store is full and the block is new.
     * @throws BlockTooLargeException if the block is above the server's maximum block size: a misconfiguration, as
     *                                {@link ClientOptions#maxBlockSize()} must not exceed the server's. Nothing was
     *                                stored. Such a PUT's frame is usually above the server's frame limit too, which
     *                                the server answers by closing the connection (FRAME_TOO_LARGE), so the other
     *                                requests outstanding on it fail with {@link ConnectionLostException}.
     * @throws HashMismatchException  when the bytes the server received were not these (nothing was stored).
     */
    Hash put(byte[] data);

    /**
     * Stores the bytes between the buffer's position and limit, leaving position and limit unchanged. A heap
     * buffer is sent without copying; other buffers are copied once.
     *
     * @param data the block, 1..{@link ClientOptions#maxBlockSize()} remaining bytes.
     * @return its address, as computed by the server.
     * @throws NoSpaceException       if the store is full and the block is new.
     * @throws BlockTooLargeException if the block is above the server's maximum block size, see {@link #put(byte[])}.
     */
    Hash put(ByteBuffer data);

    /**
     * Stores a block only if it hashes to {@code expected}, checked by the server (VERIFY_HASH), so bytes
     * corrupted between the caller's hashing and the server's disk are never stored under a wrong address.
     *
     * @param data     the block, 1..{@link ClientOptions#maxBlockSize()} bytes.
     * @param expected the address the caller believes the block has.
     * @return {@code expected}.
     * @throws HashMismatchException if the server computed a different hash; nothing was stored.
     * @throws NoSpaceException      if the store is full and the block is new.
     * @throws BlockTooLargeException if the block is above the server's maximum block size, see {@link #put(byte[])}.
     */
    Hash put(byte[] data, Hash expected);

    /**
     * Reads a whole block. Unless {@link ClientOptions#verifyGets()} is off, the bytes are checked against
     * {@code hash} before they are returned.
     *
     * @param hash the block's address.
     * @return the block's bytes (a fresh array owned by the caller).
     * @throws NotFoundException  if there is no such block.
     * @throws CorruptBlockException if the server's copy failed its checksum (nothing of it was sent).
     * @throws IntegrityException if the bytes received do not hash to {@code hash}.
     */
    byte[] get(Hash hash);

    /**
     * Reads a whole block into the caller's buffer at its position, advancing the position by the block's
     * length. Verified like {@link #get(Hash)}. The block is received into a temporary array and copied into the
     * buffer on the calling thread, so the buffer is never written after the call returned (interrupted included).
     *
     * @param hash        the block's address.
     * @param destination writable buffer; must not be used by others during the call.
     * @return the block's length.
     * @throws BufferTooSmallException if the block is longer than {@code destination.remaining()}; the buffer is
     *                                 unchanged and the connection stays usable.
     * @throws NotFoundException       if there is no such block.
     * @throws CorruptBlockException   if the server's copy failed its checksum (nothing of it was sent).
     * @throws IntegrityException      if the bytes received do not hash to {@code hash}.
     */
    int get(Hash hash, ByteBuffer destination);

    /**
     * Reads part of a block. <b>Not verified</b>: a range cannot be checked against the hash of the whole block;
     * callers that need integrity read the whole block.
     *
     * @param hash   the block's address.
     * @param offset first byte, {@code 0 <= offset < blockLength}.
     * @param length number of bytes, or 0 for "to the end of the block"; {@code offset + length <= blockLength}.
     * @return the bytes.
     * @throws NotFoundException if there is no such block (checked before the range).
     * @throws CorruptBlockException if the server's copy failed its checksum (the whole block is checked).
     * @throws BadRangeException if the range is not inside the block.
     */
    byte[] getRange(Hash hash, long offset, int length);

    /**
     * Asks for a block's length without transferring it.
     *
     * @param hash the block's address.
     * @return the block's length, or empty if there is no such block.
     */
    OptionalInt head(Hash hash);

    /**
     * Removes a block.
     *
     * @param hash the block's address.
     * @return true if the block was removed, false if there was no such block.
     */
    boolean delete(Hash hash);

    /**
     * Asks which of many blocks are not stored, without transferring any (a build cache's "find missing blobs"):
     * sent as FIND_MISSING requests of up to 127 hashes each, pipelined.
     *
     * @param hashes the addresses to check; duplicates are answered for each occurrence.
     * @return the ones that are not stored, in the order given.
     */
    List<Hash> findMissing(Collection<Hash> hashes);

    /**
     * Reads the server's metrics. Their names and set are not part of the protocol.
     *
     * @return metric name to value, in the server's order; unmodifiable.
     */
    Map<String, Long> stats();

    /**
     * Round-trips an empty request, to check liveness or measure latency.
     *
     * @return the time from the call to the response, including any wait for an in-flight slot or a reconnect.
     */
    Duration ping();

    /**
     * Closes the connection(s); outstanding requests fail with {@link ConnectionLostException}, and a reconnect in
     * progress stops (its request fails with {@link IllegalStateException}) rather than being waited for. Idempotent.
     */
    @Override
    void close();
}
