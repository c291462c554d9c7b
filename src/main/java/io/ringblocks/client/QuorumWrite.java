package io.ringblocks.client;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * One PUT (or DELETE) fanned out to several members: completes when {@code needed} of them succeeded, or fails as
 * soon as that can no longer happen, with a {@link ClusterException} naming each member that failed and how.
 * Answers arrive on the members' client threads; the counts are guarded by this object's lock.
 */
final class QuorumWrite<T>
{
    private final String what;
    private final int targets;
    private final int needed;
    private final T value;
    private final CompletableFuture<T> result = new CompletableFuture<>();
    private final Map<String, RingblocksException> failures = new LinkedHashMap<>();
    private int succeeded;

    /**
     * @param what    the operation, for the exception message ("PUT 1a2b…").
     * @param targets members asked.
     * @param needed  successes required, {@code 1..targets}.
     * @param value   what the future completes with.
     */
    QuorumWrite(final String what, final int targets, final int needed, final T value)
    {
        this.what = what;
        this.targets = targets;
        this.needed = needed;
        this.value = value;
    }

    CompletableFuture<T> future()
    {
        return result;
    }

    void succeeded()
    {
        final boolean done;
        synchronized (this)
        {
            succeeded++;
            done = succeeded == needed;
        }
        if (done)
        {
            result.complete(value);
        }
    }

    void failed(final String address, final Throwable failure)
    {
        final ClusterException fail;
        synchronized (this)
        {
            failures.put(address, asRingblocks(failure));
            fail = targets - failures.size() < needed && !result.isDone() ?
                new ClusterException(what + " succeeded on " + succeeded + " of " + targets + " members, " + needed +
                    " required", failures) : null;
        }
        if (fail != null)
        {
            result.completeExceptionally(fail);
        }
    }

    static RingblocksException asRingblocks(final Throwable failure)
    {
        final Throwable t = failure instanceof java.util.concurrent.CompletionException && failure.getCause() != null ?
            failure.getCause() : failure;
        return t instanceof RingblocksException r ? r :
            new ConnectionLostException("request failed: " + t, t);
    }
}
