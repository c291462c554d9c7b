package io.ringblocks.tools;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

import io.ringblocks.server.RingblocksServer;
import io.ringblocks.server.ServerConfig;
import io.ringblocks.storage.JournalConfig;
import io.ringblocks.storage.StoreConfig;
import io.ringblocks.uring.RingException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code tools/ringblocks-server}: starts the server. Bad flags, an unusable data directory or a busy port end in
 * one error line and a non-zero exit; SIGTERM/SIGINT shut down gracefully and exit 0.
 */
@Command(name = "ringblocks-server", mixinStandardHelpOptions = true, version = "ringblocks 0.1.0",
    description = "Content-addressed block store server on io_uring.", sortOptions = false)
public final class ServerMain implements Callable<Integer>
{
    @Option(names = "--listen", paramLabel = "HOST:PORT", description = "IPv4 address and port (default: ${DEFAULT-VALUE})")
    String listen = ServerConfig.DEFAULT_HOST + ":" + ServerConfig.DEFAULT_PORT;

    @Option(names = "--data", paramLabel = "DIR", description = "data directory (default: ${DEFAULT-VALUE})")
    Path data = Path.of("data");

    @Option(names = "--workers", paramLabel = "N", description = "worker threads, one io_uring each (default: processors)")
    int workers = Runtime.getRuntime().availableProcessors();

    @Option(names = "--max-size", paramLabel = "SIZE", description = "store capacity, e.g. 512m, 10g (default: ${DEFAULT-VALUE})")
    String maxSize = "1g";

    @Option(names = "--sync", paramLabel = "MODE", description = "sync (each batch's blocks and log record flushed before its acks) or relaxed (flushed every --sync-interval; default: ${DEFAULT-VALUE})")
    String sync = "sync";

    @Option(names = "--max-connections", paramLabel = "N", description = "connection limit (default: ${DEFAULT-VALUE})")
    int maxConnections = 4096;

    @Option(names = "--direct-io", paramLabel = "on|off", description = "O_DIRECT data file (default: ${DEFAULT-VALUE})")
    String directIo = "on";

    @Option(names = "--read-cache", paramLabel = "on|off", description = "serve reads through the page cache (default: ${DEFAULT-VALUE})")
    String readCache = "on";

    @Option(names = "--max-block-size", paramLabel = "SIZE", description = "largest block, a power of two (default: ${DEFAULT-VALUE})")
    String maxBlockSize = "1m";

    @Option(names = "--max-in-flight", paramLabel = "N", description = "requests in flight per connection (default: ${DEFAULT-VALUE})")
    int maxInFlight = 64;

    @Option(names = "--arena-size", paramLabel = "SIZE", description = "registered I/O memory per worker (default: ${DEFAULT-VALUE})")
    String arenaSize = "16m";

    @Option(names = "--send-timeout", paramLabel = "DURATION", description = "close a connection whose response has not moved for this long: the client stopped reading (default: ${DEFAULT-VALUE})")
    String sendTimeout = "30s";

    @Option(names = "--scrub-rate", paramLabel = "SIZE", description = "bytes per second the background scrubber re-verifies stored blocks at, e.g. 10m; 0 = off (default: ${DEFAULT-VALUE})")
    String scrubRate = "0";
    @Option(names = "--request-timeout", paramLabel = "DURATION", description = "close a connection whose frame started arriving this long ago and is still incomplete: a stalled upload or a slowloris client (default: ${DEFAULT-VALUE})")
    String requestTimeout = "30s";

    @Option(names = "--idle-timeout", paramLabel = "DURATION", description = "close a connection with nothing in flight and no traffic for this long; 0 or off disables (default: ${DEFAULT-VALUE})")
    String idleTimeout = "5m";

    @Option(names = "--sync-interval", paramLabel = "DURATION", description = "relaxed mode: how often the data file and the write-ahead log are flushed (default: ${DEFAULT-VALUE})")
    String syncInterval = "1s";

    @Option(names = "--wal-size", paramLabel = "SIZE", description = "size of a new write-ahead log, wal.log (default: ${DEFAULT-VALUE}; an existing log keeps its size)")
    String walSize = "64m";

    @Option(names = "--checkpoint-interval", paramLabel = "DURATION", description = "longest time logged index changes wait before a checkpoint applies them to LMDB (default: ${DEFAULT-VALUE})")
    String checkpointInterval = "1s";

    @Option(names = "--overlay-slots", paramLabel = "N", description = "slots (64 bytes each) of each of the two in-memory tables holding changes not yet checkpointed, a power of two (default: ${DEFAULT-VALUE})")
    int overlaySlots = JournalConfig.DEFAULTS.overlaySlots();

    private final CountDownLatch stop = new CountDownLatch(1);

