package io.ringblocks.server;

import java.nio.file.Path;

import io.ringblocks.storage.StoreConfig;

/**
 * Server settings; {@link #defaults()} are the embedded defaults {@code make run} uses.
 *
 * @param host                 IPv4 address to listen on.
 * @param port                 TCP port (0: ephemeral, for tests).
 * @param workers              worker threads, one ring each.
 * @param maxConnections       server-wide connection limit; further connections get BUSY and are closed.
 * @param maxInFlight          requests in flight per connection before the server stops reading from it.
 * @param recvBufferSize       per-connection receive buffer (frames larger than it are read straight into a block
 *                             buffer).
 * @param arenaSize            registered I/O memory per worker.
 * @param ringEntries          SQ entries per worker ring.
 * @param shutdownTimeoutMillis how long graceful shutdown waits for in-flight requests.
 * @param sendTimeoutMillis    a connection whose response has not moved for this long (the client stopped
 *                             reading) is closed, so that it cannot keep the worker's I/O buffers forever.
 * @param requestTimeoutMillis a frame whose first bytes arrived this long ago and that is still incomplete while the
 *                             server waits for the rest closes its connection (stalled uploads, slowloris).
 * @param idleTimeoutMillis    a connection with nothing in flight or partly received and no traffic for this long
 *                             is closed; 0 disables it.
 * @param store                storage settings.
 */
public record ServerConfig(
    String host,
    int port,
    int workers,
    int maxConnections,
    int maxInFlight,
    int recvBufferSize,
    long arenaSize,
    int ringEntries,
    long shutdownTimeoutMillis,
    long sendTimeoutMillis,
    long requestTimeoutMillis,
    long idleTimeoutMillis,
    StoreConfig store)
{
    public static final String DEFAULT_HOST = "127.0.0.1";
    public static final int DEFAULT_PORT = 10100;

    public ServerConfig
    {
        if (workers < 1 || workers > 256)
        {
            throw new IllegalArgumentException("workers must be in 1..256: " + workers);
        }
        if (maxConnections < 1)
        {
            throw new IllegalArgumentException("max connections must be >= 1: " + maxConnections);
        }
        if (maxInFlight < 1 || maxInFlight > 4096)
        {
            throw new IllegalArgumentException("max in-flight per connection must be in 1..4096: " + maxInFlight);
        }
        if (recvBufferSize < 4096 || Integer.bitCount(recvBufferSize) != 1 || recvBufferSize > IoArena.MAX_BUFFER)
        {
            throw new IllegalArgumentException("receive buffer must be a power of two in 4 KiB..2 MiB: " +
                recvBufferSize);
        }
        if (sendTimeoutMillis < 1)
        {
            throw new IllegalArgumentException("send timeout must be >= 1 ms: " + sendTimeoutMillis);
        }
        if (requestTimeoutMillis < 1)
        {
            throw new IllegalArgumentException("request timeout must be >= 1 ms: " + requestTimeoutMillis);
        }
        if (idleTimeoutMillis < 0)
        {
            throw new IllegalArgumentException("idle timeout must be >= 0 ms (0: off): " + idleTimeoutMillis);
        }
        if (port < 0 || port > 65535)
        {
            throw new IllegalArgumentException("port must be in 0..65535: " + port);
        }
    }

    /**
     * 127.0.0.1:10100, ./data, one worker per processor, 1 GiB store, sync durability, O_DIRECT, 30 s send and request
     * timeouts, 5 min idle timeout.
     */
    public static ServerConfig defaults()
    {
        return new ServerConfig(DEFAULT_HOST, DEFAULT_PORT, Runtime.getRuntime().availableProcessors(), 4096, 64,
            16384, 16L << 20, 1024, 10_000L, 30_000L, 30_000L, 300_000L,
            StoreConfig.defaults(Path.of("data"), 1L << 30, true, true));
    }

    public ServerConfig withPort(final int newPort)
    {
        return new ServerConfig(host, newPort, workers, maxConnections, maxInFlight, recvBufferSize, arenaSize,
            ringEntries, shutdownTimeoutMillis, sendTimeoutMillis, requestTimeoutMillis, idleTimeoutMillis, store);
    }

    public ServerConfig withStore(final StoreConfig newStore)
    {
        return new ServerConfig(host, port, workers, maxConnections, maxInFlight, recvBufferSize, arenaSize,
            ringEntries, shutdownTimeoutMillis, sendTimeoutMillis, requestTimeoutMillis, idleTimeoutMillis, newStore);
    }

    public ServerConfig withWorkers(final int n)
    {
        return new ServerConfig(host, port, n, maxConnections, maxInFlight, recvBufferSize, arenaSize,
            ringEntries, shutdownTimeoutMillis, sendTimeoutMillis, requestTimeoutMillis, idleTimeoutMillis, store);
    }

    public ServerConfig withSendTimeoutMillis(final long millis)
    {
        return new ServerConfig(host, port, workers, maxConnections, maxInFlight, recvBufferSize, arenaSize,
            ringEntries, shutdownTimeoutMillis, millis, requestTimeoutMillis, idleTimeoutMillis, store);
    }

    public ServerConfig withMaxConnections(final int n)
    {
        return new ServerConfig(host, port, workers, n, maxInFlight, recvBufferSize, arenaSize,
            ringEntries, shutdownTimeoutMillis, sendTimeoutMillis, requestTimeoutMillis, idleTimeoutMillis, store);
    }

    public ServerConfig withTimeouts(final long requestMillis, final long idleMillis)
    {
        return new ServerConfig(host, port, workers, maxConnections, maxInFlight, recvBufferSize, arenaSize,
            ringEntries, shutdownTimeoutMillis, sendTimeoutMillis, requestMillis, idleMillis, store);
    }

    public ServerConfig withArenaSize(final long bytes)
    {
        return new ServerConfig(host, port, workers, maxConnections, maxInFlight, recvBufferSize, bytes,
            ringEntries, shutdownTimeoutMillis, sendTimeoutMillis, requestTimeoutMillis, idleTimeoutMillis, store);
    }
}
