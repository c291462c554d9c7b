package io.ringblocks.client;

import java.time.Duration;
import java.util.Objects;

/**
 * Immutable client configuration, shared by {@link BlockClient}, {@link AsyncBlockClient} and
 * {@link BlockClientPool}. Built with {@link #builder()}; every setter validates its argument at once, so a bad
 * value fails where it is written rather than at connect time.
 * <pre>{@code
 * ClientOptions options = ClientOptions.builder()
 *     .host("10.0.0.7").port(7070)
 *     .requestTimeout(Duration.ofSeconds(5))
 *     .poolSize(8)
 *     .build();
 * }</pre>
 */
public final class ClientOptions
{
    /** Default {@link #host()}. */
    public static final String DEFAULT_HOST = "127.0.0.1";
    /** Default {@link #connectTimeout()}: 5 s. */
    public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(5);
    /** Default {@link #requestTimeout()}: 30 s. */
    public static final Duration DEFAULT_REQUEST_TIMEOUT = Duration.ofSeconds(30);
    /** Default {@link #maxInFlight()}: 1024. */
    public static final int DEFAULT_MAX_IN_FLIGHT = 1024;
    /** Default {@link #reconnectAttempts()}: 3. */
    public static final int DEFAULT_RECONNECT_ATTEMPTS = 3;
    /** Default {@link #reconnectBackoff()}: 100 ms. */
    public static final Duration DEFAULT_RECONNECT_BACKOFF = Duration.ofMillis(100);
    /** Default {@link #poolSize()}: 4. */
    public static final int DEFAULT_POOL_SIZE = 4;
    /** Default {@link #maxBlockSize()}: 1 MiB, the server's default. */
    public static final int DEFAULT_MAX_BLOCK_SIZE = 1 << 20;
    /** Largest accepted {@link #maxBlockSize()}: 1 MiB, the protocol's largest block (no server accepts more). */
    public static final int MAX_MAX_BLOCK_SIZE = io.ringblocks.wire.Protocol.MAX_BLOCK_SIZE;

    private final String host;
    private final int port;
    private final Duration connectTimeout;
    private final Duration requestTimeout;
    private final int maxInFlight;
    private final boolean verifyGets;
    private final boolean verifyPuts;
    private final int reconnectAttempts;
    private final Duration reconnectBackoff;
    private final int poolSize;
    private final int maxBlockSize;

    private ClientOptions(final Builder builder)
    {
        this.host = builder.host;
        this.port = builder.port;
        this.connectTimeout = builder.connectTimeout;
        this.requestTimeout = builder.requestTimeout;
        this.maxInFlight = builder.maxInFlight;
        this.verifyGets = builder.verifyGets;
        this.verifyPuts = builder.verifyPuts;
        this.reconnectAttempts = builder.reconnectAttempts;
        this.reconnectBackoff = builder.reconnectBackoff;
        this.poolSize = builder.poolSize;
        this.maxBlockSize = builder.maxBlockSize;
    }

    /**
     * @return a builder holding the defaults; {@link Builder#port(int)} must be set before {@link Builder#build()}.
     */
    public static Builder builder()
    {
        return new Builder();
    }

    /**
     * @param host server host name or address.
     * @param port server TCP port.
     * @return the defaults for that server.
     */
    public static ClientOptions of(final String host, final int port)
    {
        return builder().host(host).port(port).build();
    }

    /**
     * @return a builder preset with these options, to derive a variant.
     */
    public Builder toBuilder()
    {
        return new Builder()
            .host(host)
            .port(port)
            .connectTimeout(connectTimeout)
            .requestTimeout(requestTimeout)
            .maxInFlight(maxInFlight)
            .verifyGets(verifyGets)
            .verifyPuts(verifyPuts)
            .reconnectAttempts(reconnectAttempts)
            .reconnectBackoff(reconnectBackoff)
            .poolSize(poolSize)
            .maxBlockSize(maxBlockSize);
    }

    /**
     * @return the server's host name or address.
     */
    public String host()
    {
        return host;
    }

    /**
     * @return the server's TCP port.
     */
    public int port()
    {
        return port;
    }

    /**
     * @return the limit on establishing one TCP connection.
     */
    public Duration connectTimeout()
    {
        return connectTimeout;
    }