    public static void main(final String[] args)
    {
        System.setProperty("java.util.logging.SimpleFormatter.format", "%1$tF %1$tT.%1$tL %4$s %5$s%6$s%n");
        final CommandLine cli = new CommandLine(new ServerMain());
        cli.setParameterExceptionHandler((e, a) ->
        {
            final PrintWriter err = e.getCommandLine().getErr();
            err.println("ringblocks-server: " + e.getMessage() + " (see --help)");
            return 2;
        });
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) ->
        {
            commandLine.getErr().println("ringblocks-server: " + e.getMessage());
            return e instanceof IllegalArgumentException ? 2 : 1;
        });
        System.exit(cli.execute(args));
    }

    ServerConfig config()
    {
        final int colon = listen.lastIndexOf(':');
        if (colon <= 0 || colon == listen.length() - 1)
        {
            throw new IllegalArgumentException("--listen must be HOST:PORT, got '" + listen + "'");
        }
        final int port;
        try
        {
            port = Integer.parseInt(listen.substring(colon + 1));
        }
        catch (final NumberFormatException e)
        {
            throw new IllegalArgumentException("--listen port is not a number: '" + listen + "'");
        }
        final boolean durable = switch (sync)
        {
            case "sync" -> true;
            case "relaxed" -> false;
            default -> throw new IllegalArgumentException("--sync must be sync or relaxed, got '" + sync + "'");
        };
        final boolean direct = switch (directIo)
        {
            case "on" -> true;
            case "off" -> false;
            default -> throw new IllegalArgumentException("--direct-io must be on or off, got '" + directIo + "'");
        };
        if (!"on".equals(readCache) && !"off".equals(readCache))
        {
            throw new IllegalArgumentException("--read-cache must be on or off, got '" + readCache + "'");
        }
        final long blockSize = Sizes.parse(maxBlockSize);
        if (blockSize < 4096 || blockSize > (1 << 20) || Long.bitCount(blockSize) != 1)
        {
            throw new IllegalArgumentException("--max-block-size must be a power of two from 4k to 1m: " + maxBlockSize);
        }
        final long capacity = Sizes.parse(maxSize);
        final long growStep = Math.max(blockSize, Math.min(64L << 20, capacity / blockSize * blockSize));
        final JournalConfig journal = new JournalConfig(Sizes.parse(walSize), overlaySlots,
            Sizes.durationNanos(syncInterval), Sizes.durationNanos(checkpointInterval));
        final StoreConfig store = new StoreConfig(data.toAbsolutePath(), capacity, durable, direct,
            "on".equals(readCache), (int)blockSize,
            growStep / blockSize * blockSize, 64L << 30, journal.maxBatchFor(4096), 20_000L, 1 << 20, 1 << 20,
            StoreConfig.DEFAULT_LIMBO_CAPACITY, StoreConfig.DEFAULT_ACK_BACKLOG_CAPACITY,
            "0".equals(scrubRate.trim()) ? 0 : Sizes.parse(scrubRate), journal);
        final long sendTimeoutMillis = Sizes.durationNanos(sendTimeout) / 1_000_000L;
        if (sendTimeoutMillis < 1)
        {
            throw new IllegalArgumentException("--send-timeout must be at least 1ms, got '" + sendTimeout + "'");
        }
        final long requestTimeoutMillis = Sizes.durationNanos(requestTimeout) / 1_000_000L;
        if (requestTimeoutMillis < 1)
        {
            throw new IllegalArgumentException("--request-timeout must be at least 1ms, got '" + requestTimeout + "'");
        }
        final long idleTimeoutNanos = "off".equals(idleTimeout) ? 0 : Sizes.durationNanos(idleTimeout);
        final long idleTimeoutMillis = idleTimeoutNanos / 1_000_000L;
        if (idleTimeoutNanos > 0 && idleTimeoutMillis < 1)
        {
            throw new IllegalArgumentException("--idle-timeout must be 0, off or at least 1ms, got '" + idleTimeout + "'");
        }
        return new ServerConfig(listen.substring(0, colon), port, workers, maxConnections, maxInFlight, 16384,
            Sizes.parse(arenaSize), 1024, 10_000L, sendTimeoutMillis, requestTimeoutMillis, idleTimeoutMillis, store);
    }

    @Override
    public Integer call() throws Exception
    {
        final ServerConfig config = config();
        checkDataDirectory(config.store().dir());
        final RingblocksServer server;
        try
        {
            server = RingblocksServer.start(config);
        }
        catch (final RingException e)
        {
            throw new IllegalStateException("cannot listen on " + listen + ": " + e.getMessage(), e);
        }
        final sun.misc.SignalHandler onSignal = signal -> stop.countDown();
        sun.misc.Signal.handle(new sun.misc.Signal("TERM"), onSignal);
        sun.misc.Signal.handle(new sun.misc.Signal("INT"), onSignal);
        System.out.println("ringblocks listening on " + config.host() + ":" + server.port() +
            " workers=" + config.workers() +
            " data=" + config.store().dir() +
            " max-size=" + config.store().maxSize() +
            " sync=" + (config.store().durable() ? "sync" : "relaxed") +
            " direct-io=" + (server.store().directIo() ? "on" :
                config.store().directIo() ? "off(refused-by-filesystem)" : "off") +
            " read-cache=" + readCache +
            " max-connections=" + config.maxConnections() +
            " max-block-size=" + config.store().maxBlockSize() +
            " max-in-flight=" + config.maxInFlight() +
            " send-timeout=" + config.sendTimeoutMillis() + "ms" +
            " scrub-rate=" + config.store().scrubRate() +
            " request-timeout=" + config.requestTimeoutMillis() + "ms" +
            " idle-timeout=" + (config.idleTimeoutMillis() == 0 ? "off" : config.idleTimeoutMillis() + "ms") +
            " recovered=" + server.store().recoveredBlocks() + " blocks in " + server.store().recoveryMillis() + " ms");
        System.out.flush();
        stop.await();
        final long start = System.nanoTime();
        server.close();
        System.out.println("ringblocks stopped in " + (System.nanoTime() - start) / 1_000_000 + " ms");
        return 0;
    }

    private static void checkDataDirectory(final Path dir)
    {
        if (Files.exists(dir) && !Files.isDirectory(dir))
        {
            throw new IllegalArgumentException("--data is not a directory: " + dir);
        }
        try
        {
            Files.createDirectories(dir);
        }
        catch (final java.io.IOException e)
        {
            throw new IllegalArgumentException("cannot create data directory " + dir + ": " +
                e.getClass().getSimpleName() + " " + e.getMessage());
        }
        if (!Files.isWritable(dir))
        {
            throw new IllegalArgumentException("data directory is not writable: " + dir);
        }
    }
}
