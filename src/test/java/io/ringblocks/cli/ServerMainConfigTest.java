package io.ringblocks.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import io.ringblocks.server.ServerConfig;
import io.ringblocks.storage.StoreConfig;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The configuration {@code tools/ringblocks-server} builds from its flags: defaults, errors, the README's table. */
class ServerMainConfigTest
{
    private static ServerConfig config(final String... args)
    {
        final ServerMain main = new ServerMain();
        ServerMain.commandLine(main).parseArgs(args);
        return main.config();
    }

    @Test
    void shouldReadAnArgumentFileAndLetLaterFlagsOverrideIt() throws Exception
    {
        final Path file = Files.createTempFile("server", ".args");
        try
        {
            Files.writeString(file, """
                # a node's settings
                --listen 0.0.0.0:10200
                --max-size 10g   --sync relaxed
                --metrics-listen "127.0.0.1:9464"
                """);
            final ServerConfig config = config("@" + file, "--sync", "sync", "--listen", "127.0.0.1:10300");
            assertEquals("127.0.0.1", config.host());
            assertEquals(10300, config.port());
            assertEquals(10L << 30, config.store().maxSize());
            assertTrue(config.store().durable(), "the later --sync wins");
            assertEquals("127.0.0.1", config.metricsHost());
            assertEquals(9464, config.metricsPort());
        }
        finally
        {
            Files.delete(file);
        }
    }

    @Test
    void shouldKeepTheMakeRunDefaults()
    {
        final ServerConfig config = config();
        // What ServerMain passed to the positional constructors before the builders, flag by flag.
        assertEquals("127.0.0.1", config.host());
        assertEquals(10100, config.port());
        assertEquals(Math.min(Runtime.getRuntime().availableProcessors(), 256), config.workers());
        assertEquals(4096, config.maxConnections());
        assertEquals(64, config.maxInFlight());
        assertEquals(16384, config.recvBufferSize());
        assertEquals(16L << 20, config.arenaSize());
        assertEquals(1024, config.ringEntries());
        assertEquals(10_000L, config.shutdownTimeoutMillis());
        assertEquals(30_000L, config.sendTimeoutMillis());
        assertEquals(30_000L, config.requestTimeoutMillis());
        assertEquals(300_000L, config.idleTimeoutMillis());
        final StoreConfig store = config.store();
        assertEquals(Path.of("data").toAbsolutePath(), store.dir());
        assertEquals(1L << 30, store.maxSize());
        assertTrue(store.durable() && store.directIo() && store.readCache());
        assertEquals(1 << 20, store.maxBlockSize());
        assertEquals(64L << 20, store.growStep());
        assertEquals(64L << 30, store.indexMapSize());
        assertEquals(4096, store.maxBatch());
        assertEquals(20_000L, store.debounceNanos());
        assertEquals(1 << 20, store.deltaRingCapacity());
        assertEquals(1 << 20, store.ackRingCapacity());
        assertEquals(1 << 16, store.limboCapacity());
        assertEquals(1 << 16, store.ackBacklogCapacity());
        assertEquals(0, store.scrubRate());
        assertEquals(64L << 20, store.journal().logSize());
        assertEquals(1 << 16, store.journal().overlaySlots());
        assertEquals(1_000_000_000L, store.journal().syncIntervalNanos());
        assertEquals(1_000_000_000L, store.journal().checkpointIntervalNanos());
        // And the flags add nothing to the builders' own defaults.
        assertEquals(ServerConfig.builder(StoreConfig.builder(Path.of("data").toAbsolutePath()).conclude()).conclude(),
            config);
    }

    @Test
    void shouldTakeTheBlockCacheSizeOrZeroOrOff()
    {
        assertEquals(8L << 20, config().blockCacheSize());
        assertEquals(64L << 20, config("--block-cache", "64m").blockCacheSize());
        assertEquals(0, config("--block-cache", "0").blockCacheSize());
        assertEquals(0, config("--block-cache", "0k").blockCacheSize());
        assertEquals(0, config("--block-cache", "off").blockCacheSize());
        final IllegalArgumentException odd = assertThrows(IllegalArgumentException.class,
            () -> config("--block-cache", "4k"));
        assertEquals("--block-cache 4k: blockCacheSize must be a multiple of 16384 in 0..268435456: 4096",
            odd.getMessage());
    }

