package io.ringblocks.cli;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** rbplot: rbbench --json lines in, the three charts and one Markdown table out; bad input in one line. */
class BenchPlotsTest
{
    private static final byte[] PNG = {(byte)0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

    @TempDir
    Path dir;

    private static String run(final String mix, final int size, final int conns, final long rate, final double mbs)
    {
        return String.format(java.util.Locale.ROOT, "{\"server\":\"ringblocks\",\"workload\":\"x\",\"size\":%d," +
            "\"mix\":\"%s\",\"connections\":%d,\"pipeline\":1,\"ops_per_s\":%.1f,\"mb_per_s\":%.1f,\"p50_us\":50.0," +
            "\"p90_us\":80.0,\"p99_us\":300.0,\"p999_us\":900.5,\"max_us\":1000.0,\"errors\":0,\"verified_gets\":0," +
            "\"verify_failures\":0,\"client_cpu_us_per_op\":1.00,\"server_cpu_us_per_op\":-1.00,\"rate\":%d}",
            size, mix, conns, mbs * 1e6 / size, mbs, rate);
    }

    @Test
    void shouldChartThroughputAndLatencyAndPrintOneTable() throws Exception
    {
        final Path results = dir.resolve("bench.jsonl");
        Files.write(results, java.util.List.of(
            run("1:0:0", 4096, 1, 0, 7.0), run("1:0:0", 65536, 1, 0, 60.0), run("1:0:0", 4096, 16, 0, 90.0),
            run("0:1:0", 4096, 1, 0, 70.0), run("0:1:0", 1 << 20, 1, 0, 1900.0),
            run("0:1:0", 4096, 64, 10_000, 41.0), run("0:1:0", 4096, 64, 40_000, 163.8),
            "# a comment line rbbench does not write, skipped"));
        final Path img = dir.resolve("img");
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        final PrintStream previous = System.out;
        final int exit;
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        try
        {
            exit = Cli.commandLine(new BenchPlots(), "rbplot").execute("--out", img.toString(), results.toString());
        }
        finally
        {
            System.setOut(previous);
        }
        assertEquals(0, exit, out.toString(StandardCharsets.UTF_8));
        for (final String name : new String[]{"throughput-put.png", "throughput-get.png", "latency-vs-load.png"})
        {
            final byte[] png = Files.readAllBytes(img.resolve(name));
            assertArrayEquals(PNG, Arrays.copyOf(png, PNG.length), name + " is a PNG");
            assertTrue(png.length > 10_000, name + " has a chart in it: " + png.length + " bytes");
        }
        final String table = out.toString(StandardCharsets.UTF_8);
        assertTrue(table.startsWith("| workload | conns | pipe | rate |"), table);
        assertTrue(table.contains("| PUT 4k | 16 | 1 | - |"), table);
        assertTrue(table.lines().anyMatch(l -> l.startsWith("| GET 4k | 64 | 1 | 40000 | ") &&
            l.endsWith(" | 163.8 | 50 | 300 | 901 |")), table);
        assertEquals(7 + 2, table.lines().filter(l -> l.startsWith("|")).count(), table);
    }

    @Test
    void shouldAnswerBadInputWithOneLine() throws Exception
    {
        final Path bad = dir.resolve("bad.jsonl");
        Files.writeString(bad, "{\"size\":4096}\n");
        for (final String[] args : new String[][]{{bad.toString()}, {dir.resolve("missing").toString()}, {}})
        {
            final java.io.StringWriter err = new java.io.StringWriter();
            final CommandLine cli = Cli.commandLine(new BenchPlots(), "rbplot");
            cli.setErr(new PrintWriter(err, true));
            assertEquals(2, cli.execute(args), err.toString());
            assertEquals(1, err.toString().strip().lines().count(), err.toString());
            assertTrue(err.toString().startsWith("rbplot: "), err.toString());
        }
    }
}
