package io.ringblocks.client;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A cluster operation could not reach or convince enough of a block's owners: a PUT stored on fewer than the
 * write quorum, a DELETE that did not reach every owner (so a later repair could bring the block back), a GET or
 * HEAD that found no copy while some owner could not be asked. The message names each member and what it
 * answered; {@link #failures()} has the same as data.
 */
public final class ClusterException extends RingblocksException
{
    private final Map<String, RingblocksException> failures;

    ClusterException(final String message, final Map<String, RingblocksException> failures)
    {
        super(message + ": " + describe(failures), null);
        this.failures = Collections.unmodifiableMap(new LinkedHashMap<>(failures));
    }

    /** @return member address ({@code host:port}) to the failure it gave, in the order they failed. */
    public Map<String, RingblocksException> failures()
    {
        return failures;
    }

    private static String describe(final Map<String, RingblocksException> failures)
    {
        final StringBuilder sb = new StringBuilder();
        for (final Map.Entry<String, RingblocksException> e : failures.entrySet())
        {
            if (sb.length() > 0)
            {
                sb.append("; ");
            }
            sb.append(e.getKey()).append(' ').append(e.getValue().getClass().getSimpleName()).append(": ")
                .append(e.getValue().getMessage());
        }
        return sb.toString();
    }
}
