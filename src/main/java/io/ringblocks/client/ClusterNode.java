package io.ringblocks.client;

import java.time.Instant;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One member as a {@link ClusterClient} sees it: its connection pool (absent until a connect succeeded) and its
 * health. A transport failure (lost connection, timeout, refused connect) marks the member down for the cluster's
 * down interval, during which operations skip it; after that it is tried again, and a success marks it up.
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

    /** @return true when the member is connected and not within its down interval. */
    boolean usable()
    {
        return pool != null && (!down || System.nanoTime() - downUntilNanos >= 0);
    }

    /** @return true when it is connected at all (a down member may still be asked as a last resort). */
    boolean connected()
    {
        return pool != null;
    }

    /** @return true when not connected and the down interval has passed: time to try connecting again. */
    boolean wantsConnect()
    {
        return pool == null && !closed && !connecting && (!down || System.nanoTime() - downUntilNanos >= 0);
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

    /** Records the outcome of a request: transport failures mark the member down, anything else up. */
    void record(final Throwable failure)
    {
        if (failure == null)
        {
            if (down)
            {
                markUp();
            }
            return;
        }
        if (isTransport(failure))
        {
            markDown(failure);
        }
    }

    static boolean isTransport(final Throwable failure)
    {
        return failure instanceof ConnectionLostException || failure instanceof RequestTimeoutException;
    }

    private void markDown(final Throwable failure)
    {
        failures.incrementAndGet();
        lastError = failure.getClass().getSimpleName() + ": " + failure.getMessage();
        downUntilNanos = System.nanoTime() + downNanos;
        downUntilMillis = System.currentTimeMillis() + downNanos / 1_000_000L;
        down = true;
    }

    private void markUp()
    {
        down = false;
    }

    MemberState state()
    {
        final boolean up = usable();
        return new MemberState(address(), up, up ? Instant.EPOCH : Instant.ofEpochMilli(downUntilMillis),
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
