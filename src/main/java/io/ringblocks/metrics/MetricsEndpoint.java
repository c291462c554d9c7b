package io.ringblocks.metrics;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import com.sun.net.httpserver.HttpServer;
import io.prometheus.metrics.exporter.httpserver.MetricsHandler;
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
 * opens, so that a long recovery is not mistaken for a dead process. 32 connections at most, each request read and
 * answered on a virtual thread of its own: the JDK server reads a request on the executor, so with a few threads a
 * few clients that send one byte and stall would hold them all and the health checks would time out, and an
 * orchestrator restart a healthy server. A flood is turned away (connections closed), never queued without bound,
 * and never touches the workers; but every client that can reach the port shares the 32 connections, so it belongs
 * on a management interface.
 */
public final class MetricsEndpoint implements AutoCloseable
{
    /**
     * Open HTTP connections at most: the JDK server's own limit ({@value #MAX_CONNECTIONS_PROPERTY}), beyond which it
     * closes a new connection as soon as it accepts it. The property is global to the JVM and read once, when the
     * first JDK HTTP server of the process starts: a value the operator set ({@code -D} in RINGBLOCKS_JAVA_OPTS) wins,
     * and in a JVM where some other HTTP server started first, whatever that one read stays in force.
     */
    static final int MAX_CONNECTIONS = 32;
    static final String MAX_CONNECTIONS_PROPERTY = "jdk.httpserver.maxConnections";
    /**
     * Longest a client may take to send its request (seconds), also the longest a connection may stay open without
     * sending a byte, before its first request or after one: well under a probe's timeout, so connections held open
     * by stalled clients come free between two probes.
     */
    static final long MAX_REQUEST_SECONDS = 2;
    /** How often (milliseconds) the JDK server looks for connections that sent nothing: else only every 10 s. */
    static final long IDLE_CHECK_MILLIS = 1000;
    /** Longest a client may take to read its response (seconds). */
    static final long MAX_RESPONSE_SECONDS = 10;

    /**
     * Connections the kernel completes before the JDK server accepts them. Prometheus' own HTTPServer asks for 3: a
     * burst of connections then has further handshakes dropped, and a probe among them retried a second or more later.
     */
    static final int BACKLOG = 64;

    private final HttpServer http;
    private final ThreadPoolExecutor executor;
    private final AtomicReference<RingblocksServer> server;

    private MetricsEndpoint(final HttpServer http, final ThreadPoolExecutor executor,
        final AtomicReference<RingblocksServer> server)
    {
        this.http = http;
        this.executor = executor;
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
        // the response) a byte at a time holds its connection and thread for ever: enough of them take every
        // connection, and the health checks fail.
        defaultProperty(MAX_CONNECTIONS_PROPERTY, Integer.toString(MAX_CONNECTIONS));
        defaultProperty("sun.net.httpserver.maxReqTime", Long.toString(MAX_REQUEST_SECONDS));
        defaultProperty("sun.net.httpserver.maxRspTime", Long.toString(MAX_RESPONSE_SECONDS));
        defaultProperty("sun.net.httpserver.clockTick", Long.toString(IDLE_CHECK_MILLIS));
        // A kept-alive connection after its first request idles under this limit instead (30 s by default): so many
        // clients that each made one request and went quiet would hold every connection past a probe's patience.
        defaultProperty("sun.net.httpserver.idleInterval", Long.toString(MAX_REQUEST_SECONDS));
        final AtomicReference<RingblocksServer> server = new AtomicReference<>();
        final PrometheusRegistry registry = new PrometheusRegistry();
        registry.register(new PrometheusStats(server));
        JvmMetrics.builder().register(registry);
        final HttpServer http =
            HttpServer.create(new InetSocketAddress(config.metricsHost(), config.metricsPort()), BACKLOG);
        final ThreadPoolExecutor executor = exchanges();
        http.setExecutor(executor);
        http.createContext("/metrics", new MetricsHandler(registry));
        http.createContext("/", new Health(server));
        startDaemon(http);
        return new MetricsEndpoint(http, executor, server);
    }

    /** The JDK server's dispatcher thread is a daemon if its starter is: a forgotten endpoint must not keep the JVM. */
    private static void startDaemon(final HttpServer http)
    {
        final Thread starter = Thread.ofVirtual().start(http::start);
        boolean interrupted = false;
        while (starter.isAlive())
        {
            try
            {
                starter.join(); // a moment: returning before it, close() could race the start
            }
            catch (final InterruptedException e)
            {
                interrupted = true;
            }
        }
        if (interrupted)
        {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * A virtual thread per exchange, as many as connections may be open: a connection has one exchange at a time, so
     * none is refused while the connection limit holds. Twice that, because the thread that answered a connection's
     * last request may not have returned to the pool yet when its next request is handed over. A rejected exchange
     * has its connection closed by the JDK server; an operator's limit moves this one with it (none keeps ours).
     */
    private static ThreadPoolExecutor exchanges()
    {
        final int connections = Integer.getInteger(MAX_CONNECTIONS_PROPERTY, MAX_CONNECTIONS);
        final int threads = 2 * (connections > 0 ? connections : MAX_CONNECTIONS);
        return new ThreadPoolExecutor(0, threads, 30, TimeUnit.SECONDS, new SynchronousQueue<>(),
            Thread.ofVirtual().name("ringblocks-metrics-", 0).factory(), new ThreadPoolExecutor.AbortPolicy());
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
        return http.getAddress().getPort();
    }

    @Override
    public void close()
    {
        http.stop(0);
        executor.shutdown();
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
