package io.ringblocks.server;

import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.ringblocks.storage.StoreConfig;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link MemoryBudget}: what a configuration's workers need of the JVM's heap and direct memory. */
class MemoryBudgetTest
{
    private static final long MIB = 1L << 20;
    /** What the launcher's -Xmx64m gives with the serial collector, and its -XX:MaxDirectMemorySize. */
    private static final long LAUNCHER_HEAP = 62 * MIB;
    private static final long LAUNCHER_DIRECT = 256 * MIB;
    private static final StoreConfig STORE = StoreConfig.builder(Path.of("/tmp/memory-budget-test")).conclude();

    @TempDir
    Path dir;

    @Test
    void shouldFitTheDefaultsOfAsManyWorkersAsTheDefaultAllowsInTheLaunchersLimits()
    {
        final ServerConfig config = ServerConfig.builder(STORE).workers(ServerConfig.DEFAULT_MAX_WORKERS).conclude();
        assertNull(MemoryBudget.shortfall(config, LAUNCHER_HEAP, LAUNCHER_DIRECT));
    }

    @Test
    void shouldNameTheFlagsAndAHeapThatWouldDoWhenTheTablesCannotFit()
    {
        final ServerConfig config = ServerConfig.builder(STORE).workers(40).conclude();
        final String why = MemoryBudget.shortfall(config, LAUNCHER_HEAP, LAUNCHER_DIRECT);
        assertTrue(why.startsWith("--workers 40 with --max-connections 4096, --max-in-flight 64 and --block-cache 8m " +
            "need about "), why);
        final long would = Long.parseLong(why.replaceAll(".*-Xmx(\\d+)m would do.*", "$1"));
        // The JVM reports less than -Xmx as its maximum (62 MiB for the launcher's 64): enough even counted so.
        assertNull(MemoryBudget.shortfall(config, would * MIB / 32 * 31, LAUNCHER_DIRECT), "the heap it names is enough");
        final long tables = MemoryBudget.HEAP_BASE + MemoryBudget.workerHeap(config);
        assertTrue(would % 16 == 0 && would * MIB <= tables / 17 * 20 / 4 * 5 + 16 * MIB, "and not much more: " + why);
    }

    @Test
    void shouldGrowWithEveryTableSizeAndCheckDirectMemoryToo()
    {
        final ServerConfig base = ServerConfig.builder(STORE).workers(2).conclude();
        final long heap = MemoryBudget.workerHeap(base);
        assertTrue(MemoryBudget.workerHeap(base.toBuilder().workers(4).conclude()) == 2 * heap);
        assertTrue(MemoryBudget.workerHeap(base.toBuilder().maxConnections(8192).conclude()) > heap);
        assertTrue(MemoryBudget.workerHeap(base.toBuilder().maxInFlight(128).conclude()) > heap);
        assertTrue(MemoryBudget.workerHeap(base.toBuilder().blockCacheSize(64 * MIB).conclude()) > heap);
        final ServerConfig many = base.toBuilder().workers(256).maxConnections(16).blockCacheSize(0).conclude();
        final String why = MemoryBudget.shortfall(many, 4096 * MIB, 64 * MIB);
        assertTrue(why.contains("MiB of direct memory, more than the 64 MiB this JVM has"), why);
    }

    @Test
    void shouldStartWorkersWithTheLargestRequestTables() throws Exception
    {
        final ServerConfig config = ServerHarness.config(dir).toBuilder().workers(1)
            .maxInFlight(ServerConfig.MAX_MAX_IN_FLIGHT).conclude();
        assertEquals(ServerConfig.MAX_REQUEST_SLOTS, config.requestSlots());
        try (RingblocksServer server = RingblocksServer.start(config); RawClient c = new RawClient(server.port()))
        {
            assertEquals(ServerOperationsTest.OK, c.call(ServerOperationsTest.PING, 0, 1, new byte[0]).status());
        }
    }
}
