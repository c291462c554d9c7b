package io.ringblocks.cli;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The server as a child JVM refusing data directories it must not open: one already served by another server
 * process, a truncated index file (which crashed the JVM with SIGBUS inside LMDB before it was checked), and blocks
 * larger than {@code --max-block-size}. Each refusal is one line and exit code 1, and never an hs_err file.
 */
class StartRefusalTest
{
    @TempDir
    Path dir;

    /** Starts a server on {@code data} and returns it once it listens. */
    private static Process startServer(final Path data, final String... extra) throws Exception
    {
        final List<String> args = new ArrayList<>(List.of("--data", data.toString(), "--workers", "1",
            "--max-size", "64m"));
        if (!List.of(extra).contains("--listen"))
        {
            args.addAll(List.of("--listen", "127.0.0.1:" + ServerMainTest.freePort()));
        }
        args.addAll(List.of(extra));
        final Process p = ServerMainTest.launch(data, args.toArray(String[]::new));
        final BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        String line;
        while ((line = out.readLine()) != null)
        {
            if (line.startsWith("ringblocks listening on"))
            {
                return p;
            }
        }
        p.waitFor(10, TimeUnit.SECONDS);
        throw new AssertionError("server did not start, exit " + p.exitValue());
    }

    private static void stop(final Process p) throws Exception
    {
        new ProcessBuilder("kill", "-TERM", Long.toString(p.pid())).start().waitFor();
        assertTrue(p.waitFor(20, TimeUnit.SECONDS), "no graceful stop");
        assertEquals(0, p.exitValue());
    }

    /** Runs a server that must refuse to start; returns its output lines after checking exit 1 and no crash. */
    private static List<String> refused(final Path data, final String... extra) throws Exception
    {
        final List<String> args = new ArrayList<>(List.of("--listen", "127.0.0.1:" + ServerMainTest.freePort(),
            "--data", data.toString(), "--workers", "1", "--max-size", "64m"));
        args.addAll(List.of(extra));
        final Process p = ServerMainTest.launch(data, args.toArray(String[]::new));
        final List<String> lines = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8)))
        {
            String line;
            while ((line = r.readLine()) != null)
            {
                lines.add(line);
            }
        }
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(1, p.exitValue(), "exit code; output: " + lines);
        assertEquals(1, lines.size(), "one line: " + lines);
        assertTrue(lines.get(0).startsWith("ringblocks-server: "), lines.get(0));
        assertFalse(Files.exists(Path.of("hs_err_pid" + p.pid() + ".log")), "the JVM crashed");
        return lines;
    }

    @Test
    void shouldRefuseASecondServerOnTheSameDataDirectory() throws Exception
    {
        final Path data = dir.resolve("data");
        final Process first = startServer(data);
        try
        {
            final String line = refused(data).get(0);
            assertEquals("ringblocks-server: data directory " + data + " is in use by another ringblocks process " +
                "(pid " + first.pid() + ", lock " + data.resolve("ringblocks.lock") + "): stop it first or use " +
                "another --data directory", line);
        }
        finally
        {
            stop(first);
        }
        stop(startServer(data)); // the lock went with the first server
    }

    @Test
    void shouldRefuseATruncatedIndexFileWithOneLineInsteadOfCrashing() throws Exception
    {
        final Path data = dir.resolve("data");
        stop(startServer(data));
        final Path mdb = data.resolve("index").resolve("data.mdb");
        try (java.nio.channels.FileChannel channel = java.nio.channels.FileChannel.open(mdb,
            java.nio.file.StandardOpenOption.WRITE))
        {
            channel.truncate(2 * 4096); // both meta pages stay; the pages they name are gone
        }
        final String line = refused(data).get(0);
        assertTrue(line.startsWith("ringblocks-server: index file " + mdb + " is damaged (truncated: 8192 bytes"), line);
        assertTrue(line.contains("tools/rbcheck --data " + data), line);
    }

    @Test
    void shouldSayWhichMaxBlockSizeAStoreNeeds() throws Exception
    {
        final Path data = dir.resolve("data");
        final int port = ServerMainTest.freePort();
        final Process server = startServer(data, "--max-block-size", "256k", "--listen", "127.0.0.1:" + port);
        try (io.ringblocks.client.BlockClient client = io.ringblocks.client.BlockClient.connect("127.0.0.1", port))
        {
            client.put(new byte[200_000]); // a 256k block
        }
        stop(server);
        assertEquals(List.of("ringblocks-server: data dir " + data + " holds blocks of up to 256k; " +
            "start with --max-block-size 256k or larger"), refused(data, "--max-block-size", "64k"));
        stop(startServer(data, "--max-block-size", "1m")); // larger is fine
    }
}
