package io.ringblocks.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

import com.sun.management.HotSpotDiagnosticMXBean;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import io.ringblocks.metrics.MetricsEndpoint;
import io.ringblocks.server.Failures;
import io.ringblocks.server.MemoryBudget;
import io.ringblocks.server.RingblocksServer;
import io.ringblocks.server.ServerConfig;
import io.ringblocks.storage.JournalConfig;
import io.ringblocks.storage.StoreConfig;
import io.ringblocks.sys.ErrnoException;

/**
 * {@code tools/ringblocks-server}: starts the server. Bad flags, an unusable data directory or a busy port end in
 * one error line and a non-zero exit; SIGTERM/SIGINT/SIGHUP shut down gracefully and exit 0 ({@link StopSignals}).
 * The flags' defaults come from the configuration classes' constants ({@link Defaults}), and their limits from the
 * configuration builders.
 */
@Command(name = "ringblocks-server", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
    description = "Content-addressed block store server on io_uring.", sortOptions = false,
    defaultValueProvider = ServerMain.Defaults.class)
public final class ServerMain implements Callable<Integer>
{
    /** Default {@code --data}, relative to the working directory. */
    static final String DEFAULT_DATA = "data";

    @Option(names = "--listen", paramLabel = "HOST:PORT", description = "IPv4 address and port (default: ${DEFAULT-VALUE})")
    String listen;

    @Option(names = "--data", paramLabel = "DIR", description = "data directory (default: ${DEFAULT-VALUE})")
    Path data;

    @Option(names = "--workers", paramLabel = "N", description = "worker threads, one io_uring each, at most " + ServerConfig.MAX_WORKERS + " (default: processors, at most " + ServerConfig.DEFAULT_MAX_WORKERS + ")")
    Integer workers;

    @Option(names = "--max-size", paramLabel = "SIZE", description = "store capacity, e.g. 512m, 10g (default: ${DEFAULT-VALUE})")
    String maxSize;

    @Option(names = "--sync", paramLabel = "MODE", description = "sync (each batch's blocks and log record flushed before its acks) or relaxed (flushed every --sync-interval; default: ${DEFAULT-VALUE})")
    String sync;

    @Option(names = "--max-connections", paramLabel = "N", description = "connection limit (default: ${DEFAULT-VALUE})")
    int maxConnections;

    @Option(names = "--direct-io", paramLabel = "on|off", description = "O_DIRECT block writes and log records (relaxed mode: blocks under 64k and log records buffered) (default: ${DEFAULT-VALUE})")
    String directIo;

    @Option(names = "--read-cache", paramLabel = "on|off", description = "serve reads through the page cache (default: ${DEFAULT-VALUE})")
    String readCache;

    @Option(names = "--max-block-size", paramLabel = "SIZE", description = "largest block, a power of two (default: ${DEFAULT-VALUE})")
    String maxBlockSize;

    @Option(names = "--max-in-flight", paramLabel = "N", description = "requests in flight per connection (default: ${DEFAULT-VALUE})")
    int maxInFlight;

    @Option(names = "--arena-size", paramLabel = "SIZE", description = "registered I/O memory per worker (default: ${DEFAULT-VALUE})")
    String arenaSize;

    @Option(names = "--block-cache", paramLabel = "SIZE", description = "memory per worker for small hot blocks (up to 16k each), so GETs of them need no file read; 0 or off = none (default: ${DEFAULT-VALUE})")
    String blockCache;

    @Option(names = "--multishot-recv", paramLabel = "on|off", description = "keep one multishot receive armed per connection waiting for requests (kernel 6.0+, else one receive per arrival; default: ${DEFAULT-VALUE})")
    String multishotRecv;

    @Option(names = "--send-timeout", paramLabel = "DURATION", description = "close a connection whose response is not sent completely this long after it became the next to send: the client stopped reading or reads too slowly (default: ${DEFAULT-VALUE})")
    String sendTimeout;

    @Option(names = "--scrub-rate", paramLabel = "SIZE", description = "bytes per second the background scrubber re-verifies stored blocks at, e.g. 10m; 0 or off = off (default: ${DEFAULT-VALUE})")
    String scrubRate;

