package io.ringblocks.server;

import java.util.Objects;

import io.ringblocks.storage.ConfigChecks;
import io.ringblocks.storage.StoreConfig;

/**
 * Server settings. Built with {@link #builder(StoreConfig)}; every default and limit is one of the constants below
 * (the defaults are what {@code make run} uses: {@code tools/ringblocks-server} takes its flag defaults from them),
 * and {@link Builder#conclude()} checks every field in one place.
 * <pre>{@code
 * ServerConfig config = ServerConfig.builder(StoreConfig.builder(dir).conclude()).port(0).workers(2).conclude();
 * }</pre>
 */
public final class ServerConfig
{
    /** Default {@link #host()}. */
    public static final String DEFAULT_HOST = "127.0.0.1";
    /** Default {@link #port()}. */
    public static final int DEFAULT_PORT = 10100;
    /** Largest {@link #port()}; 0 asks for an ephemeral port (tests). */
    public static final int MAX_PORT = 65535;
    /** Largest {@link #workers()}. */
    public static final int MAX_WORKERS = 256;
    /** The default {@link #workers()} is one per available processor, at most this many. */
    public static final int DEFAULT_MAX_WORKERS = 16;
    /** Default {@link #maxConnections()}. */
    public static final int DEFAULT_MAX_CONNECTIONS = 4096;
    /** Largest {@link #maxConnections()}: every worker keeps a slot table of this many connections. */
    public static final int MAX_MAX_CONNECTIONS = 1 << 20;
    /** Default {@link #maxInFlight()}. */
    public static final int DEFAULT_MAX_IN_FLIGHT = 64;
    /** Largest {@link #maxInFlight()}. */
    public static final int MAX_MAX_IN_FLIGHT = 4096;
    /** Most {@link #requestSlots()}: their small response areas (64 bytes each) fill the arena's largest buffer. */
    public static final int MAX_REQUEST_SLOTS = IoArena.MAX_BUFFER / 64;
    /** Default {@link #recvBufferSize()}: 16 KiB. */
    public static final int DEFAULT_RECV_BUFFER_SIZE = 16384;
    /** Smallest {@link #recvBufferSize()}: 4 KiB. */
    public static final int MIN_RECV_BUFFER_SIZE = 4096;
    /** Largest {@link #recvBufferSize()}: the I/O arena's largest buffer, 2 MiB. */
    public static final int MAX_RECV_BUFFER_SIZE = IoArena.MAX_BUFFER;
    /** Default {@link #arenaSize()}: 16 MiB. */
    public static final long DEFAULT_ARENA_SIZE = 16L << 20;
    /** Default {@link #blockCacheSize()}: 8 MiB per worker. */
    public static final long DEFAULT_BLOCK_CACHE_SIZE = 8L << 20;
    /** {@link #blockCacheSize()} is a multiple of this: the largest block the cache holds, 16 KiB. */
    public static final long BLOCK_CACHE_UNIT = 16L << 10;
    /** Largest {@link #blockCacheSize()}: 256 MiB (its bookkeeping, about 2 % of it, is on the Java heap). */
    public static final long MAX_BLOCK_CACHE_SIZE = 256L << 20;
    /** Smallest {@link #arenaSize()}, and the unit it is a multiple of: the arena's largest buffer, 2 MiB. */
    public static final long MIN_ARENA_SIZE = IoArena.MAX_BUFFER;
    /** Largest {@link #arenaSize()}: 1 GiB (the arena is addressed with int offsets). */
    public static final long MAX_ARENA_SIZE = 1L << 30;
    /** Default {@link #ringEntries()}. */
    public static final int DEFAULT_RING_ENTRIES = 1024;
    /** Smallest {@link #ringEntries()}: room for the longest linked chain a worker prepares (a refusal's 4 SQEs). */
    public static final int MIN_RING_ENTRIES = 8;
    /** Largest {@link #ringEntries()}: io_uring's limit. */
    public static final int MAX_RING_ENTRIES = 16384;
    /** Default {@link #shutdownTimeoutMillis()}: 10 s. */
    public static final long DEFAULT_SHUTDOWN_TIMEOUT_MILLIS = 10_000L;
    /** Default {@link #sendTimeoutMillis()}: 30 s. */
    public static final long DEFAULT_SEND_TIMEOUT_MILLIS = 30_000L;
    /** Default {@link #multishotRecv()}: on. */
    public static final boolean DEFAULT_MULTISHOT_RECV = true;
    /** Default {@link #requestTimeoutMillis()}: 30 s. */
    public static final long DEFAULT_REQUEST_TIMEOUT_MILLIS = 30_000L;
    /** Default {@link #idleTimeoutMillis()}: 5 min. */
    public static final long DEFAULT_IDLE_TIMEOUT_MILLIS = 300_000L;
    /** {@link #metricsPort()} when the metrics endpoint is off (the default). */
    public static final int METRICS_OFF = -1;
    /** Longest of each timeout: a day, which is as good as never. */
    public static final long MAX_TIMEOUT_MILLIS = 86_400_000L;

