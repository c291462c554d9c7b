package io.ringblocks.server;

/**
 * A first-in first-out set of slot indexes (connections), each in it at most once: intrusive, two arrays, no
 * allocation after construction. A pass takes the whole list ({@link #takeAll}) and walks it with {@link #leave},
 * which also lets the index be added again during the pass (it then waits for the next pass).
 */
final class IndexList
{
    private final boolean[] member;
    private final int[] next;
    private int head = -1;
    private int tail = -1;

    IndexList(final int capacity)
    {
        member = new boolean[capacity];
        next = new int[capacity];
    }

    /** @return false when {@code i} was in the list already (it keeps its place). */
    boolean add(final int i)
    {
        if (member[i])
        {
            return false;
        }
        member[i] = true;
        next[i] = -1;
        if (tail < 0)
        {
            head = i;
        }
        else
        {
            next[tail] = i;
        }
        tail = i;
        return true;
    }

    boolean contains(final int i)
    {
        return member[i];
    }

    boolean isEmpty()
    {
        return head < 0;
    }

    /** Detaches the whole list for one pass. @return its first index, -1 when empty. */
    int takeAll()
    {
        final int first = head;
        head = -1;
        tail = -1;
        return first;
    }

    /**
     * A pass ended early (a fault): puts the indexes it had not visited yet, from {@code i} on, back at the end of
     * the list, so none of them is left marked as listed while in no list (never to be added again).
     */
    void requeue(final int i)
    {
        int at = i;
        while (at >= 0)
        {
            final int after = next[at];
            member[at] = false;
            add(at);
            at = after;
        }
    }

    /** Takes {@code i}, the current index of a pass, out of the list. @return the index after it, -1 at the end. */
    int leave(final int i)
    {
        member[i] = false;
        return next[i];
    }
}
