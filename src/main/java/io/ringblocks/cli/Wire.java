package io.ringblocks.cli;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * How the load generator speaks to one kind of server: it writes requests into a connection's send buffer and
 * decodes replies in place from its receive buffer. Everything else — the ring, the connections, pipelining,
 * scheduling, histograms, verification — is the generator's and shared, so ringblocks and Redis are measured by
 * the same client. Implementations are stateless and allocation-free.
 */
interface Wire
{
    /** @return the largest request this wire writes for blocks of {@code size} bytes. */
    int maxRequestLength(int size);

    /** @return true if a PUT must name its block: the client then computes each PUT's SHA-256 key. */
    boolean putNeedsKey();

    /** @return true if replies carry no request id and come back in request order. */
    boolean ordered();

    /**
     * Writes a PUT of {@code block} with its last {@code uniqueLength} bytes replaced by {@code unique}.
     *
     * @param key the 32-byte SHA-256 of that content if {@link #putNeedsKey()}, else ignored.
     */
    void put(ByteBuffer out, long id, byte[] block, byte[] unique, int uniqueLength, byte[] key);

    /** Writes a GET of the block addressed by the 32-byte {@code key}. */
    void get(ByteBuffer out, long id, byte[] key);

    /** Writes a DELETE of the block addressed by the 32-byte {@code key}. */
    void delete(ByteBuffer out, long id, byte[] key);

    /**
     * Decodes the reply that starts at {@code in.position()}, without moving the buffer.
     *
     * @return false if it has not arrived whole yet.
     * @throws IOException if the bytes are not a reply of this protocol (the connection is beyond repair).
     */
    boolean decode(ByteBuffer in, Reply reply) throws IOException;

    /** Appends a readable account of the failed {@code reply}, for the first-error line. Not for the hot path. */
    void describe(ByteBuffer in, Reply reply, StringBuilder out);

    /** One decoded reply: positions into the receive buffer, valid until it is compacted. Reused. */
    final class Reply
    {
        /** The reply's status: {@link #OK}, or a protocol-specific failure. */
        static final int OK = 0;

        /** Bytes the whole reply takes, from the position it was decoded at. */
        int length;
        /** The request slot it answers, or -1 for the oldest request in flight ({@link Wire#ordered()}). */
        int slot;
        int status;
        /** Absolute index and length of its payload: a GET's block, a ringblocks PUT's hash, an error text. */
        int bodyOffset;
        int bodyLength;
    }
}
