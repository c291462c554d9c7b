package io.ringblocks.cli;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import io.ringblocks.server.RingblocksServer;
import io.ringblocks.server.ServerConfig;
import io.ringblocks.storage.StoreConfig;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * rbbench against a live server, seconds long: the load it generates must be correct (every answer OK, sampled
 * GETs verified byte for byte, exactly the requested count, never more than the open-loop schedule). Never speed.
 */
class BenchTest
{
    @TempDir
    Path dir;

    private RingblocksServer start()
    {
        return RingblocksServer.start(ServerConfig.builder(StoreConfig.builder(dir.resolve("data")).maxSize(256L << 20)
            .conclude()).port(0).workers(2).conclude());
    }

    private static String bench(final String... args)
    {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        final PrintStream saved = System.out;
        final int exit;
        try (PrintStream capture = new PrintStream(out, true, StandardCharsets.UTF_8))
        {
            System.setOut(capture);
            exit = Bench.commandLine().execute(args);
        }
        finally
        {
            System.setOut(saved);
        }
        final String text = out.toString(StandardCharsets.UTF_8);
        assertEquals(0, exit, text);
        return text;
    }

    private static double field(final String json, final String name)
    {
        final Matcher m = Pattern.compile("\"" + name + "\":([0-9.]+)").matcher(json);
        assertTrue(m.find(), name + " in " + json);
        return Double.parseDouble(m.group(1));
    }

    @Test
    void shouldRunAMixedPipelinedWorkloadOfExactlyTheRequestedCountWithoutErrors()
    {
        try (RingblocksServer server = start())
        {
            final String json = bench("--server", "127.0.0.1:" + server.port(), "--json", "-size", "8k",
                "-blocks", "200", "-mix", "1:2:1", "-concurrency", "8", "-pipeline", "4", "-requests", "4000",
                "-verify", "8");
            assertEquals(0, field(json, "errors"), json);
            assertEquals(0, field(json, "verify_failures"), json);
            assertTrue(field(json, "verified_gets") > 50, json);
            assertTrue(server.statsText().contains("requests_delete "), "the mix sent deletes");
            final long served = stat(server, "requests_put") + stat(server, "requests_get") +
                stat(server, "requests_delete");
            // 200 PUTs populate the GET blocks first; then exactly the 4000 requests asked for.
            assertEquals(200 + 4000, served, server.statsText());
        }
    }

    @Test
    void shouldNeverSendMoreThanTheOpenLoopScheduleAndAnswerEveryRequest()
    {
        try (RingblocksServer server = start())
        {
            final String json = bench("--server", "127.0.0.1:" + server.port(), "--json", "-size", "4k",
                "-blocks", "100", "-mix", "0:1:0", "-concurrency", "4", "-rate", "2000", "-duration", "1s",
                "-warmup", "200ms");
            assertEquals(0, field(json, "errors"), json);
            assertEquals(2000, field(json, "rate"), json);
            final long gets = stat(server, "requests_get");
            // 1.2 s at 2000/s: never more than the schedule (plus one tick of rounding).
            assertTrue(gets <= 2000 * 1.2 + 2, "sent ahead of the schedule: " + gets);
            assertTrue(gets > 0, json);
        }
    }

    private static long stat(final RingblocksServer server, final String name)
    {
        for (final String line : server.statsText().split("\n"))
        {
            if (line.startsWith(name + " "))
            {
                return Long.parseLong(line.substring(name.length() + 1));
            }
        }
        throw new AssertionError("no stat " + name);
    }

    /** --cluster: the workload through the cluster client over two members, every request answered OK. */
    @Test
    void shouldRunAWorkloadThroughTheClusterClient()
    {
        try (RingblocksServer a = start(); RingblocksServer b = RingblocksServer.start(ServerConfig.builder(
            StoreConfig.builder(dir.resolve("data-b")).maxSize(256L << 20).conclude()).port(0).workers(1).conclude()))
        {
            final String json = bench("--cluster", "127.0.0.1:" + a.port() + ",127.0.0.1:" + b.port(), "-size", "4k",
                "-mix", "1:2:1", "-blocks", "50", "-concurrency", "4", "-pipeline", "2", "-duration", "1s",
                "-warmup", "200ms", "--json");
            assertEquals(0.0, field(json, "errors"), json);
            assertTrue(field(json, "ops_per_s") > 0, json);
            assertEquals(2.0, field(json, "members"), json);
            final String refused = benchExit(2, "--cluster", "127.0.0.1:" + a.port(), "-rate", "100");
            assertTrue(refused.contains("closed-loop"), refused);
        }
    }

    private static String benchExit(final int expected, final String... args)
    {
        final ByteArrayOutputStream err = new ByteArrayOutputStream();
        final CommandLine cli = Bench.commandLine();
        cli.setErr(new PrintWriter(err, true));
        final int exit = cli.execute(args);
        assertEquals(expected, exit, err.toString(StandardCharsets.UTF_8));
        return err.toString(StandardCharsets.UTF_8);
    }
}
