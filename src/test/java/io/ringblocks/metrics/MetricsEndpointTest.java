package io.ringblocks.metrics;

import java.io.IOException;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.ringblocks.client.BlockClient;
import io.ringblocks.server.RingblocksServer;
import io.ringblocks.server.ServerConfig;
import io.ringblocks.server.StatsVisitor;
import io.ringblocks.storage.JournalConfig;
import io.ringblocks.storage.SmallFilesystem;
import io.ringblocks.storage.StoreConfig;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A live server scraped over HTTP: the exposition parsed line by line (every family with help and type, every
 * sample of a declared family), every STATS figure present under its Prometheus name, counters that match what
 * was done, latency histograms that add up, and the health checks through recovery, a full disk and shutdown.
 */
class MetricsEndpointTest
{
    private static final Pattern SAMPLE =
        Pattern.compile("([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{[^}]*})? (-?[0-9.eE+-]+|NaN|[+-]Inf)");
    private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"");

    @TempDir
    Path dir;

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    static StoreConfig store(final Path data)
    {
        return StoreConfig.builder(data).maxSize(64L << 20).growStep(8L << 20).indexMapSize(1L << 30)
            .maxBatch(4096).journal(JournalConfig.builder().logSize(2L << 20).overlaySlots(1 << 14).conclude())
            .conclude();
    }

    static ServerConfig config(final Path data)
    {
        return ServerConfig.builder(store(data)).host("127.0.0.1").port(0).workers(2).arenaSize(16L << 20)
            .metricsListen("127.0.0.1", 0).conclude();
    }

    @Test
    void shouldServeEveryFigureInThePrometheusFormat() throws Exception
    {
        final ServerConfig config = config(dir);
        try (MetricsEndpoint endpoint = MetricsEndpoint.startIfConfigured(config))
        {
            assertNotNull(endpoint);
            // Before the store is open: alive, not ready, JVM metrics only.
            assertEquals(200, get(endpoint, "/health/live").statusCode());
            final HttpResponse<String> recovering = get(endpoint, "/health/ready");
            assertEquals(503, recovering.statusCode());
            assertEquals("recovering\n", recovering.body());
            assertFalse(get(endpoint, "/metrics").body().contains("ringblocks_"));

            try (RingblocksServer server = RingblocksServer.start(config))
            {
                endpoint.attach(server);
                final Random random = new Random(7);
                try (BlockClient client = BlockClient.connect("127.0.0.1", server.port()))
                {
                    for (int i = 0; i < 20; i++)
                    {
                        final byte[] block = new byte[1 + random.nextInt(70_000)];
                        random.nextBytes(block);
                        client.get(client.put(block));
                    }
                }
                final HttpResponse<String> scrape = get(endpoint, "/metrics");
                assertEquals(200, scrape.statusCode());
                final Exposition exposition = Exposition.parse(scrape.body());

                // Every figure of the report is there, under its name and labels, with its type.
                for (final Expected e : expected(server))
                {
                    assertEquals(e.type, exposition.types.get(e.family), e.family + " type");
                    assertTrue(exposition.samples.containsKey(e.sample), "missing " + e.sample);
                }
                assertEquals(20.0, exposition.value("ringblocks_requests_total{op=\"put\"}"));
                assertEquals(20.0, exposition.value("ringblocks_requests_total{op=\"get\"}"));
                assertTrue(exposition.value("ringblocks_responses_total{status=\"ok\"}") >= 40.0);
                assertTrue(exposition.value("ringblocks_committer_commit_seconds_total") > 0);
                assertTrue(exposition.value("ringblocks_uptime_seconds") > 0);
                assertTrue(exposition.value("ringblocks_store_used_bytes") > 0);
                assertEquals(1.0, exposition.value("ringblocks_durable"));

                // The PUT latency histogram: cumulative buckets ending at +Inf = count = the PUTs answered.
                assertEquals("histogram", exposition.types.get("ringblocks_request_duration_seconds"));
                final List<Double> buckets = exposition.series("ringblocks_request_duration_seconds_bucket",
                    "op=\"put\"");
                assertEquals(PrometheusStats.latencyBounds().length, buckets.size());
                for (int i = 1; i < buckets.size(); i++)
                {
                    assertTrue(buckets.get(i) >= buckets.get(i - 1), "buckets are cumulative");
                }
                assertEquals(20.0, buckets.get(buckets.size() - 1));
                assertEquals(20.0, exposition.value("ringblocks_request_duration_seconds_count{op=\"put\"}"));
                assertTrue(exposition.value("ringblocks_request_duration_seconds_sum{op=\"put\"}") > 0);

                // The JVM's own metrics ride along.
                assertEquals("gauge", exposition.types.get("jvm_memory_used_bytes"));

                assertEquals(200, get(endpoint, "/health/live").statusCode());
                final HttpResponse<String> ready = get(endpoint, "/health/ready");
                assertEquals(200, ready.statusCode());
                assertEquals("ok\n", ready.body());
                assertEquals(404, get(endpoint, "/elsewhere").statusCode());

                server.close();
                final HttpResponse<String> closing = get(endpoint, "/health/ready");
                assertEquals(503, closing.statusCode());
                assertEquals("shutting down\n", closing.body());
                assertEquals(200, get(endpoint, "/health/live").statusCode());
                // The store's figures are gone with it; the JVM's are still served.
                final HttpResponse<String> after = get(endpoint, "/metrics");
                assertEquals(200, after.statusCode());
                assertFalse(after.body().contains("ringblocks_"), after.body());
                assertTrue(after.body().contains("jvm_memory_used_bytes"));
            }
        }
    }

    @Test
    void shouldCountFramesOfAnUnknownOpcodeUnderOpNone() throws Exception
    {
        withAttachedServer((endpoint, server) ->
        {
            try (Socket s = new Socket("127.0.0.1", server.port()))
            {
                // length 12, version 1, opcode 0x42 (not defined), flags 0, request id 5.
                s.getOutputStream().write(new byte[]{12, 0, 0, 0, 1, 0x42, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0});
                final byte[] response = s.getInputStream().readNBytes(16);
                assertEquals(16, response.length);
                assertEquals(7, response[6], "UNKNOWN_OPCODE");
            }
            final Exposition exposition = Exposition.parse(get(endpoint, "/metrics").body());
            assertEquals(1.0, exposition.value("ringblocks_requests_total{op=\"none\"}"));
            // Received bytes count requests that were started: a refused frame's are not there, but the series is.
            exposition.value("ringblocks_received_bytes_total{op=\"none\"}");
            assertEquals(16.0, exposition.value("ringblocks_sent_bytes_total{op=\"none\"}"));
            // The latency is recorded once the error frame's send completed, which may come after the client read it.
            final long deadline = System.nanoTime() + 10_000_000_000L;
            while (Exposition.parse(get(endpoint, "/metrics").body())
                .value("ringblocks_request_duration_seconds_count{op=\"none\"}") < 1.0 && System.nanoTime() < deadline)
            {
                Thread.sleep(10);
            }
            assertEquals(1.0, Exposition.parse(get(endpoint, "/metrics").body())
                .value("ringblocks_request_duration_seconds_count{op=\"none\"}"));
            try (BlockClient client = BlockClient.connect("127.0.0.1", server.port()))
            {
                final Map<String, Long> stats = client.stats();
                assertEquals(1L, stats.get("requests_none"), "STATS too");
                assertTrue(stats.containsKey("bytes_in_none"), stats.toString());
                assertEquals(16L, stats.get("bytes_out_none"));
            }
        });
    }

    @Test
    void shouldNotBeReadyWhileTheDiskIsFull() throws Exception
    {
        try (SmallFilesystem fs = SmallFilesystem.tmpfs(dir, 48))
        {
            final Path data = Files.createDirectories(fs.path().resolve("data"));
            final ServerConfig config = config(data);
            try (MetricsEndpoint endpoint = MetricsEndpoint.startIfConfigured(config);
                RingblocksServer server = RingblocksServer.start(config))
            {
                endpoint.attach(server);
                assertEquals(200, get(endpoint, "/health/ready").statusCode());
                final Path filler = fs.path().resolve("filler");
                fs.fill(filler);
                final HttpResponse<String> full = awaitStatus(endpoint, 503);
                assertTrue(full.body().contains("nearly full"), full.body());
                assertEquals(200, get(endpoint, "/health/live").statusCode());
                Files.delete(filler);
                awaitStatus(endpoint, 200);
            }
        }
    }

    @Test
    void shouldAnswerHealthChecksWhileClientsStallInTheirRequests() throws Exception
    {
        withAttachedServer((endpoint, server) ->
        {
            final List<Socket> stalled = new ArrayList<>();
            try
            {
                // More than any small pool's threads and queue (the old endpoint had 2 and 16), fewer than the
                // connection limit: each sends one byte of a request line and nothing more.
                for (int i = 0; i < MetricsEndpoint.MAX_CONNECTIONS - 8; i++)
                {
                    final Socket s = new Socket("127.0.0.1", endpoint.port());
                    s.getOutputStream().write('G');
                    stalled.add(s);
                }
                Thread.sleep(200); // every stalled request handed to the executor before the probe arrives
                // Within the probes' timeout of deploy/kubernetes/ringblocks.yaml, as the kubelet would ask.
                final HttpResponse<String> live = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" +
                    endpoint.port() + "/health/live")).timeout(Duration.ofSeconds(5)).build(),
                    HttpResponse.BodyHandlers.ofString());
                assertEquals(200, live.statusCode());
                assertEquals("ok\n", live.body());
            }
            finally
            {
                for (final Socket s : stalled)
                {
                    s.close();
                }
            }
        });
    }

    @Test
    void shouldCloseConnectionsBeyondTheLimitAndServeAgainOnceTheyGo() throws Exception
    {
        final ServerConfig config = config(dir);
        try (MetricsEndpoint endpoint = MetricsEndpoint.startIfConfigured(config))
        {
            final int extra = 4;
            final List<Socket> idle = new ArrayList<>();
            try
            {
                // The kernel completes every handshake; the JDK server accepts in order and closes those past the cap.
                for (int i = 0; i < MetricsEndpoint.MAX_CONNECTIONS + extra; i++)
                {
                    idle.add(new Socket("127.0.0.1", endpoint.port()));
                }
                for (final Socket beyond : idle.subList(MetricsEndpoint.MAX_CONNECTIONS, idle.size()))
                {
                    assertTrue(closedByServer(beyond, 10_000), "a connection past the limit is closed");
                }
                for (final Socket kept : idle.subList(0, MetricsEndpoint.MAX_CONNECTIONS))
                {
                    assertFalse(closedByServer(kept, 1), "a connection within the limit stays open");
                }
            }
            finally
            {
                for (final Socket s : idle)
                {
                    s.close();
                }
            }
            assertEquals(200, awaitAnswer(endpoint, "/health/live"));
        }
    }

    /**
     * Connections that made a request and then went quiet are closed within a few seconds, not the JDK server's
     * default 30 s for kept-alive connections: else as many clients as the limit, each asking once, would hold every
     * connection for longer than a liveness probe waits.
     */
    @Test
    void shouldCloseKeptAliveConnectionsThatGoQuiet() throws Exception
    {
        final ServerConfig config = config(dir);
        try (MetricsEndpoint endpoint = MetricsEndpoint.startIfConfigured(config))
        {
            final List<Socket> quiet = new ArrayList<>();
            try
            {
                for (int i = 0; i < MetricsEndpoint.MAX_CONNECTIONS; i++)
                {
                    final Socket s = new Socket("127.0.0.1", endpoint.port());
                    s.getOutputStream().write("GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n"
                        .getBytes(StandardCharsets.US_ASCII));
                    readResponse(s);
                    quiet.add(s);
                }
                for (final Socket s : quiet)
                {
                    assertTrue(closedByServer(s, 10_000), "a quiet kept-alive connection is closed");
                }
            }
            finally
            {
                for (final Socket s : quiet)
                {
                    s.close();
                }
            }
            assertEquals(200, awaitAnswer(endpoint, "/health/live"));
        }
    }

    /** Reads one answer of the live check (its body is "ok\n"), leaving the connection open. */
    private static void readResponse(final Socket socket) throws IOException
    {
        final StringBuilder read = new StringBuilder();
        while (!read.toString().endsWith("\r\n\r\nok\n"))
        {
            final int b = socket.getInputStream().read();
            if (b < 0)
            {
                throw new IOException("closed before the answer was whole: " + read);
            }
            read.append((char)b);
        }
    }

    /** A test's body, given an endpoint with a started server attached. */
    private interface Attached
    {
        void run(MetricsEndpoint endpoint, RingblocksServer server) throws Exception;
    }

    private void withAttachedServer(final Attached body) throws Exception
    {
        final ServerConfig config = config(dir);
        try (MetricsEndpoint endpoint = MetricsEndpoint.startIfConfigured(config);
            RingblocksServer server = RingblocksServer.start(config))
        {
            endpoint.attach(server);
            body.run(endpoint, server);
        }
    }

    /** @return whether the server closed {@code socket} (end of stream or a reset) within {@code millis}. */
    private static boolean closedByServer(final Socket socket, final int millis) throws IOException
    {
        socket.setSoTimeout(millis);
        try
        {
            return socket.getInputStream().read() == -1;
        }
        catch (final SocketTimeoutException e)
        {
            return false;
        }
        catch (final SocketException e)
        {
            return true;
        }
    }

    /** @return the status of the first answer to {@code path}: connections the server still counts are refused. */
    private int awaitAnswer(final MetricsEndpoint endpoint, final String path) throws Exception
    {
        final long deadline = System.nanoTime() + 15_000_000_000L;
        while (true)
        {
            try
            {
                return get(endpoint, path).statusCode();
            }
            catch (final IOException e)
            {
                if (System.nanoTime() > deadline)
                {
                    throw e;
                }
                Thread.sleep(50);
            }
        }
    }

    @Test
    void shouldRefuseABadMetricsAddress()
    {
        final StoreConfig store = store(dir);
        assertThrows(IllegalArgumentException.class,
            () -> ServerConfig.builder(store).metricsListen("127.0.0.1", 70_000).conclude());
        assertThrows(IllegalArgumentException.class,
            () -> ServerConfig.builder(store).metricsListen(" ", 9464).conclude());
        assertEquals(ServerConfig.METRICS_OFF, ServerConfig.builder(store).conclude().metricsPort());
    }

    @Test
    void shouldFoldLatencyBucketsWithoutCountingAnyValueBelowItsBound()
    {
        // One value in one fine bucket at a time: it must land in the first exported bucket whose bound holds every
        // latency the fine bucket stands for (below its largest whole µs + 1), and nowhere else.
        final double[] bounds = PrometheusStats.latencyBounds();
        for (int b = 0; b < StatsVisitor.LATENCY_BUCKETS; b++)
        {
            final long[] fine = new long[StatsVisitor.LATENCY_BUCKETS];
            fine[b] = 1;
            final long[] coarse = PrometheusStats.latencyCounts(fine, 0);
            final double below = (StatsVisitor.latencyBucketUpperBound(b) + 1) / 1e6;
            int expected = 0;
            while (bounds[expected] < below)
            {
                expected++;
            }
            for (int k = 0; k < coarse.length; k++)
            {
                assertEquals(k == expected ? 1 : 0, coarse[k], "fine bucket " + b + ", exported bucket " + k);
            }
        }
        assertEquals(Double.POSITIVE_INFINITY, bounds[bounds.length - 1]);
    }

    private HttpResponse<String> awaitStatus(final MetricsEndpoint endpoint, final int status) throws Exception
    {
        final long deadline = System.nanoTime() + 15_000_000_000L;
        HttpResponse<String> r = get(endpoint, "/health/ready");
        while (r.statusCode() != status && System.nanoTime() < deadline)
        {
            Thread.sleep(50);
            r = get(endpoint, "/health/ready");
        }
        assertEquals(status, r.statusCode(), r.body());
        return r;
    }

    private HttpResponse<String> get(final MetricsEndpoint endpoint, final String path) throws Exception
    {
        final HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + endpoint.port() + path))
            .timeout(Duration.ofSeconds(10)).build();
        return http.send(request, HttpResponse.BodyHandlers.ofString());
    }

    /** What the report promises: each figure's family, type and one sample name with its labels. */
    private record Expected(String family, String type, String sample)
    {
    }

    private static List<Expected> expected(final RingblocksServer server)
    {
        final List<Expected> out = new ArrayList<>();
        server.report(new StatsVisitor()
        {
            @Override
            public void counter(final String name, final String help, final long value)
            {
                final String family = PrometheusStats.name(name) + "_total";
                out.add(new Expected(family, "counter", family));
            }

            @Override
            public void gauge(final String name, final String help, final long value)
            {
                out.add(new Expected(PrometheusStats.name(name), "gauge", PrometheusStats.name(name)));
            }

            @Override
            public void counter(final String stem, final String family, final String help, final String label,
                final String labelValue, final long value)
            {
                final String name = PrometheusStats.name(family) + "_total";
                out.add(new Expected(name, "counter", name + "{" + label + "=\"" + labelValue + "\"}"));
            }

            @Override
            public void gauge(final String stem, final String family, final String help, final String label,
                final String labelValue, final long value)
            {
                final String name = PrometheusStats.name(family);
                out.add(new Expected(name, "gauge", name + "{" + label + "=\"" + labelValue + "\"}"));
            }

            @Override
            public void latency(final String op, final long[] buckets, final int offset, final long count,
                final long sumMicros)
            {
                out.add(new Expected(PrometheusStats.LATENCY, "histogram",
                    PrometheusStats.LATENCY + "_count{op=\"" + op + "\"}"));
            }
        });
        assertTrue(out.size() > 100, "the report has " + out.size() + " figures");
        return out;
    }

    /** The text exposition format, checked strictly while it is read. */
    private static final class Exposition
    {
        final Map<String, String> types = new HashMap<>();
        final Map<String, Double> samples = new HashMap<>();
        final List<String> order = new ArrayList<>();

        static Exposition parse(final String text)
        {
            final Exposition e = new Exposition();
            final Set<String> helped = new HashSet<>();
            String family = null;
            for (final String line : text.split("\n"))
            {
                if (line.startsWith("# HELP "))
                {
                    final String[] parts = line.split(" ", 4);
                    assertEquals(4, parts.length, line);
                    assertTrue(helped.add(parts[2]), "one HELP per family: " + line);
                }
                else if (line.startsWith("# TYPE "))
                {
                    final String[] parts = line.split(" ");
                    assertEquals(4, parts.length, line);
                    assertTrue(Set.of("counter", "gauge", "histogram", "summary", "untyped", "info", "stateset",
                        "gaugehistogram", "unknown").contains(parts[3]), line);
                    assertTrue(helped.contains(parts[2]), "HELP before TYPE: " + line);
                    assertEquals(null, e.types.put(parts[2], parts[3]), "one TYPE per family: " + line);
                    family = parts[2];
                }
                else if (!line.isEmpty())
                {
                    final Matcher m = SAMPLE.matcher(line);
                    assertTrue(m.matches(), "not a sample line: " + line);
                    final String name = m.group(1);
                    assertNotNull(family, "sample before any TYPE: " + line);
                    assertTrue(name.startsWith(family.replaceAll("_total$", "")), line + " outside " + family);
                    final String labels = m.group(2) == null ? "" : m.group(2);
                    if (!labels.isEmpty())
                    {
                        final Matcher l = LABEL.matcher(labels.substring(1, labels.length() - 1));
                        int end = 0;
                        while (l.find())
                        {
                            end = l.end();
                        }
                        assertTrue(end > 0, "labels: " + line);
                    }
                    final String key = name + labels;
                    assertEquals(null, e.samples.put(key, Double.parseDouble(m.group(3).replace("Inf", "Infinity"))),
                        "duplicate sample: " + line);
                    e.order.add(key);
                }
            }
            return e;
        }

        double value(final String sample)
        {
            final Double v = samples.get(sample);
            assertNotNull(v, "missing " + sample);
            return v;
        }

        /** @return the values of {@code name}'s samples whose labels start with {@code labelsPrefix}, in order. */
        List<Double> series(final String name, final String labelsPrefix)
        {
            final List<Double> out = new ArrayList<>();
            for (final String key : order)
            {
                if (key.startsWith(name + "{" + labelsPrefix))
                {
                    out.add(samples.get(key));
                }
            }
            return out;
        }
    }
}
