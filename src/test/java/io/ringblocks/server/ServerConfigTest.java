package io.ringblocks.server;

import java.nio.file.Path;
import java.util.function.UnaryOperator;

import org.junit.jupiter.api.Test;

import io.ringblocks.storage.StoreConfig;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** {@link ServerConfig}: defaults, every limit, round trips. */
class ServerConfigTest
{
    private static final StoreConfig STORE = StoreConfig.builder(Path.of("/tmp/server-config-test")).conclude();

    /** Concludes a default builder changed by {@code change}, expecting exactly {@code message}. */
    private static void assertRejected(final String message, final UnaryOperator<ServerConfig.Builder> change)
    {
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> change.apply(ServerConfig.builder(STORE)).conclude(), message);
        assertEquals(message, e.getMessage());
    }

    @Test
    void shouldConcludeTheDefaults()
    {
        final ServerConfig config = ServerConfig.builder(STORE).conclude();
        assertEquals("127.0.0.1", config.host());
        assertEquals(10100, config.port());
        assertEquals(Math.min(Runtime.getRuntime().availableProcessors(), 16), config.workers());
        assertEquals(4096, config.maxConnections());
        assertEquals(64, config.maxInFlight());
        assertEquals(16384, config.recvBufferSize());
        assertEquals(16L << 20, config.arenaSize());
        assertEquals(8L << 20, config.blockCacheSize());
        assertEquals(1024, config.ringEntries());
        assertEquals(10_000L, config.shutdownTimeoutMillis());
        assertEquals(30_000L, config.sendTimeoutMillis());
        assertEquals(30_000L, config.requestTimeoutMillis());
        assertEquals(300_000L, config.idleTimeoutMillis());
        assertEquals(STORE, config.store());
    }

    @Test
    void shouldSizeRequestSlotsByMaxInFlightWithinWhatTheSmallResponseAreasMayTake()
    {
        assertEquals(1024, ServerConfig.builder(STORE).maxInFlight(1).conclude().requestSlots());
        assertEquals(4096, ServerConfig.builder(STORE).conclude().requestSlots());
        assertEquals(32768, ServerConfig.builder(STORE).maxInFlight(512).conclude().requestSlots());
        assertEquals(32768, ServerConfig.builder(STORE).maxInFlight(4096).conclude().requestSlots(),
            "64-byte response areas of more would not fit the arena's largest buffer");
        assertEquals(128, ServerConfig.builder(STORE).arenaSize(2L << 20).maxInFlight(128).conclude().maxInFlight());
        assertRejected("arenaSize 2097152 is too small for maxInFlight 129: the small response areas of its request " +
            "slots (1048576 bytes) may take at most a quarter of it", b -> b.arenaSize(2L << 20).maxInFlight(129));
    }

    @Test
    void shouldEnforceEveryLimitNamingTheFieldTheRangeAndTheValue()
    {
        assertRejected("store is required: null", b -> b.store(null));
        assertRejected("host is required: null", b -> b.host(null));
        assertRejected("host must be an IPv4 address or a name: ' '", b -> b.host(" "));
        assertRejected("port must be in 0..65535: -1", b -> b.port(-1));
        assertRejected("port must be in 0..65535: 65536", b -> b.port(65536));
        assertRejected("workers must be in 1..256: 0", b -> b.workers(0));
        assertRejected("workers must be in 1..256: 257", b -> b.workers(257));
        assertRejected("maxConnections must be in 1..1048576: 0", b -> b.maxConnections(0));
        assertRejected("maxConnections must be in 1..1048576: 1048577", b -> b.maxConnections((1 << 20) + 1));
        assertRejected("maxInFlight must be in 1..4096: 0", b -> b.maxInFlight(0));
        assertRejected("maxInFlight must be in 1..4096: 4097", b -> b.maxInFlight(4097));
        assertRejected("recvBufferSize must be a power of two in 4096..2097152: 2048", b -> b.recvBufferSize(2048));
        assertRejected("recvBufferSize must be a power of two in 4096..2097152: 20000", b -> b.recvBufferSize(20000));
        assertRejected("recvBufferSize must be a power of two in 4096..2097152: 4194304",
            b -> b.recvBufferSize(4 << 20));
        assertRejected("arenaSize must be a multiple of 2097152 in 2097152..1073741824: 3145728",
            b -> b.arenaSize(3L << 20));
        assertRejected("arenaSize must be a multiple of 2097152 in 2097152..1073741824: 0", b -> b.arenaSize(0));
        assertRejected("blockCacheSize must be a multiple of 16384 in 0..268435456: 20000",
            b -> b.blockCacheSize(20_000));
        assertRejected("blockCacheSize must be a multiple of 16384 in 0..268435456: -16384",
            b -> b.blockCacheSize(-16_384));
        assertRejected("blockCacheSize must be a multiple of 16384 in 0..268435456: 285212672",
            b -> b.blockCacheSize(272L << 20));
        assertRejected("arenaSize must be a multiple of 2097152 in 2097152..1073741824: 2147483648",
            b -> b.arenaSize(2L << 30));
        assertRejected("ringEntries must be in 8..16384: 7", b -> b.ringEntries(7));
        assertRejected("ringEntries must be in 8..16384: 16385", b -> b.ringEntries(16385));
        assertRejected("shutdownTimeoutMillis must be in 0..86400000: -1", b -> b.shutdownTimeoutMillis(-1));
        assertRejected("sendTimeoutMillis must be in 1..86400000: 0", b -> b.sendTimeoutMillis(0));
        assertRejected("requestTimeoutMillis must be in 1..86400000: 0", b -> b.requestTimeoutMillis(0));
        assertRejected("idleTimeoutMillis must be in 0..86400000: -1", b -> b.idleTimeoutMillis(-1));
        assertRejected("idleTimeoutMillis must be in 0..86400000: 86400001", b -> b.idleTimeoutMillis(86_400_001L));
    }

    @Test
    void shouldAcceptTheLimitsThemselves()
    {
        final ServerConfig lowest = ServerConfig.builder(STORE).port(0).workers(1).maxConnections(1).maxInFlight(1)
            .recvBufferSize(ServerConfig.MIN_RECV_BUFFER_SIZE).arenaSize(ServerConfig.MIN_ARENA_SIZE).ringEntries(8)
            .shutdownTimeoutMillis(0).sendTimeoutMillis(1).requestTimeoutMillis(1).idleTimeoutMillis(0)
            .blockCacheSize(0).conclude();
        assertEquals(0, lowest.idleTimeoutMillis());
        assertEquals(0, lowest.blockCacheSize());
        final ServerConfig highest = ServerConfig.builder(STORE).port(ServerConfig.MAX_PORT)
            .workers(ServerConfig.MAX_WORKERS).maxConnections(ServerConfig.MAX_MAX_CONNECTIONS)
            .maxInFlight(ServerConfig.MAX_MAX_IN_FLIGHT).recvBufferSize(ServerConfig.MAX_RECV_BUFFER_SIZE)
            .arenaSize(ServerConfig.MAX_ARENA_SIZE).ringEntries(ServerConfig.MAX_RING_ENTRIES)
            .shutdownTimeoutMillis(ServerConfig.MAX_TIMEOUT_MILLIS).sendTimeoutMillis(ServerConfig.MAX_TIMEOUT_MILLIS)
            .requestTimeoutMillis(ServerConfig.MAX_TIMEOUT_MILLIS).idleTimeoutMillis(ServerConfig.MAX_TIMEOUT_MILLIS)
            .blockCacheSize(ServerConfig.MAX_BLOCK_CACHE_SIZE).conclude();
        assertEquals(ServerConfig.MAX_ARENA_SIZE, highest.arenaSize());
    }

    @Test
    void shouldRoundTripThroughToBuilder()
    {
        final ServerConfig config = ServerConfig.builder(STORE).host("10.0.0.7").port(7070).workers(3)
            .maxConnections(100).maxInFlight(8).recvBufferSize(8192).arenaSize(32L << 20).ringEntries(256)
            .shutdownTimeoutMillis(1).sendTimeoutMillis(2).requestTimeoutMillis(3).idleTimeoutMillis(4)
            .blockCacheSize(64L << 10).conclude();
        final ServerConfig again = config.toBuilder().conclude();
        assertEquals(config, again);
        assertEquals(config.hashCode(), again.hashCode());
        assertEquals(config.toString(), again.toString());
        final StoreConfig otherStore = STORE.toBuilder().maxSize(2L << 30).conclude();
        assertEquals(otherStore, config.toBuilder().store(otherStore).conclude().store());
        assertNotEquals(config, config.toBuilder().store(otherStore).conclude());
        assertNotEquals(config, config.toBuilder().idleTimeoutMillis(5).conclude());
        assertNotEquals(config, config.toBuilder().blockCacheSize(0).conclude());
    }
}