    @Option(names = "--request-timeout", paramLabel = "DURATION", description = "close a connection whose frame started arriving this long ago and is still incomplete: a stalled upload or a slowloris client (default: ${DEFAULT-VALUE})")
    String requestTimeout;

    @Option(names = "--idle-timeout", paramLabel = "DURATION", description = "close a connection with nothing in flight and no traffic for this long; 0 or off disables (default: ${DEFAULT-VALUE})")
    String idleTimeout;

    @Option(names = "--sync-interval", paramLabel = "DURATION", description = "relaxed mode: how often the data file and the write-ahead log are flushed (default: ${DEFAULT-VALUE})")
    String syncInterval;

    @Option(names = "--wal-size", paramLabel = "SIZE", description = "size of a new write-ahead log, wal.log (default: ${DEFAULT-VALUE}; an existing log keeps its size)")
    String walSize;

    @Option(names = "--checkpoint-interval", paramLabel = "DURATION", description = "longest time logged index changes wait before a checkpoint applies them to LMDB (default: ${DEFAULT-VALUE})")
    String checkpointInterval;

    @Option(names = "--overlay-slots", paramLabel = "N", description = "slots (64 bytes each) of each of the two in-memory tables holding changes not yet checkpointed, a power of two (default: ${DEFAULT-VALUE})")
    int overlaySlots;

    @Option(names = "--metrics-listen", paramLabel = "HOST:PORT", description = "serve Prometheus /metrics and /health/live, /health/ready over HTTP here, or off (default: ${DEFAULT-VALUE})")
    String metricsListen;

