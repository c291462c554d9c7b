package io.ringblocks.client;

import java.util.List;

import io.ringblocks.wire.Flags;
import io.ringblocks.wire.Opcode;
import io.ringblocks.wire.Protocol;

/**
 * Protocol version 1 framing for the client, over the one wire-format definition in {@link io.ringblocks.wire}
 * (plain JDK, part of this library). Requests are built as one small header array (the 16-byte frame header plus
 * any fixed-size body part: a hash, a range) followed by an optional payload array written as is, so a PUT never
 * copies its block. Layout: {@link Protocol}.
 */
final class Wire
{
    static final int VERSION = Protocol.VERSION;
    static final int HEADER_LENGTH = Protocol.HEADER_LENGTH;
    /** Bytes of the header counted by the length field (everything after it). */
    static final int LENGTH_COUNTED_HEADER = Protocol.MIN_LENGTH;
    static final int HASH_LENGTH = Protocol.HASH_LENGTH;
    static final int HEAD_BODY_LENGTH = Protocol.HEAD_BODY_LENGTH;

    static final int NONE = Opcode.NONE;
    static final int PING = Opcode.PING;
    static final int PUT = Opcode.PUT;
    static final int GET = Opcode.GET;
    static final int HEAD = Opcode.HEAD;
    static final int DELETE = Opcode.DELETE;
    static final int STATS = Opcode.STATS;
    static final int LIST = Opcode.LIST;
    static final int FIND_MISSING = Opcode.FIND_MISSING;
    /** Most hashes per FIND_MISSING request (protocol-spec, section 5.8). */
    static final int MAX_FIND_MISSING = Protocol.MAX_FIND_MISSING;
    /** Most entries per LIST page (protocol-spec, section 5.7). */
    static final int MAX_LIST_LIMIT = Protocol.MAX_LIST_LIMIT;
    static final int LIST_HEADER = Protocol.LIST_ENTRIES_OFFSET;
    static final int LIST_ENTRY = Protocol.LIST_ENTRY_LENGTH;
    /** The largest LIST answer: a client accepts bodies up to this even when its maxBlockSize is smaller. */
    static final int MAX_LIST_BODY = Protocol.MAX_LIST_BODY;

    static final int FLAG_VERIFY_HASH = Flags.VERIFY_HASH;
    static final int FLAG_RANGE = Flags.RANGE;
    static final int FLAG_FIRST = Flags.FIRST;

    private Wire()
    {
    }

    static String opcodeName(final int opcode)
    {
        return Opcode.name(opcode);
    }

    /** PING and STATS: header only. */
    static byte[] empty(final int opcode, final long requestId)
    {
        return header(opcode, 0, requestId, 0, 0);
    }

    /** PUT without verification: the payload follows the header array on the wire. */
    static byte[] put(final long requestId, final int payloadLength)
    {
        return header(PUT, 0, requestId, 0, payloadLength);
    }

    /** PUT with VERIFY_HASH: the expected hash is part of the header array, the payload follows. */
    static byte[] putVerified(final long requestId, final Hash expected, final int payloadLength)
    {
        final byte[] frame = header(PUT, FLAG_VERIFY_HASH, requestId, HASH_LENGTH, payloadLength);
        expected.copyTo(frame, HEADER_LENGTH);
        return frame;
    }

    /** GET, HEAD and DELETE: the body is exactly the hash. */
    static byte[] hashOnly(final int opcode, final long requestId, final Hash hash)
    {
        final byte[] frame = header(opcode, 0, requestId, HASH_LENGTH, 0);
        hash.copyTo(frame, HEADER_LENGTH);
        return frame;
    }

    /** Ranged GET: hash, u64 offset, u32 length (0 = to the end). */
    static byte[] getRange(final long requestId, final Hash hash, final long offset, final int length)
    {
        final byte[] frame = header(GET, FLAG_RANGE, requestId, Protocol.RANGE_BODY_LENGTH, 0);
        hash.copyTo(frame, HEADER_LENGTH);
        putLong(frame, HEADER_LENGTH + Protocol.RANGE_OFFSET_OFFSET, offset);
        putInt(frame, HEADER_LENGTH + Protocol.RANGE_LENGTH_OFFSET, length);
        return frame;
    }

    /** LIST: the cursor ({@code after}, or FIRST when null) and the page size. */
    static byte[] list(final long requestId, final Hash after, final int limit)
    {
        final byte[] frame = header(LIST, after == null ? FLAG_FIRST : 0, requestId, Protocol.LIST_REQUEST_LENGTH, 0);
        if (after != null)
        {
            after.copyTo(frame, HEADER_LENGTH + Protocol.LIST_AFTER_OFFSET);
        }
        putInt(frame, HEADER_LENGTH + Protocol.LIST_LIMIT_OFFSET, limit);
        return frame;
    }

    /** FIND_MISSING: hashes {@code from} (inclusive) to {@code to} (exclusive) of {@code hashes}. */
    static byte[] findMissing(final long requestId, final List<Hash> hashes, final int from, final int to)
    {
        final byte[] frame = header(FIND_MISSING, 0, requestId, (to - from) * HASH_LENGTH, 0);
        for (int i = from; i < to; i++)
        {
            hashes.get(i).copyTo(frame, HEADER_LENGTH + (i - from) * HASH_LENGTH);
        }
        return frame;
    }

    /**
     * @param fixedBody body bytes that live in the returned array right after the header.
     * @param payload   body bytes sent from a separate array after it.
     */
    private static byte[] header(
        final int opcode, final int flags, final long requestId, final int fixedBody, final int payload)
    {
        final byte[] frame = new byte[HEADER_LENGTH + fixedBody];
        putInt(frame, Protocol.LENGTH_OFFSET, LENGTH_COUNTED_HEADER + fixedBody + payload);
        frame[Protocol.VERSION_OFFSET] = VERSION;
        frame[Protocol.OPCODE_OFFSET] = (byte)opcode;
        frame[Protocol.FLAGS_OFFSET] = (byte)flags;
        frame[Protocol.FLAGS_OFFSET + 1] = (byte)(flags >>> 8);
        putLong(frame, Protocol.REQUEST_ID_OFFSET, requestId);
        return frame;
    }

    static void putInt(final byte[] buffer, final int offset, final int value)
    {
        buffer[offset] = (byte)value;
        buffer[offset + 1] = (byte)(value >>> 8);
        buffer[offset + 2] = (byte)(value >>> 16);
        buffer[offset + 3] = (byte)(value >>> 24);
    }

    static void putLong(final byte[] buffer, final int offset, final long value)
    {
        putInt(buffer, offset, (int)value);
        putInt(buffer, offset + 4, (int)(value >>> 32));
    }

    /** @return the u32 at {@code offset}, widened so that values of 2^31 and above stay positive. */
    static long getUnsignedInt(final byte[] buffer, final int offset)
    {
        return (buffer[offset] & 0xFFL) |
            (buffer[offset + 1] & 0xFFL) << 8 |
            (buffer[offset + 2] & 0xFFL) << 16 |
            (buffer[offset + 3] & 0xFFL) << 24;
    }

    static int getUnsignedShort(final byte[] buffer, final int offset)
    {
        return (buffer[offset] & 0xFF) | (buffer[offset + 1] & 0xFF) << 8;
    }

    static long getLong(final byte[] buffer, final int offset)
    {
        return getUnsignedInt(buffer, offset) | getUnsignedInt(buffer, offset + 4) << 32;
    }
}