    private final String host;
    private final int port;
    private final int workers;
    private final int maxConnections;
    private final int maxInFlight;
    private final int recvBufferSize;
    private final long arenaSize;
    private final long blockCacheSize;
    private final boolean multishotRecv;
    private final int ringEntries;
    private final long shutdownTimeoutMillis;
    private final long sendTimeoutMillis;
    private final long requestTimeoutMillis;
    private final long idleTimeoutMillis;
    private final String metricsHost;
    private final int metricsPort;
    private final StoreConfig store;

    private ServerConfig(final Builder b)
    {
        host = b.host;
        port = b.port;
        workers = b.workers;
        maxConnections = b.maxConnections;
        maxInFlight = b.maxInFlight;
        recvBufferSize = b.recvBufferSize;
        arenaSize = b.arenaSize;
        blockCacheSize = b.blockCacheSize;
        multishotRecv = b.multishotRecv;
        ringEntries = b.ringEntries;
        shutdownTimeoutMillis = b.shutdownTimeoutMillis;
        sendTimeoutMillis = b.sendTimeoutMillis;
        requestTimeoutMillis = b.requestTimeoutMillis;
        idleTimeoutMillis = b.idleTimeoutMillis;
        metricsHost = b.metricsHost;
        metricsPort = b.metricsPort;
        store = b.store;
    }

    /**
     * @param store the storage settings, required.
     * @return a builder holding the defaults.
     */
    public static Builder builder(final StoreConfig store)
    {
        return new Builder(store);
    }

    /**
     * @return the default worker count: one per available processor, at most {@value #DEFAULT_MAX_WORKERS} (so the
     * launcher's default heap holds their tables on any machine; more are a flag and a larger heap away).
     */
    public static int defaultWorkers()
    {
        return Math.min(Runtime.getRuntime().availableProcessors(), DEFAULT_MAX_WORKERS);
    }

    /** @return a builder preset with these settings, to derive a variant. */
    public Builder toBuilder()
    {
        return new Builder(store)
            .host(host)
            .port(port)
            .workers(workers)
            .maxConnections(maxConnections)
            .maxInFlight(maxInFlight)
            .recvBufferSize(recvBufferSize)
            .arenaSize(arenaSize)
            .blockCacheSize(blockCacheSize)
            .multishotRecv(multishotRecv)
            .ringEntries(ringEntries)
            .shutdownTimeoutMillis(shutdownTimeoutMillis)
            .sendTimeoutMillis(sendTimeoutMillis)
            .requestTimeoutMillis(requestTimeoutMillis)
            .idleTimeoutMillis(idleTimeoutMillis)
            .metricsListen(metricsHost, metricsPort);
    }

    /** @return the IPv4 address to listen on. */
    public String host()
    {
        return host;
    }

    /** @return the TCP port (0: ephemeral, for tests). */
    public int port()
    {
        return port;
    }

    /** @return worker threads, one ring each. */
    public int workers()
    {
        return workers;
    }

    /** @return the server-wide connection limit; further connections get BUSY and are closed. */
    public int maxConnections()
    {
        return maxConnections;
    }

    /** @return requests in flight per connection before the server stops reading from it. */
    public int maxInFlight()
    {
        return maxInFlight;
    }

    /**
     * @return request slots per worker, shared by its connections: 64 per {@link #maxInFlight()}, at least 1024, at
     * most {@value #MAX_REQUEST_SLOTS}.
     */
    public int requestSlots()
    {
        return requestSlots(maxInFlight);
    }

    private static int requestSlots(final int maxInFlight)
    {
        return Math.min(MAX_REQUEST_SLOTS, Math.max(1024, maxInFlight * 64));
    }

    /**
     * @return the per-connection receive buffer (frames larger than it are read straight into a block buffer).
     */
    public int recvBufferSize()
    {
        return recvBufferSize;
    }

    /** @return registered I/O memory per worker. */
    public long arenaSize()
    {
        return arenaSize;
    }