    @Test
    void shouldTurnMultishotReceivesOffOnlyWhenAsked()
    {
        assertTrue(config().multishotRecv());
        assertTrue(config("--multishot-recv", "on").multishotRecv());
        assertEquals(false, config("--multishot-recv", "off").multishotRecv());
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> config("--multishot-recv", "yes"));
        assertEquals("--multishot-recv must be on or off, got 'yes'", e.getMessage());
    }

    @Test
    void shouldDeriveTheGrowStepAndTheBatchFromTheFlagsAsBefore()
    {
        assertEquals(16L << 20, config("--max-size", "16m").store().growStep());
        assertEquals(384, config("--overlay-slots", "1024").store().maxBatch());
    }

    @Test
    void shouldNameTheFlagAndItsTextWhenALimitIsBroken()
    {
        final IllegalArgumentException block = assertThrows(IllegalArgumentException.class,
            () -> config("--max-block-size", "2m"));
        assertEquals("--max-block-size 2m: maxBlockSize must be a power of two in 4096..1048576: 2097152",
            block.getMessage());
        final IllegalArgumentException log = assertThrows(IllegalArgumentException.class,
            () -> config("--wal-size", "100k"));
        assertTrue(log.getMessage().startsWith("--wal-size 100k: logSize must be a multiple of 4096"), log.getMessage());
        final IllegalArgumentException send = assertThrows(IllegalArgumentException.class,
            () -> config("--send-timeout", "0s"));
        assertEquals("--send-timeout 0s: sendTimeoutMillis must be in 1..86400000: 0", send.getMessage());
        final IllegalArgumentException idle = assertThrows(IllegalArgumentException.class,
            () -> config("--idle-timeout", "0.5ms"));
        assertEquals("--idle-timeout counts whole milliseconds, got '0.5ms'", idle.getMessage());
    }

    @Test
    void shouldRefuseTheServersOwnPortForTheMetricsEndpoint()
    {
        final IllegalArgumentException same = assertThrows(IllegalArgumentException.class,
            () -> config("--listen", "0.0.0.0:10100", "--metrics-listen", "127.0.0.1:10100"));
        assertEquals("--metrics-listen 127.0.0.1:10100: metricsPort must differ from the server's port on the same " +
            "address: both 127.0.0.1:10100 and 0.0.0.0:10100", same.getMessage());
        assertThrows(IllegalArgumentException.class,
            () -> config("--listen", "127.0.0.1:10100", "--metrics-listen", "127.0.0.1:10100"));
        assertEquals(10100, config("--listen", "10.0.0.5:10100", "--metrics-listen", "127.0.0.1:10100").metricsPort(),
            "the same port on two addresses is two sockets");
        assertEquals(0, config("--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0").metricsPort(),
            "two ephemeral ports are two ports");
    }

    @Test
    void shouldShowTheDefaultsTheReadmeTableLists() throws Exception
    {
        final CommandLine.Model.CommandSpec spec = new CommandLine(new ServerMain()).getCommandSpec();
        final Matcher row = Pattern.compile("(?m)^\\| `(--[a-z-]+)` \\| `([^`]+)`")
            .matcher(Files.readString(Path.of("README.md")));
        int rows = 0;
        while (row.find())
        {
            final CommandLine.Model.OptionSpec option = spec.findOption(row.group(1));
            assertTrue(option != null, "README lists an unknown flag " + row.group(1));
            final String readme = row.group(2).startsWith("./") ? row.group(2).substring(2) : row.group(2);
            assertEquals(readme, option.defaultValueString(), row.group(1));
            rows++;
        }
        assertEquals(spec.options().size() - 3, rows, "every flag but --help, --version and --workers");
    }
}
