package io.ringblocks.server;

import java.util.Arrays;

import io.ringblocks.uring.BufferRing;

/**
 * Per connection, the provided receive buffers whose bytes arrived but were not taken yet, oldest first, and how
 * much of the oldest was taken. A receive's bytes always pass through here: a multishot receive keeps delivering
 * while the connection cannot take them (a full receive buffer, a body on its way, no arena memory), and its bytes
 * must reach the connection in the order they arrived. Each buffer goes back to the ring once its last byte is taken.
 * <pre>
 *   connection c:  head ──► bid 7 [offset 512 of 16384] ──► bid 2 [0 of 900] ──► -1     (tail = 2)
 * </pre>
 */
final class HeldBuffers
{
    private final BufferRing ring;
    private final int[] head;
    private final int[] tail;
    private final int[] count;
    private final int[] bytes;
    private final int[] next;
    private final int[] length;
    private final int[] offset;

    HeldBuffers(final BufferRing ring, final int connections)
    {
        this.ring = ring;
        head = new int[connections];
        tail = new int[connections];
        count = new int[connections];
        bytes = new int[connections];
        Arrays.fill(head, -1);
        Arrays.fill(tail, -1);
        final int buffers = ring.entries();
        next = new int[buffers];
        length = new int[buffers];
        offset = new int[buffers];
    }

    /** Buffer {@code bid} brought {@code res} bytes for {@code c}: they come after everything it holds. */
    void add(final int c, final int bid, final int res)
    {
        next[bid] = -1;
        length[bid] = res;
        offset[bid] = 0;
        if (tail[c] < 0)
        {
            head[c] = bid;
        }
        else
        {
            next[tail[c]] = bid;
        }
        tail[c] = bid;
        count[c]++;
        bytes[c] += res;
    }

    boolean isEmpty(final int c)
    {
        return head[c] < 0;
    }

    /** @return how many buffers {@code c} holds. */
    int count(final int c)
    {
        return count[c];
    }

    /** @return how many bytes {@code c} holds, not taken yet. */
    int bytes(final int c)
    {
        return bytes[c];
    }

    /** @return the absolute address of the first byte not taken yet; only while not empty. */
    long firstAddress(final int c)
    {
        final int bid = head[c];
        return ring.address(bid) + offset[bid];
    }

    /** @return the bytes not taken yet of the oldest buffer; only while not empty. */
    int firstRemaining(final int c)
    {
        final int bid = head[c];
        return length[bid] - offset[bid];
    }

    /** {@code n} bytes of the oldest buffer were taken (at most {@link #firstRemaining}); a spent buffer goes back. */
    void take(final int c, final int n)
    {
        final int bid = head[c];
        if (n < 0 || n > length[bid] - offset[bid])
        {
            throw new IllegalArgumentException("took " + n + " of " + (length[bid] - offset[bid]) + " bytes held");
        }
        offset[bid] += n;
        bytes[c] -= n;
        if (offset[bid] == length[bid])
        {
            head[c] = next[bid];
            if (head[c] < 0)
            {
                tail[c] = -1;
            }
            count[c]--;
            ring.recycle(bid);
        }
    }

    /** Everything {@code c} holds goes back unread (the connection is gone). */
    void clear(final int c)
    {
        while (head[c] >= 0)
        {
            take(c, firstRemaining(c));
        }
    }
}
