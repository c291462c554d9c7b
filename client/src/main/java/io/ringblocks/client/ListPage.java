package io.ringblocks.client;

import java.util.List;
import java.util.Objects;

/**
 * One page of a server's listing ({@link AsyncBlockClient#list}): stored blocks in ascending hash order (bytewise,
 * unsigned). While {@link #more()} is true, ask for the next page with {@code after = }{@link #next()}, which may
 * lie beyond the last entry (the server looked at entries deleted meanwhile). A page that goes on always has a next
 * beyond the cursor it was asked with and not before its last entry (the client refuses other answers with a
 * {@link ProtocolException}), so such a loop ends.
 *
 * @param entries the blocks of this page, ascending.
 * @param more    true when the listing continues after this page.
 * @param next    the cursor for the next page.
 */
public record ListPage(List<Entry> entries, boolean more, Hash next)
{
    /** Default and largest page size a server answers. */
    public static final int MAX_LIMIT = Wire.MAX_LIST_LIMIT;

    public ListPage
    {
        Objects.requireNonNull(entries, "entries");
        Objects.requireNonNull(next, "next");
        entries = List.copyOf(entries);
    }

    /**
     * One stored block.
     *
     * @param hash   its address.
     * @param length its length in bytes.
     */
    public record Entry(Hash hash, int length)
    {
        public Entry
        {
            Objects.requireNonNull(hash, "hash");
        }
    }
}