    /**
     * @return memory per worker for small hot blocks (up to {@value #BLOCK_CACHE_UNIT} bytes each), so GETs of them
     * need no file read; 0 for none. Anonymous memory, resident only where blocks are cached.
     */
    public long blockCacheSize()
    {
        return blockCacheSize;
    }

    /**
     * @return true when a connection waiting for requests keeps one multishot receive armed (kernel 6.0+; a worker
     * whose kernel refuses it falls back to one receive per arrival by itself).
     */
    public boolean multishotRecv()
    {
        return multishotRecv;
    }

    /** @return SQ entries per worker ring. */
    public int ringEntries()
    {
        return ringEntries;
    }

    /** @return how long graceful shutdown waits for in-flight requests. */
    public long shutdownTimeoutMillis()
    {
        return shutdownTimeoutMillis;
    }

    /**
     * @return how long a response may take to leave once it is the next to send (a short send does not restart the
     * clock) before its connection is closed, so that a client that does not read, or reads a little now and then,
     * cannot keep the worker's I/O buffers for ever.
     */
    public long sendTimeoutMillis()
    {
        return sendTimeoutMillis;
    }

    /**
     * @return how long ago a frame's first bytes may have arrived while it is still incomplete and the server waits
     * for the rest, before its connection is closed (stalled uploads, slowloris).
     */
    public long requestTimeoutMillis()
    {
        return requestTimeoutMillis;
    }

    /**
     * @return how long a connection with nothing in flight or partly received may go without traffic before it is
     * closed; 0 disables it.
     */
    public long idleTimeoutMillis()
    {
        return idleTimeoutMillis;
    }

    /** @return the address the HTTP metrics and health endpoint listens on (meaningful unless it is off). */
    public String metricsHost()
    {
        return metricsHost;
    }

    /**
     * @return the HTTP metrics and health endpoint's port ({@code /metrics}, {@code /health/live},
     * {@code /health/ready}), 0 for an ephemeral one, {@link #METRICS_OFF} when there is none.
     */
    public int metricsPort()
    {
        return metricsPort;
    }

    /** @return the storage settings. */
    public StoreConfig store()
    {
        return store;
    }

    @Override
    public boolean equals(final Object o)
    {
        return o instanceof ServerConfig that &&
            host.equals(that.host) &&
            port == that.port &&
            workers == that.workers &&
            maxConnections == that.maxConnections &&
            maxInFlight == that.maxInFlight &&
            recvBufferSize == that.recvBufferSize &&
            arenaSize == that.arenaSize &&
            blockCacheSize == that.blockCacheSize &&
            multishotRecv == that.multishotRecv &&
            ringEntries == that.ringEntries &&
            shutdownTimeoutMillis == that.shutdownTimeoutMillis &&
            sendTimeoutMillis == that.sendTimeoutMillis &&
            requestTimeoutMillis == that.requestTimeoutMillis &&
            idleTimeoutMillis == that.idleTimeoutMillis &&
            metricsHost.equals(that.metricsHost) &&
            metricsPort == that.metricsPort &&
            store.equals(that.store);
    }

    @Override
    public int hashCode()
    {
        return Objects.hash(host, port, workers, maxConnections, maxInFlight, recvBufferSize, arenaSize, blockCacheSize,
            multishotRecv, ringEntries, shutdownTimeoutMillis, sendTimeoutMillis, requestTimeoutMillis, idleTimeoutMillis, metricsHost,
            metricsPort, store);
    }

    @Override
    public String toString()
    {
        return "ServerConfig[host=" + host +
            ", port=" + port +
            ", workers=" + workers +
            ", maxConnections=" + maxConnections +
            ", maxInFlight=" + maxInFlight +
            ", recvBufferSize=" + recvBufferSize +
            ", arenaSize=" + arenaSize +
            ", blockCacheSize=" + blockCacheSize +
            ", multishotRecv=" + multishotRecv +
            ", ringEntries=" + ringEntries +
            ", shutdownTimeoutMillis=" + shutdownTimeoutMillis +
            ", sendTimeoutMillis=" + sendTimeoutMillis +
            ", requestTimeoutMillis=" + requestTimeoutMillis +
            ", idleTimeoutMillis=" + idleTimeoutMillis +
            ", metricsHost=" + metricsHost +
            ", metricsPort=" + metricsPort +
            ", store=" + store + "]";
    }