    public static void main(final String[] args)
    {
        System.setProperty("SimpleFormatter.format", "%1$tF %1$tT.%1$tL %4$s %5$s%6$s%n");
        final CommandLine cli = commandLine(new ServerMain());
        cli.setParameterExceptionHandler((e, a) ->
        {
            final PrintWriter err = e.getCommandLine().getErr();
            err.println("ringblocks-server: " + e.getMessage() + " (see --help)");
            return 2;
        });
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) ->
        {
            commandLine.getErr().println("ringblocks-server: " + Failures.describe(e));
            return e instanceof IllegalArgumentException ? 2 : 1;
        });
        System.exit(cli.execute(args));
    }

    /**
     * The command line as the launcher parses it: {@code @file} arguments (picocli's default) hold a node's settings,
     * and a flag given again, on the command line after the file, overrides it (the last one wins).
     */
    static CommandLine commandLine(final ServerMain main)
    {
        return new CommandLine(main).setOverwrittenOptionsAllowed(true);
    }

    /** A {@code HOST:PORT} option's two halves. */
    private record HostPort(String host, int port)
    {
        static HostPort parse(final String flag, final String text)
        {
            final int colon = text.lastIndexOf(':');
            if (colon <= 0 || colon == text.length() - 1)
            {
                throw new IllegalArgumentException(flag + " must be HOST:PORT, got '" + text + "'");
            }
            final int port;
            try
            {
                port = Integer.parseInt(text.substring(colon + 1));
            }
            catch (final NumberFormatException e)
            {
                throw new IllegalArgumentException(flag + " port is not a number: '" + text + "'");
            }
            if (port < 0 || port > ServerConfig.MAX_PORT)
            {
                throw new IllegalArgumentException(flag + " port must be in 0.." + ServerConfig.MAX_PORT + ": '" +
                    text + "'");
            }
            return new HostPort(text.substring(0, colon), port);
        }
    }

    ServerConfig config()
    {
        final HostPort address = HostPort.parse("--listen", listen);
        final HostPort metrics = "off".equals(metricsListen) ? null : HostPort.parse("--metrics-listen", metricsListen);
        final boolean durable = switch (sync)
        {
            case "sync" -> true;
            case "relaxed" -> false;
            default -> throw new IllegalArgumentException("--sync must be sync or relaxed, got '" + sync + "'");
        };
        final boolean direct = onOff("--direct-io", directIo);
        final boolean cached = onOff("--read-cache", readCache);
        final long blockSize = size("--max-block-size", maxBlockSize);
        final long scrub = sizeOrOff("--scrub-rate", scrubRate);
        final long idleMillis = isOff(idleTimeout) ? 0 : millis("--idle-timeout", idleTimeout);
        try
        {
            final JournalConfig journal = JournalConfig.builder()
                .logSize(size("--wal-size", walSize))
                .overlaySlots(overlaySlots)
                .syncIntervalNanos(duration("--sync-interval", syncInterval))
                .checkpointIntervalNanos(duration("--checkpoint-interval", checkpointInterval))
                .conclude();
            final StoreConfig store = StoreConfig.builder(data.toAbsolutePath())
                .maxSize(size("--max-size", maxSize))
                .durable(durable)
                .directIo(direct)
                .readCache(cached)
                .maxBlockSize((int)Math.min(blockSize, Integer.MAX_VALUE))
                .scrubRate(scrub)
                .journal(journal)
                .conclude();
            final ServerConfig.Builder server = ServerConfig.builder(store)
                .host(address.host())
                .port(address.port())
                .maxConnections(maxConnections)
                .maxInFlight(maxInFlight)
                .arenaSize(size("--arena-size", arenaSize))
                .blockCacheSize(sizeOrOff("--block-cache", blockCache))
                .multishotRecv(onOff("--multishot-recv", multishotRecv))
                .sendTimeoutMillis(millis("--send-timeout", sendTimeout))
                .requestTimeoutMillis(millis("--request-timeout", requestTimeout))
                .idleTimeoutMillis(idleMillis);
            if (workers != null)
            {
                server.workers(workers);
            }
            if (metrics != null)
            {
                server.metricsListen(metrics.host(), metrics.port());
            }
            return server.conclude();
        }
        catch (final IllegalArgumentException e)
        {
            throw new IllegalArgumentException(withFlag(e.getMessage()), e);
        }
    }

    private static boolean onOff(final String flag, final String value)
    {
        return switch (value)
        {
            case "on" -> true;
            case "off" -> false;
            default -> throw new IllegalArgumentException(flag + " must be on or off, got '" + value + "'");
        };
    }

    /** @return the JVM's direct memory limit: -XX:MaxDirectMemorySize, or the heap limit when it is not set. */
    private static long maxDirectMemory()
    {
        final HotSpotDiagnosticMXBean vm = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
        final long set = Long.parseLong(vm.getVMOption("MaxDirectMemorySize").getValue());
        return set > 0 ? set : Runtime.getRuntime().maxMemory();
    }

    /** A size, or an error naming {@code flag}. */
    private static long size(final String flag, final String text)
    {
        try
        {
            return Sizes.parse(text);
        }
        catch (final IllegalArgumentException e)
        {
            throw new IllegalArgumentException(flag + ": " + e.getMessage(), e);
        }
    }

    /** A size, or 0 for {@code off} and for zero in any unit ({@code 0}, {@code 0m}): what turns the feature off. */
    private static long sizeOrOff(final String flag, final String text)
    {
        return isOff(text) || text.trim().matches("0+([kKmMgGtT]([iI]?[bB])?|[bB])?") ? 0 : size(flag, text);
    }

    private static boolean isOff(final String text)
    {
        return "off".equalsIgnoreCase(text.trim());
    }

    /** A duration in nanoseconds, or an error naming {@code flag}. */
    private static long duration(final String flag, final String text)
    {
        try
        {
            return Sizes.durationNanos(text);
        }
        catch (final IllegalArgumentException e)
        {
            throw new IllegalArgumentException(flag + ": " + e.getMessage(), e);
        }
    }

    /** Whole milliseconds, what the configuration counts in: a fraction of one would be dropped, so it is refused. */
    private static long millis(final String flag, final String text)
    {
        final long nanos = duration(flag, text);
        if (nanos % 1_000_000L != 0)
        {
            throw new IllegalArgumentException(flag + " counts whole milliseconds, got '" + text + "'");
        }
        return nanos / 1_000_000L;
    }

    /**
     * A builder's message names a configuration field ("maxBlockSize must be ..."); prefixed with the flag that set
     * it and the text given there, the user sees what to change.
     */
    private String withFlag(final String message)
    {
        final String field = message.substring(0, Math.max(0, message.indexOf(' ')));
        final String flag = switch (field)
        {
            case "host", "port" -> "--listen " + listen;
            case "metricsHost", "metricsPort" -> "--metrics-listen " + metricsListen;
            case "dir" -> "--data " + data;
            case "workers" -> "--workers " + workers;
            case "maxConnections" -> "--max-connections " + maxConnections;
            case "maxInFlight" -> "--max-in-flight " + maxInFlight;
            case "arenaSize" -> "--arena-size " + arenaSize;
            case "blockCacheSize" -> "--block-cache " + blockCache;
            case "sendTimeoutMillis" -> "--send-timeout " + sendTimeout;
            case "requestTimeoutMillis" -> "--request-timeout " + requestTimeout;
            case "idleTimeoutMillis" -> "--idle-timeout " + idleTimeout;
            case "maxSize" -> "--max-size " + maxSize;
            case "maxBlockSize" -> "--max-block-size " + maxBlockSize;
            case "scrubRate" -> "--scrub-rate " + scrubRate;
            case "logSize" -> "--wal-size " + walSize;
            case "overlaySlots" -> "--overlay-slots " + overlaySlots;
            case "syncIntervalNanos" -> "--sync-interval " + syncInterval;
            case "checkpointIntervalNanos" -> "--checkpoint-interval " + checkpointInterval;
            default -> null;
        };
        return flag == null ? message : flag + ": " + message;
    }

    @Override
    public Integer call() throws Exception
    {
        final ServerConfig config = config();
        final String shortfall = MemoryBudget.shortfall(config, Runtime.getRuntime().maxMemory(), maxDirectMemory());
        if (shortfall != null)
        {
            throw new IllegalArgumentException(shortfall + ": pass JVM flags in RINGBLOCKS_JAVA_OPTS");
        }
        checkDataDirectory(config.store().dir());
        final StopSignals signals = StopSignals.install(); // before recovery, which a signal must not cut short
        final MetricsEndpoint metrics;
        try
        {
            metrics = MetricsEndpoint.startIfConfigured(config); // first: liveness holds during a long recovery
        }
        catch (final IOException | RuntimeException e)
        {
            throw new IllegalStateException("cannot serve metrics on " + metricsListen + ": " + Failures.describe(e), e);
        }
        final RingblocksServer server;
        try
        {
            server = RingblocksServer.start(config);
        }
        catch (final RuntimeException | Error e)
        {
            // An Error too: the endpoint's threads would keep a process that never served alive.
            if (metrics != null)
            {
                metrics.close();
            }
            if (e instanceof ErrnoException)
            {
                throw new IllegalStateException("cannot listen on " + listen + ": " + e.getMessage(), e);
            }
            throw e;
        }
        if (metrics != null)
        {
            metrics.attach(server);
        }
        System.out.println("ringblocks listening on " + config.host() + ":" + server.port() +
            " workers=" + config.workers() +
            " data=" + config.store().dir() +
            " max-size=" + config.store().maxSize() +
            " sync=" + (config.store().durable() ? "sync" : "relaxed") +
            " direct-io=" + (server.store().directIo() ? "on" :
                config.store().directIo() ? "off(refused-by-filesystem)" : "off") +
            " read-cache=" + (config.store().durable() ? readCache : "on(relaxed)") +
            " arena-size=" + config.arenaSize() +
            " wal-size=" + walSizeNow(server) +
            (config.store().durable() ? "" :
                " sync-interval=" + config.store().journal().syncIntervalNanos() / 1_000_000L + "ms") +
            " checkpoint-interval=" + config.store().journal().checkpointIntervalNanos() / 1_000_000L + "ms" +
            " overlay-slots=" + config.store().journal().overlaySlots() +
            " block-cache=" + config.blockCacheSize() +
            " multishot-recv=" + (config.multishotRecv() ? "on" : "off") +
            " max-connections=" + config.maxConnections() +
            " max-block-size=" + config.store().maxBlockSize() +
            " max-in-flight=" + config.maxInFlight() +
            " send-timeout=" + config.sendTimeoutMillis() + "ms" +
            " scrub-rate=" + config.store().scrubRate() +
            " request-timeout=" + config.requestTimeoutMillis() + "ms" +
            " idle-timeout=" + (config.idleTimeoutMillis() == 0 ? "off" : config.idleTimeoutMillis() + "ms") +
            " recovered=" + server.store().recoveredBlocks() + " blocks in " + server.store().recoveryMillis() + " ms" +
            (metrics == null ? "" : " metrics=http://" + config.metricsHost() + ":" + metrics.port() + "/metrics"));
        System.out.flush();
        signals.await();
        final long start = System.nanoTime();
        server.close(); // the endpoint stays up meanwhile: /health/ready answers 503 while shutting down
        if (metrics != null)
        {
            metrics.close();
        }
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
        catch (final IOException e)
        {
            throw new IllegalArgumentException("cannot create data directory " + dir + ": " +
                e.getClass().getSimpleName() + " " + e.getMessage());
        }
        if (!Files.isWritable(dir))
        {
            throw new IllegalArgumentException("data directory is not writable (its permissions, or a read-only filesystem): " + dir);
        }
    }

    /**
     * The flags' defaults, each taken from the constant the configuration builders default to, so that
     * {@code --help}, the README's table and the builders cannot drift apart; {@code --workers} has none (the
     * builder's default depends on the machine).
     */
    static final class Defaults implements CommandLine.IDefaultValueProvider
    {
        @Override
        public String defaultValue(final CommandLine.Model.ArgSpec argument)
        {
            if (!(argument instanceof CommandLine.Model.OptionSpec option))
            {
                return null;
            }
            return switch (option.longestName())
            {
                case "--listen" -> ServerConfig.DEFAULT_HOST + ":" + ServerConfig.DEFAULT_PORT;
                case "--data" -> DEFAULT_DATA;
                case "--max-size" -> Sizes.format(StoreConfig.DEFAULT_MAX_SIZE);
                case "--sync" -> StoreConfig.DEFAULT_DURABLE ? "sync" : "relaxed";
                case "--max-connections" -> Integer.toString(ServerConfig.DEFAULT_MAX_CONNECTIONS);
                case "--direct-io" -> StoreConfig.DEFAULT_DIRECT_IO ? "on" : "off";
                case "--read-cache" -> StoreConfig.DEFAULT_READ_CACHE ? "on" : "off";
                case "--max-block-size" -> Sizes.format(StoreConfig.DEFAULT_MAX_BLOCK_SIZE);
                case "--max-in-flight" -> Integer.toString(ServerConfig.DEFAULT_MAX_IN_FLIGHT);
                case "--arena-size" -> Sizes.format(ServerConfig.DEFAULT_ARENA_SIZE);
                case "--block-cache" -> Sizes.format(ServerConfig.DEFAULT_BLOCK_CACHE_SIZE);
                case "--multishot-recv" -> ServerConfig.DEFAULT_MULTISHOT_RECV ? "on" : "off";
                case "--send-timeout" -> Sizes.formatNanos(ServerConfig.DEFAULT_SEND_TIMEOUT_MILLIS * 1_000_000L);
                case "--scrub-rate" -> Sizes.format(StoreConfig.DEFAULT_SCRUB_RATE);
                case "--request-timeout" ->
                    Sizes.formatNanos(ServerConfig.DEFAULT_REQUEST_TIMEOUT_MILLIS * 1_000_000L);
                case "--idle-timeout" -> Sizes.formatNanos(ServerConfig.DEFAULT_IDLE_TIMEOUT_MILLIS * 1_000_000L);
                case "--sync-interval" -> Sizes.formatNanos(JournalConfig.DEFAULT_SYNC_INTERVAL_NANOS);
                case "--wal-size" -> Sizes.format(JournalConfig.DEFAULT_LOG_SIZE);
                case "--checkpoint-interval" -> Sizes.formatNanos(JournalConfig.DEFAULT_CHECKPOINT_INTERVAL_NANOS);
                case "--overlay-slots" -> Integer.toString(JournalConfig.DEFAULT_OVERLAY_SLOTS);
                case "--metrics-listen" -> "off";
                default -> null;
            };
        }
    }

    /** @return the size of the log in use: an existing log keeps its own, a new one may be smaller on a small disk. */
    private static long walSizeNow(final RingblocksServer server)
    {
        final long[] figures = new long[io.ringblocks.storage.Store.JOURNAL_STATS.size()];
        server.store().journalStats(figures);
        return figures[io.ringblocks.storage.Store.journalStat("wal_size_bytes")];
    }
}