    /**
     * @return the limit on one request, from the call to its response, including any wait for an in-flight slot and
     * for re-establishing a lost connection.
     */
    public Duration requestTimeout()
    {
        return requestTimeout;
    }

    /**
     * @return the number of requests one connection may have outstanding; further callers wait for a slot.
     */
    public int maxInFlight()
    {
        return maxInFlight;
    }

    /**
     * @return whether every full GET is checked against its hash (ranged GETs cannot be).
     */
    public boolean verifyGets()
    {
        return verifyGets;
    }

    /**
     * @return whether a PUT computes its block's hash here and sends it with VERIFY_HASH, so that bytes damaged on
     * the way are refused by the server (HASH_MISMATCH) instead of being stored, and answered, under another address.
     */
    public boolean verifyPuts()
    {
        return verifyPuts;
    }

    /**
     * @return how many times a request tries to re-establish a lost connection (within its
     * {@link #requestTimeout()}) before failing with {@link ConnectionLostException}; until the next attempt is due
     * (see {@link #reconnectBackoff()}) other requests fail with that same failure at once. 0 disables reconnecting.
     */
    public int reconnectAttempts()
    {
        return reconnectAttempts;
    }

    /**
     * @return the pause before the second reconnect attempt; it doubles for each further attempt (capped at 2 s), and
     * the pause that would have come next is how long a failed round's outcome is shared before trying again.
     */
    public Duration reconnectBackoff()
    {
        return reconnectBackoff;
    }

    /**
     * @return the number of connections a {@link BlockClientPool} opens.
     */
    public int poolSize()
    {
        return poolSize;
    }

    /**
     * @return the largest PUT payload the client sends (larger ones are rejected locally); at most the protocol's
     * 1 MiB, and it must not exceed the server's setting (see {@link BlockOperations#put(byte[])} for what a PUT
     * above the server's limit gets). GETs and ranges are not bounded by it: they accept blocks up to the
     * protocol's 1 MiB, since another client may have stored a larger block than this one may send.
     */
    public int maxBlockSize()
    {
        return maxBlockSize;
    }

    long requestTimeoutNanos()
    {
        return saturatedNanos(requestTimeout);
    }

    int connectTimeoutMillis()
    {
        return Math.clamp(connectTimeout.toMillis(), 1, Integer.MAX_VALUE);
    }

    static long saturatedNanos(final Duration duration)
    {
        try
        {
            return duration.toNanos();
        }
        catch (final ArithmeticException ex)
        {
            return Long.MAX_VALUE;
        }
    }

    /**
     * @return all options, for logs.
     */
    @Override
    public String toString()
    {
        return "ClientOptions{" + host + ":" + port +
            ", connectTimeout=" + connectTimeout +
            ", requestTimeout=" + requestTimeout +
            ", maxInFlight=" + maxInFlight +
            ", verifyGets=" + verifyGets +
            ", verifyPuts=" + verifyPuts +
            ", reconnectAttempts=" + reconnectAttempts +
            ", reconnectBackoff=" + reconnectBackoff +
            ", poolSize=" + poolSize +
            ", maxBlockSize=" + maxBlockSize + "}";
    }

    /**
     * Mutable builder for {@link ClientOptions}; not thread-safe (build it on one thread, then share the result).
     */
    public static final class Builder
    {
        private String host = DEFAULT_HOST;
        private int port = -1;
        private Duration connectTimeout = DEFAULT_CONNECT_TIMEOUT;
        private Duration requestTimeout = DEFAULT_REQUEST_TIMEOUT;
        private int maxInFlight = DEFAULT_MAX_IN_FLIGHT;
        private boolean verifyGets = true;
        private boolean verifyPuts = true;
        private int reconnectAttempts = DEFAULT_RECONNECT_ATTEMPTS;
        private Duration reconnectBackoff = DEFAULT_RECONNECT_BACKOFF;
        private int poolSize = DEFAULT_POOL_SIZE;
        private int maxBlockSize = DEFAULT_MAX_BLOCK_SIZE;

        private Builder()
        {
        }

