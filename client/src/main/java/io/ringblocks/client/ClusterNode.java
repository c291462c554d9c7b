package io.ringblocks.client;

import java.time.Instant;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One member as a {@link ClusterClient} sees it: its connection pool (absent until a connect succeeded) and its
 * health. A transport failure (lost connection, timeout, refused connect) marks the member down; operations skip it
 * (GETs ask it last) until the cluster's background probe, once per down interval, connects or pings it
 * successfully: one probe, never every caller at once reconnecting to a dead member.
 */
final class ClusterNode implements AutoCloseable
{
    private final Member member;
    private final ClientOptions options;
    private final long downNanos;
    private final AtomicLong failures = new AtomicLong();
    private volatile BlockClientPool pool;
    private volatile long downUntilNanos;
    private volatile boolean down;
    private volatile long downUntilMillis;
    private volatile String lastError = "";
    /** When the member last went up or down: an answer to a request sent before it says nothing about now. */
    private long lastTransitionNanos = System.nanoTime();
    private volatile boolean closed;
    private volatile boolean connecting;

    ClusterNode(final Member member, final ClientOptions template, final long downNanos)
    {
        this.member = member;
        this.options = template.toBuilder().host(member.host()).port(member.port()).build();
        this.downNanos = downNanos;
    }

    Member member()
    {
        return member;
    }

    String address()
    {
        return member.address();
    }

    /** Connects if not connected (blocking, at most the connect timeout); a failure marks the member down. */
    synchronized void connect()
    {
        if (pool != null || closed)
        {
            return;
        }
        connecting = true;
        try
        {
            pool = BlockClientPool.connect(options);
            markUp();
        }
        catch (final RingblocksException e)
        {
            markDown(e);
        }
        finally
        {
            connecting = false;
        }
    }

    /** @return true when the member is connected and not marked down. */
    boolean usable()
    {
        return pool != null && !down;
    }

    /** @return true while marked down (whether connected or not). */
    boolean down()
    {
        return down;
    }

    /** @return true when it is connected at all (a down member may still be asked as a last resort). */
    boolean connected()
    {
        return pool != null;
    }

    /** @return true when unconnected or down, not being probed, and the down interval has passed. */
    boolean wantsProbe()
    {
        return (pool == null || down) && !closed && !connecting && (!down || System.nanoTime() - downUntilNanos >= 0);
    }

    /**
     * Connects an unconnected member, or pings a connected one that is down (its pool reconnects); the outcome
     * marks it up or down again. Blocking: the cluster runs it on a virtual thread.
     */
    void probe()
    {
        if (pool == null)
        {
            connect();
            return;
        }
        connecting = true;
        try
        {
            pool.ping();
            markUp();
        }
        catch (final RingblocksException e)
        {
            markDown(e);
        }
        finally
        {
            connecting = false;
        }
    }

    AsyncBlockOperations async()
    {
        final BlockClientPool p = pool;
        if (p == null)
        {
            throw new IllegalStateException("member " + address() + " is not connected");
        }
        return p.async();
    }

    /**
     * Records the outcome of a request sent at {@code sentNanos} ({@link System#nanoTime()}): a transport failure
     * marks the member down, anything else up; an outcome of a request sent before the member last went up or down
     * is stale (a late timeout must not take down a member a probe just found up) and is only counted.
     */
    synchronized void record(final long sentNanos, final Throwable failure)
    {
        final boolean stale = sentNanos - lastTransitionNanos < 0;
        if (failure == null)
        {
            if (down && !stale)
            {
                markUp();
            }
            return;
        }
        if (isTransport(failure))
        {
            if (stale)
            {
                failures.incrementAndGet(); // neither takes an up member down nor pushes a down one's probe away
                return;
            }
            markDown(failure);
        }
    }

    /**
     * @return true for failures that say the member cannot be reached, not that the request was wrong: a lost
     * connection, a request sent and not answered in time, or one whose time went on failed attempts to reconnect.
     */
    static boolean isTransport(final Throwable failure)
    {
        return failure instanceof ConnectionLostException ||
            failure instanceof RequestTimeoutException timedOut &&
                (timedOut.sent() || timedOut.getCause() instanceof java.io.IOException);
    }

    /** Down from now; a failure while down (a failed probe included) starts the down interval again. */
    private synchronized void markDown(final Throwable failure)
    {
        failures.incrementAndGet();
        lastError = failure.getClass().getSimpleName() + ": " + failure.getMessage();
        downUntilNanos = System.nanoTime() + downNanos;
        downUntilMillis = System.currentTimeMillis() + downNanos / 1_000_000L;
        if (!down)
        {
            lastTransitionNanos = System.nanoTime();
        }
        down = true;
    }

    private synchronized void markUp()
    {
        if (down)
        {
            lastTransitionNanos = System.nanoTime();
        }
        down = false;
    }

    MemberState state()
    {
        final boolean up = usable();
        return new MemberState(address(), up, pool != null, up ? Instant.EPOCH : Instant.ofEpochMilli(downUntilMillis),
            failures.get(), lastError);
    }

    @Override
    public synchronized void close()
    {
        closed = true;
        if (pool != null)
        {
            pool.close();
        }
    }
}
