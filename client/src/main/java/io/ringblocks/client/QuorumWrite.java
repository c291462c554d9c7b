package io.ringblocks.client;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * One PUT (or DELETE, PING) fanned out to several members: completes when {@code needed} of them succeeded, or, once
 * every member answered without that, fails with a {@link ClusterException} naming each member that failed and how
 * (waiting for all, so that the exception describes the final state: no request is still in flight).
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
        final RingblocksException fail;
        synchronized (this)
        {
            succeeded++;
            done = succeeded == needed;
            fail = succeeded + failures.size() == targets && succeeded < needed ? verdict() : null;
        }
        if (done)
        {
            result.complete(value);
        }
        else if (fail != null)
        {
            result.completeExceptionally(fail);
        }
    }

    void failed(final String address, final Throwable failure)
    {
        final RingblocksException fail;
        synchronized (this)
        {
            failures.put(address, asRingblocks(failure));
            fail = succeeded + failures.size() == targets && succeeded < needed ? verdict() : null;
        }
        if (fail != null)
        {
            result.completeExceptionally(fail);
        }
    }

    /**
     * Every member that failed gave the same server answer (HASH_MISMATCH, NO_SPACE, BLOCK_TOO_LARGE...) and none
     * succeeded: that answer is the outcome, as from one server. Anything else is a cluster failure.
     */
    private RingblocksException verdict()
    {
        final RingblocksException first = failures.values().iterator().next();
        boolean same = succeeded == 0 && failures.size() == targets && first.status() != StatusCode.NONE;
        for (final RingblocksException e : failures.values())
        {
            same &= e.getClass() == first.getClass();
        }
        return same ? first : new ClusterException(what + " succeeded on " + succeeded + " of " + targets +
            " members, " + needed + " required", failures);
    }

    static RingblocksException asRingblocks(final Throwable failure)
    {
        final Throwable t = failure instanceof CompletionException && failure.getCause() != null ?
            failure.getCause() : failure;
        return t instanceof RingblocksException r ? r :
            new ConnectionLostException("request failed: " + t, t);
    }
}