    /** Mutable builder; setters only record, {@link #conclude()} checks every field. */
    public static final class Builder
    {
        private StoreConfig store;
        private String host = DEFAULT_HOST;
        private int port = DEFAULT_PORT;
        private int workers = defaultWorkers();
        private int maxConnections = DEFAULT_MAX_CONNECTIONS;
        private int maxInFlight = DEFAULT_MAX_IN_FLIGHT;
        private int recvBufferSize = DEFAULT_RECV_BUFFER_SIZE;
        private long arenaSize = DEFAULT_ARENA_SIZE;
        private long blockCacheSize = DEFAULT_BLOCK_CACHE_SIZE;
        private boolean multishotRecv = DEFAULT_MULTISHOT_RECV;
        private int ringEntries = DEFAULT_RING_ENTRIES;
        private long shutdownTimeoutMillis = DEFAULT_SHUTDOWN_TIMEOUT_MILLIS;
        private long sendTimeoutMillis = DEFAULT_SEND_TIMEOUT_MILLIS;
        private long requestTimeoutMillis = DEFAULT_REQUEST_TIMEOUT_MILLIS;
        private long idleTimeoutMillis = DEFAULT_IDLE_TIMEOUT_MILLIS;
        private String metricsHost = DEFAULT_HOST;
        private int metricsPort = METRICS_OFF;

        private Builder(final StoreConfig store)
        {
            this.store = store;
        }

        /**
         * @param settings the storage settings, required.
         * @return this builder.
         */
        public Builder store(final StoreConfig settings)
        {
            store = settings;
            return this;
        }

        /**
         * @param address an IPv4 address or a name resolving to one (checked when the server starts).
         * @return this builder.
         */
        public Builder host(final String address)
        {
            host = address;
            return this;
        }

        /**
         * @param tcpPort 0..{@value ServerConfig#MAX_PORT}; 0 picks an ephemeral port.
         * @return this builder.
         */
        public Builder port(final int tcpPort)
        {
            port = tcpPort;
            return this;
        }

        /**
         * @param threads 1..{@value ServerConfig#MAX_WORKERS}.
         * @return this builder.
         */
        public Builder workers(final int threads)
        {
            workers = threads;
            return this;
        }

        /**
         * @param connections 1..{@value ServerConfig#MAX_MAX_CONNECTIONS}.
         * @return this builder.
         */
        public Builder maxConnections(final int connections)
        {
            maxConnections = connections;
            return this;
        }

        /**
         * @param requests 1..{@value ServerConfig#MAX_MAX_IN_FLIGHT}.
         * @return this builder.
         */
        public Builder maxInFlight(final int requests)
        {
            maxInFlight = requests;
            return this;
        }

        /**
         * @param bytes a power of two in
         *              {@value ServerConfig#MIN_RECV_BUFFER_SIZE}..{@value ServerConfig#MAX_RECV_BUFFER_SIZE}.
         * @return this builder.
         */
        public Builder recvBufferSize(final int bytes)
        {
            recvBufferSize = bytes;
            return this;
        }

        /**
         * @param bytes a multiple of {@value ServerConfig#MIN_ARENA_SIZE} up to {@value ServerConfig#MAX_ARENA_SIZE}.
         * @return this builder.
         */
        public Builder arenaSize(final long bytes)
        {
            arenaSize = bytes;
            return this;
        }

        /**
         * @param bytes 0 (no cache) or a multiple of {@value ServerConfig#BLOCK_CACHE_UNIT} up to
         *              {@value ServerConfig#MAX_BLOCK_CACHE_SIZE}: memory per worker for small hot blocks.
         * @return this builder.
         */
        public Builder blockCacheSize(final long bytes)
        {
            blockCacheSize = bytes;
            return this;
        }

        /**
         * @param on true (the default) to keep a multishot receive armed on connections waiting for requests, false
         *           for one receive per arrival.
         * @return this builder.
         */
        public Builder multishotRecv(final boolean on)
        {
            multishotRecv = on;
            return this;
        }

        /**
         * @param entries 1..{@value ServerConfig#MAX_RING_ENTRIES}.
         * @return this builder.
         */
        public Builder ringEntries(final int entries)
        {
            ringEntries = entries;
            return this;
        }

        /**
         * @param millis 0..{@value ServerConfig#MAX_TIMEOUT_MILLIS}.
         * @return this builder.
         */
        public Builder shutdownTimeoutMillis(final long millis)
        {
            shutdownTimeoutMillis = millis;
            return this;
        }

