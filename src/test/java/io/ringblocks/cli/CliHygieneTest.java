package io.ringblocks.cli;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every tool answers {@code --version}, and an unknown option with one line that points at {@code --help} and exit
 * code 2, never a usage dump or a stack trace.
 */
class CliHygieneTest
{
    private record Result(int exit, String out, String err)
    {
    }

    private static Result rbcat(final String... args)
    {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        final ByteArrayOutputStream err = new ByteArrayOutputStream();
        final int exit = RbCat.run(args, new ByteArrayInputStream(new byte[0]), new PrintStream(out, true),
            new PrintStream(err, true));
        return new Result(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private static Result rbcluster(final String... args)
    {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        final ByteArrayOutputStream err = new ByteArrayOutputStream();
        final int exit = RbCluster.run(args, new PrintStream(out, true), new PrintStream(err, true));
        return new Result(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private static Result picocli(final CommandLine cli, final String... args)
    {
        final StringWriter out = new StringWriter();
        final StringWriter err = new StringWriter();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        final int exit = cli.execute(args);
        return new Result(exit, out.toString(), err.toString());
    }

    private static void assertVersion(final Result r)
    {
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().startsWith("ringblocks "), r.out());
    }

    private static void assertOneLineError(final Result r)
    {
        assertEquals(2, r.exit(), r.out() + r.err());
        assertEquals(1, r.err().strip().lines().count(), "one line: " + r.err());
        assertTrue(r.err().contains("--bogus") && r.err().contains("--help"), r.err());
    }

    @Test
    void shouldAnswerVersionAndBadOptionsTheSameWayInEveryTool()
    {
        assertVersion(rbcat("--version"));
        assertOneLineError(rbcat("--bogus"));
        assertVersion(rbcluster("--version"));
        assertOneLineError(rbcluster("--members", "127.0.0.1:1", "status", "--bogus"));
        assertVersion(picocli(Bench.commandLine(), "--version"));
        assertOneLineError(picocli(Bench.commandLine(), "--bogus"));
        assertVersion(picocli(Cli.commandLine(new BenchPlots(), "rbplot"), "--version"));
        assertOneLineError(picocli(Cli.commandLine(new BenchPlots(), "rbplot"), "--bogus", "x.jsonl"));
    }

    @Test
    void shouldRefuseABadBenchmarkMixBeforeStartingAnything()
    {
        // It used to start a server and print a table header first, then a stack trace.
        for (final String mix : new String[]{"put:get", "1:x:0", "0:0:0", "1:2"})
        {
            final Result r = picocli(Bench.commandLine(), "-mix", mix);
            assertEquals(2, r.exit(), r.err());
            assertEquals("", r.out(), "nothing started, nothing printed");
            assertEquals(1, r.err().strip().lines().count(), r.err());
            assertTrue(r.err().startsWith("rbbench: -mix ") && r.err().contains(mix), r.err());
        }
    }
}