        /**
         * @param host server host name or address, default {@value ClientOptions#DEFAULT_HOST}.
         * @return this builder.
         */
        public Builder host(final String host)
        {
            Objects.requireNonNull(host, "host");
            if (host.isBlank())
            {
                throw new IllegalArgumentException("host must not be blank");
            }
            this.host = host;
            return this;
        }

        /**
         * @param port server TCP port, 1..65535; required.
         * @return this builder.
         */
        public Builder port(final int port)
        {
            if (port < 1 || port > 65535)
            {
                throw new IllegalArgumentException("port must be 1..65535: " + port);
            }
            this.port = port;
            return this;
        }

        /**
         * @param timeout positive limit on establishing one connection, default 5 s.
         * @return this builder.
         */
        public Builder connectTimeout(final Duration timeout)
        {
            this.connectTimeout = positive(timeout, "connectTimeout");
            return this;
        }

        /**
         * @param timeout positive limit on one request, default 30 s.
         * @return this builder.
         */
        public Builder requestTimeout(final Duration timeout)
        {
            this.requestTimeout = positive(timeout, "requestTimeout");
            return this;
        }

        /**
         * @param maxInFlight outstanding requests per connection, at least 1, default 1024.
         * @return this builder.
         */
        public Builder maxInFlight(final int maxInFlight)
        {
            if (maxInFlight < 1)
            {
                throw new IllegalArgumentException("maxInFlight must be at least 1: " + maxInFlight);
            }
            this.maxInFlight = maxInFlight;
            return this;
        }

        /**
         * @param verifyGets whether full GETs are checked against their hash, default true.
         * @return this builder.
         */
        public Builder verifyGets(final boolean verifyGets)
        {
            this.verifyGets = verifyGets;
            return this;
        }

        /**
         * @param verifyPuts whether PUTs send the block's hash, computed here, for the server to check (VERIFY_HASH),
         *                   default true; it costs one SHA-256 of each block on the calling thread.
         * @return this builder.
         */
        public Builder verifyPuts(final boolean verifyPuts)
        {
            this.verifyPuts = verifyPuts;
            return this;
        }

        /**
         * @param attempts reconnect attempts per request after the connection was lost, 0 to disable, default 3.
         * @return this builder.
         */
        public Builder reconnectAttempts(final int attempts)
        {
            if (attempts < 0)
            {
                throw new IllegalArgumentException("reconnectAttempts must not be negative: " + attempts);
            }
            this.reconnectAttempts = attempts;
            return this;
        }

        /**
         * @param backoff positive pause before the second reconnect attempt, doubled per further attempt,
         *                default 100 ms.
         * @return this builder.
         */
        public Builder reconnectBackoff(final Duration backoff)
        {
            this.reconnectBackoff = positive(backoff, "reconnectBackoff");
            return this;
        }

        /**
         * @param poolSize connections of a {@link BlockClientPool}, at least 1, default 4.
         * @return this builder.
         */
        public Builder poolSize(final int poolSize)
        {
            if (poolSize < 1)
            {
                throw new IllegalArgumentException("poolSize must be at least 1: " + poolSize);
            }
            this.poolSize = poolSize;
            return this;
        }

        /**
         * @param maxBlockSize largest block in bytes, 1..{@value ClientOptions#MAX_MAX_BLOCK_SIZE} (the protocol's
         *                     limit), default 1 MiB; not above the server's own limit.
         * @return this builder.
         */
        public Builder maxBlockSize(final int maxBlockSize)
        {
            if (maxBlockSize < 1 || maxBlockSize > MAX_MAX_BLOCK_SIZE)
            {
                throw new IllegalArgumentException("maxBlockSize must be 1.." + MAX_MAX_BLOCK_SIZE + ": " + maxBlockSize);
            }
            this.maxBlockSize = maxBlockSize;
            return this;
        }

        /**
         * @return the options.
         * @throws IllegalStateException if no port was set.
         */
        public ClientOptions build()
        {
            if (port < 0)
            {
                throw new IllegalStateException("port is required");
            }
            return new ClientOptions(this);
        }

        private static Duration positive(final Duration duration, final String name)
        {
            Objects.requireNonNull(duration, name);
            if (duration.isNegative() || duration.isZero())
            {
                throw new IllegalArgumentException(name + " must be positive: " + duration);
            }
            return duration;
        }
    }
}
