package io.ringblocks.client;

import java.time.Duration;
import java.util.Objects;

/**
 * Settings of a {@link ClusterClient}, built with {@link #builder()}; {@link Builder#build()} validates them all.
 * <pre>{@code
 * ClusterOptions options = ClusterOptions.builder()
 *     .members(MemberList.parse("10.0.0.1:10100,10.0.0.2:10100,10.0.0.3:10100=2"))
 *     .replicas(2)
 *     .build();
 * }</pre>
 */
public final class ClusterOptions
{
    /** Default {@link #replicas()}: two copies of every block. */
    public static final int DEFAULT_REPLICAS = 2;
    /** Most replicas accepted. */
    public static final int MAX_REPLICAS = 16;
    /** Default {@link #downInterval()}: how long a failed member is skipped. */
    public static final Duration DEFAULT_DOWN_INTERVAL = Duration.ofSeconds(5);
    /** Default {@link #maxOutstanding()}. */
    public static final int DEFAULT_MAX_OUTSTANDING = 4096;

    private final MembershipSource membership;
    private final int replicas;
    private final int writeQuorum;
    private final Duration downInterval;
    private final int maxOutstanding;
    private final ClientOptions client;

    private ClusterOptions(final Builder b)
    {
        membership = b.membership;
        replicas = b.replicas;
        writeQuorum = b.writeQuorum == 0 ? b.replicas : b.writeQuorum;
        downInterval = b.downInterval;
        maxOutstanding = b.maxOutstanding;
        client = b.client;
    }

    public static Builder builder()
    {
        return new Builder();
    }

    public MembershipSource membership()
    {
        return membership;
    }

    /** @return R: how many members own each block. */
    public int replicas()
    {
        return replicas;
    }

    /** @return W: how many owners must have stored a block before a PUT succeeds ({@code 1..R}, R by default). */
    public int writeQuorum()
    {
        return writeQuorum;
    }

    /** @return how long a member is skipped after a lost connection, a timeout or a refused connect. */
    public Duration downInterval()
    {
        return downInterval;
    }

    /**
     * @return how many operations a {@link ClusterClient} has outstanding at once, each counted once however many
     * members it asks, from the call until its future completes; a caller beyond them waits for one to complete, at
     * most {@link ClientOptions#requestTimeout()}, then fails with a {@link RequestTimeoutException} that was not
     * {@link RequestTimeoutException#sent() sent} (on a reader or timeout thread of the client library it fails at
     * once instead of waiting; the cluster's own virtual threads wait). A caller that cancels its future, or lets it
     * time out, frees the operation's place at once, while requests it already sent may still run: those stay bounded
     * per connection by {@link ClientOptions#maxInFlight()}.
     */
    public int maxOutstanding()
    {
        return maxOutstanding;
    }

    /** @return the per-member connection settings (host and port are taken from each member). */
    public ClientOptions client()
    {
        return client;
    }

    @Override
    public String toString()
    {
        return "ClusterOptions{members=" + membership.current() + ", replicas=" + replicas + ", writeQuorum=" +
            writeQuorum + ", downInterval=" + downInterval + ", maxOutstanding=" + maxOutstanding + ", client=" + client +
            "}";
    }

    /** Collects settings; {@link #build()} checks them together. */
    public static final class Builder
    {
        private MembershipSource membership;
        private int replicas = DEFAULT_REPLICAS;
        private int writeQuorum;
        private Duration downInterval = DEFAULT_DOWN_INTERVAL;
        private int maxOutstanding = DEFAULT_MAX_OUTSTANDING;
        private ClientOptions client = ClientOptions.builder().port(1).poolSize(2).build();

        private Builder()
        {
        }

        /** A fixed member list, no migration in progress. */
        public Builder members(final MemberList members)
        {
            return membership(MembershipSource.of(members));
        }

        public Builder membership(final MembershipSource source)
        {
            this.membership = Objects.requireNonNull(source, "membership");
            return this;
        }

        /** @param replicas R, 1..{@value #MAX_REPLICAS} (more than the members: every member owns everything). */
        public Builder replicas(final int replicas)
        {
            if (replicas < 1 || replicas > MAX_REPLICAS)
            {
                throw new IllegalArgumentException("replicas must be 1.." + MAX_REPLICAS + ": " + replicas);
            }
            this.replicas = replicas;
            return this;
        }

        /**
         * @param writeQuorum W, 1..R: below R a PUT succeeds on fewer copies (degraded writes), which a repair
         *                    pass completes later.
         */
        public Builder writeQuorum(final int writeQuorum)
        {
            if (writeQuorum < 1)
            {
                throw new IllegalArgumentException("writeQuorum must be >= 1: " + writeQuorum);
            }
            this.writeQuorum = writeQuorum;
            return this;
        }

        public Builder downInterval(final Duration interval)
        {
            Objects.requireNonNull(interval, "downInterval");
            if (interval.isNegative() || interval.isZero())
            {
                throw new IllegalArgumentException("downInterval must be positive: " + interval);
            }
            this.downInterval = interval;
            return this;
        }

        /**
         * @param maxOutstanding operations outstanding at once, at least 1, default
         *                       {@value ClusterOptions#DEFAULT_MAX_OUTSTANDING}; see {@link ClusterOptions#maxOutstanding()}.
         */
        public Builder maxOutstanding(final int maxOutstanding)
        {
            if (maxOutstanding < 1)
            {
                throw new IllegalArgumentException("maxOutstanding must be at least 1: " + maxOutstanding);
            }
            this.maxOutstanding = maxOutstanding;
            return this;
        }

        /** Connection settings for every member (pool size, timeouts, verification); host and port are ignored. */
        public Builder client(final ClientOptions options)
        {
            this.client = Objects.requireNonNull(options, "client");
            return this;
        }

        /**
         * @throws IllegalStateException without members, or with a write quorum above the replicas.
         */
        public ClusterOptions build()
        {
            if (membership == null)
            {
                throw new IllegalStateException("members are required");
            }
            if (writeQuorum > replicas)
            {
                throw new IllegalStateException("writeQuorum (" + writeQuorum + ") must not exceed replicas (" +
                    replicas + ")");
            }
            return new ClusterOptions(this);
        }
    }
}