        /**
         * @param millis 1..{@value ServerConfig#MAX_TIMEOUT_MILLIS}.
         * @return this builder.
         */
        public Builder sendTimeoutMillis(final long millis)
        {
            sendTimeoutMillis = millis;
            return this;
        }

        /**
         * @param millis 1..{@value ServerConfig#MAX_TIMEOUT_MILLIS}.
         * @return this builder.
         */
        public Builder requestTimeoutMillis(final long millis)
        {
            requestTimeoutMillis = millis;
            return this;
        }

        /**
         * @param millis 0 (off)..{@value ServerConfig#MAX_TIMEOUT_MILLIS}.
         * @return this builder.
         */
        public Builder idleTimeoutMillis(final long millis)
        {
            idleTimeoutMillis = millis;
            return this;
        }

        /**
         * @param address where the HTTP metrics and health endpoint listens (a name or an IPv4/IPv6 address).
         * @param port    its TCP port, 0 for an ephemeral one, {@link #METRICS_OFF} for no endpoint.
         * @return this builder.
         */
        public Builder metricsListen(final String address, final int port)
        {
            metricsHost = address;
            metricsPort = port;
            return this;
        }

        /**
         * @return the settings.
         * @throws IllegalArgumentException naming the first field outside its range, the range and the value.
         */
        public ServerConfig conclude()
        {
            ConfigChecks.required("store", store);
            if (ConfigChecks.required("host", host).isBlank())
            {
                throw new IllegalArgumentException("host must be an IPv4 address or a name: '" + host + "'");
            }
            ConfigChecks.inRange("port", port, 0, MAX_PORT);
            ConfigChecks.inRange("workers", workers, 1, MAX_WORKERS);
            ConfigChecks.inRange("maxConnections", maxConnections, 1, MAX_MAX_CONNECTIONS);
            ConfigChecks.inRange("maxInFlight", maxInFlight, 1, MAX_MAX_IN_FLIGHT);
            ConfigChecks.powerOfTwo("recvBufferSize", recvBufferSize, MIN_RECV_BUFFER_SIZE, MAX_RECV_BUFFER_SIZE);
            ConfigChecks.multipleOf("arenaSize", arenaSize, MIN_ARENA_SIZE, MIN_ARENA_SIZE, MAX_ARENA_SIZE);
            ConfigChecks.multipleOf("blockCacheSize", blockCacheSize, BLOCK_CACHE_UNIT, 0, MAX_BLOCK_CACHE_SIZE);
            final long areas = Math.max(4096, requestSlots(maxInFlight) * 64L);
            final long responseAreas = Long.bitCount(areas) == 1 ? areas : Long.highestOneBit(areas) << 1; // a buddy
            if (responseAreas > arenaSize / 4)
            {
                throw new IllegalArgumentException("arenaSize " + arenaSize + " is too small for maxInFlight " +
                    maxInFlight + ": the small response areas of its request slots (" + responseAreas +
                    " bytes) may take at most a quarter of it");
            }
            ConfigChecks.inRange("ringEntries", ringEntries, MIN_RING_ENTRIES, MAX_RING_ENTRIES);
            ConfigChecks.inRange("shutdownTimeoutMillis", shutdownTimeoutMillis, 0, MAX_TIMEOUT_MILLIS);
            ConfigChecks.inRange("sendTimeoutMillis", sendTimeoutMillis, 1, MAX_TIMEOUT_MILLIS);
            ConfigChecks.inRange("requestTimeoutMillis", requestTimeoutMillis, 1, MAX_TIMEOUT_MILLIS);
            ConfigChecks.inRange("idleTimeoutMillis", idleTimeoutMillis, 0, MAX_TIMEOUT_MILLIS);
            ConfigChecks.inRange("metricsPort", metricsPort, METRICS_OFF, MAX_PORT);
            if (ConfigChecks.required("metricsHost", metricsHost).isBlank())
            {
                throw new IllegalArgumentException("metricsHost must be an address or a name: '" + metricsHost + "'");
            }
            if (metricsPort > 0 && metricsPort == port &&
                (metricsHost.equals(host) || isWildcard(metricsHost) || isWildcard(host)))
            {
                // Else found only after recovery: the endpoint, started first, holds the port the workers need.
                throw new IllegalArgumentException("metricsPort must differ from the server's port on the same " +
                    "address: both " + metricsHost + ":" + port + " and " + host + ":" + port);
            }
            return new ServerConfig(this);
        }

        private static boolean isWildcard(final String address)
        {
            return "0.0.0.0".equals(address) || "::".equals(address) || "*".equals(address);
        }
    }
}
