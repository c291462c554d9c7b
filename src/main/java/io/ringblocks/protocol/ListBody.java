package io.ringblocks.protocol;

import java.nio.ByteOrder;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

import io.ringblocks.wire.Protocol;

/**
 * Layouts of a LIST request and response body.
 * <pre>
 * request (36 bytes):
 *  0                         32          36
 * +-------------------------+-----------+
 * |   after (SHA-256, 32)   | limit u32 |   flag FIRST: start at the smallest hash, 'after' ignored
 * +-------------------------+-----------+
 * response on OK (36 + 36 × n bytes):
 *  0          4                         36                          68        72
 * +----------+-------------------------+-------------------------+---------+---- ...
 * | more u32 |   next (32)             |  hash (32)              | len u32 |  n entries, ascending
 * +----------+-------------------------+-------------------------+---------+---- ...
 * </pre>
 * Entries are the stored hashes greater than {@code after}, ascending, at most {@code limit} ({@code 0} or above
 * {@link #MAX_LIMIT}: {@link #MAX_LIMIT}). {@code more} is 1 when the listing goes on: ask again with {@code after = next} (the last
 * hash the server looked at, which may be beyond the last entry listed); 0 when it ended with this page.
 */
public final class ListBody
{
    public static final int AFTER_OFFSET = Protocol.LIST_AFTER_OFFSET;
    public static final int LIMIT_OFFSET = Protocol.LIST_LIMIT_OFFSET;
    /** Exact body length of a LIST request. */
    public static final int REQUEST_LENGTH = Protocol.LIST_REQUEST_LENGTH;
    /** Most entries one LIST answers (a 147,492-byte body). */
    public static final int MAX_LIMIT = Protocol.MAX_LIST_LIMIT;

    public static final int MORE_OFFSET = Protocol.LIST_MORE_OFFSET;
    public static final int NEXT_OFFSET = Protocol.LIST_NEXT_OFFSET;
    /** Where the entries of a response body start. */
    public static final int ENTRIES_OFFSET = Protocol.LIST_ENTRIES_OFFSET;
    public static final int ENTRY_LENGTH = Protocol.LIST_ENTRY_LENGTH;
    /** Offset of the length within an entry. */
    public static final int ENTRY_LENGTH_OFFSET = Protocol.LIST_ENTRY_LENGTH_OFFSET;

    private ListBody()
    {
    }

    /** @return the raw u32 limit of the request body at {@code bodyOffset}; negative means 2^31 or more. */
    public static int limit(final DirectBuffer buffer, final int bodyOffset)
    {
        return buffer.getInt(bodyOffset + LIMIT_OFFSET, ByteOrder.LITTLE_ENDIAN);
    }

    /** @return the page size a raw u32 {@code limit} asks for: 0 and anything above {@link #MAX_LIMIT} mean the most. */
    public static int effectiveLimit(final int limit)
    {
        return limit >= 1 && limit <= MAX_LIMIT ? limit : MAX_LIMIT;
    }

    /** @return the response body length for {@code entries} entries. */
    public static int responseLength(final int entries)
    {
        return ENTRIES_OFFSET + entries * ENTRY_LENGTH;
    }

    /** Writes a request body's limit; the caller writes {@code after} at {@code bodyOffset}. */
    public static void putLimit(final MutableDirectBuffer buffer, final int bodyOffset, final int limit)
    {
        buffer.putInt(bodyOffset + LIMIT_OFFSET, limit, ByteOrder.LITTLE_ENDIAN);
    }
}
