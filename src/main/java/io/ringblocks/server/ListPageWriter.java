package io.ringblocks.server;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import io.ringblocks.protocol.ListBody;
import io.ringblocks.storage.BlockIndex;
import io.ringblocks.wire.Protocol;

/**
 * Fills one LIST response body ({@link ListBody}) from an index scan: entries in hash order, then {@code more} and
 * {@code next}. One per worker, reused for every LIST; worker thread only.
 */
final class ListPageWriter implements BlockIndex.EntryVisitor
{
    private final UnsafeBuffer memory;
    /** Direct: LMDB reads the cursor key through its address. */
    private final UnsafeBuffer after = new UnsafeBuffer(ByteBuffer.allocateDirect(Protocol.HASH_LENGTH));
    private final UnsafeBuffer lastVisited = new UnsafeBuffer(ByteBuffer.allocateDirect(Protocol.HASH_LENGTH));
    private int body;
    private int entries;

    ListPageWriter(final UnsafeBuffer memory)
    {
        this.memory = memory;
    }

    /**
     * Lists up to {@code limit} entries after the cursor into the response body at arena offset {@code bodyAt}.
     *
     * @param cursor   the request's {@code after} hash (ignored when {@code first}).
     * @return the body length written.
     */
    int fill(final BlockIndex index, final DirectBuffer cursor, final int cursorOffset, final boolean first,
        final int limit, final int bodyAt)
    {
        body = bodyAt;
        entries = 0;
        after.putBytes(0, cursor, cursorOffset, Protocol.HASH_LENGTH);
        lastVisited.putBytes(0, after, 0, Protocol.HASH_LENGTH);
        final int visited = index.scan(first ? null : after, limit, this, lastVisited);
        // Fewer keys than asked for: the scan reached the end of the index.
        memory.putInt(body + ListBody.MORE_OFFSET, visited == limit ? 1 : 0, ByteOrder.LITTLE_ENDIAN);
        memory.putBytes(body + ListBody.NEXT_OFFSET, lastVisited, 0, Protocol.HASH_LENGTH);
        return ListBody.responseLength(entries);
    }

    @Override
    public void visit(final DirectBuffer hash, final long offset, final int length, final int sizeClass,
        final int crc, final int flags)
    {
        final int at = body + ListBody.ENTRIES_OFFSET + entries * ListBody.ENTRY_LENGTH;
        memory.putBytes(at, hash, 0, Protocol.HASH_LENGTH);
        memory.putInt(at + ListBody.ENTRY_LENGTH_OFFSET, length, ByteOrder.LITTLE_ENDIAN);
        entries++;
    }
}
