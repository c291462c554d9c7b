package io.ringblocks.metrics;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

import io.ringblocks.server.RingblocksServer;
import io.ringblocks.server.ServerConfig;

/**
 * The HTTP side door for operators ({@code --metrics-listen}): {@code /metrics} in the Prometheus text format (every
 * STATS figure, per-opcode latency histograms and the JVM's own metrics), {@code /health/live} (200 while every
 * server thread runs, recovery included) and {@code /health/ready} (200 once recovery is done and the server is
 * {@link #attach attached}, 503 while recovering, while shutting down or while new PUTs are refused for lack of
 * space). A failed write-ahead log fails both checks: only a restart recovers. The endpoint starts before the store
 * opens, so that a long recovery is not mistaken for a dead process. Two threads, a queue of 16 requests and 32
 * connections at most: a flood of HTTP requests is turned away (connections closed), never queued without bound,
 * and never touches the workers.
 */
public final class MetricsEndpoint implements AutoCloseable
{
    static final int THREADS = 2;
    static final int QUEUE = 16;
    /**
     * Open HTTP connections at most: the JDK server's own limit ({@value #MAX_CONNECTIONS_PROPERTY}), beyond which it
     * closes a new connection as soon as it accepts it. The property is global to the JVM and read once, when the
     * first JDK HTTP server of the process starts: a value the operator set ({@code -D} in RINGBLOCKS_JAVA_OPTS) wins,
     * and in a JVM where some other HTTP server started first, whatever that one read stays in force.
     */
    static final int MAX_CONNECTIONS = 32;
    static final String MAX_CONNECTIONS_PROPERTY = "jdk.httpserver.maxConnections";
    /** Longest a client may take to send its request (seconds): a slow one loses its connection, not a thread. */
    static final long MAX_REQUEST_SECONDS = 5;
    /** Longest a client may take to read its response (seconds). */
    static final long MAX_RESPONSE_SECONDS = 10;

    private final HTTPServer http;
    private final AtomicReference<RingblocksServer> server;

    private MetricsEndpoint(final HTTPServer http, final AtomicReference<RingblocksServer> server)
    {
        this.http = http;
        this.server = server;
    }

    /**
     * @return the endpoint the configuration asks for ({@link ServerConfig#metricsPort()}), serving JVM metrics and
     * "recovering" until {@link #attach}, or null when it asks for none.
     * @throws IOException when the address cannot be bound.
     */
    public static MetricsEndpoint startIfConfigured(final ServerConfig config) throws IOException
    {
        if (config.metricsPort() == ServerConfig.METRICS_OFF)
        {
            return null;
        }
        // Read once by the JDK server when first used. Without time limits a client sending its request (or reading
        // the response) a byte at a time holds one of the two threads for ever: two such clients starve the health
        // checks, and an orchestrator restarts a healthy server.
        defaultProperty(MAX_CONNECTIONS_PROPERTY, Integer.toString(MAX_CONNECTIONS));
        defaultProperty("sun.net.httpserver.maxReqTime", Long.toString(MAX_REQUEST_SECONDS));
        defaultProperty("sun.net.httpserver.maxRspTime", Long.toString(MAX_RESPONSE_SECONDS));
        final AtomicReference<RingblocksServer> server = new AtomicReference<>();
        final PrometheusRegistry registry = new PrometheusRegistry();
        registry.register(new PrometheusStats(server));
        JvmMetrics.builder().register(registry);
        final ThreadPoolExecutor executor = new ThreadPoolExecutor(THREADS, THREADS, 60, TimeUnit.SECONDS,
            new ArrayBlockingQueue<>(QUEUE), r ->
            {
                final Thread t = new Thread(r, "ringblocks-metrics");
                t.setDaemon(true);
                return t;
            }, new ThreadPoolExecutor.AbortPolicy()); // rejected: the JDK server closes that connection at once
        executor.allowCoreThreadTimeOut(true);
        try
        {
            return new MetricsEndpoint(HTTPServer.builder()
                .hostname(config.metricsHost())
                .port(config.metricsPort())
                .registry(registry)
                .executorService(executor)
                .registerHealthHandler(false)
                .defaultHandler(new Health(server))
                .buildAndStart(), server);
        }
        catch (final IOException | RuntimeException e)
        {
            executor.shutdownNow();
            throw e;
        }
    }

    private static void defaultProperty(final String name, final String value)
    {
        if (System.getProperty(name) == null)
        {
            System.setProperty(name, value);
        }
    }

    /** The server is up (recovery done): from now on its figures are served and readiness follows it. */
    public void attach(final RingblocksServer started)
    {
        server.set(started);
    }

    /** @return the bound port (useful with port 0). */
    public int port()
    {
        return http.getPort();
    }

    @Override
    public void close()
    {
        http.close();
    }

    /** Every path but {@code /metrics}: the two health checks, else 404. */
    private static final class Health implements HttpHandler
    {
        private final AtomicReference<RingblocksServer> server;

        Health(final AtomicReference<RingblocksServer> server)
        {
            this.server = server;
        }

        @Override
        public void handle(final HttpExchange exchange) throws IOException
        {
            try (exchange)
            {
                final String path = exchange.getRequestURI().getPath();
                final RingblocksServer s = server.get();
                final String problem;
                switch (path)
                {
                    case "/health/live" -> problem = s == null ? null : s.deadThread();
                    case "/health/ready" ->
                    {
                        final String dead = s == null ? "recovering" : s.deadThread();
                        problem = dead != null ? dead : !s.serving() ? "shutting down" : s.refusingWritesBecause();
                    }
                    default ->
                    {
                        answer(exchange, 404, "not found: try /metrics, /health/live or /health/ready\n");
                        return;
                    }
                }
                answer(exchange, problem == null ? 200 : 503, problem == null ? "ok\n" : problem + "\n");
            }
        }

        private static void answer(final HttpExchange exchange, final int status, final String body)
            throws IOException
        {
            final byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
            final boolean head = "HEAD".equals(exchange.getRequestMethod());
            exchange.sendResponseHeaders(status, head ? -1 : bytes.length);
            if (!head)
            {
                try (OutputStream out = exchange.getResponseBody())
                {
                    out.write(bytes);
                }
            }
        }
    }
}
