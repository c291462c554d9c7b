package io.ringblocks.cli;

import java.io.BufferedReader;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The server CLI under {@code ulimit -n 256}, asked for far more connections than it has descriptors: each one is
 * either served or answered BUSY and closed, the log stays short, and the server serves again once they are gone.
 */
class DescriptorExhaustionTest
{
    private static final int CONNECTIONS = 600;
    private static final int BUSY = 9;

    @TempDir
    Path dir;

    @Test
    void shouldAnswerBusyWhenOutOfDescriptorsAndKeepServing() throws Exception
    {
        final int port = ServerMainTest.freePort();
        final List<String> command = new ArrayList<>(List.of(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(), "@tools/jvm.options",
            "-cp", System.getProperty("java.class.path"), ServerMain.class.getName(),
            "--listen", "127.0.0.1:" + port, "--data", dir.resolve("data").toString(), "--workers", "1",
            "--max-size", "64m", "--sync", "relaxed"));
        final StringBuilder shell = new StringBuilder("ulimit -n 256; exec");
        for (final String arg : command)
        {
            shell.append(" '").append(arg.replace("'", "'\\''")).append('\'');
        }
        final Process server = new ProcessBuilder("bash", "-c", shell.toString())
            .directory(Path.of("").toAbsolutePath().toFile()).redirectErrorStream(true).start();
        final List<String> log = new CopyOnWriteArrayList<>();
        final Thread reader = new Thread(() -> drain(server, log), "server-output");
        reader.setDaemon(true);
        reader.start();
        final List<Socket> sockets = new ArrayList<>();
        try
        {
            awaitLine(log, "ringblocks listening");
            final Socket control = connect(port);
            assertEquals(0, ping(control), "the first connection is served");
            // The child loads classes from target/classes, one file each: out of descriptors it could not load
            // those STATS needs the first time (a packaged jar has its file open already).
            stats(control);
            for (int i = 0; i < CONNECTIONS; i++)
            {
                sockets.add(connect(port));
            }
            // Every connection is either accepted or shed before any is judged.
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            long accepted = 0;
            long shed = 0;
            while (accepted + shed < CONNECTIONS + 1 && System.nanoTime() < deadline)
            {
                final String stats = stats(control);
                accepted = stat(stats, "connections_accepted");
                shed = stat(stats, "connections_shed_no_fd");
                Thread.sleep(20);
            }
            assertEquals(CONNECTIONS + 1, accepted + shed, "connections neither accepted nor shed; log: " + log);
            assertTrue(shed > 0, "the descriptors never ran out: " + accepted + " accepted");
            int served = 0;
            int busy = 0;
            for (final Socket s : sockets)
            {
                // A shed connection's BUSY frame (and FIN) arrived before the server counted it, over loopback.
                if (s.getInputStream().available() > 0)
                {
                    final byte[] head = new byte[16];
                    new DataInputStream(s.getInputStream()).readFully(head);
                    assertEquals(BUSY, head[6], "an unsolicited frame that is not BUSY");
                    assertEquals(-1, s.getInputStream().read(), "BUSY, then the connection ends");
                    busy++;
                }
                else
                {
                    assertEquals(0, ping(s), "an accepted connection is served");
                    served++;
                }
            }
            assertEquals(CONNECTIONS, served + busy);
            assertEquals(shed, busy);
            for (final Socket s : sockets)
            {
                s.close();
            }
            sockets.clear();
            control.close();
            awaitServed(port);
            final long emfileLines = log.stream().filter(l -> l.contains("EMFILE")).count();
            assertTrue(emfileLines >= 1 && emfileLines <= 3, "EMFILE lines: " + emfileLines + " " + log);
            new ProcessBuilder("kill", "-TERM", Long.toString(server.pid())).start().waitFor();
            assertTrue(server.waitFor(20, TimeUnit.SECONDS), "no graceful stop");
            assertEquals(0, server.exitValue(), log.toString());
        }
        catch (final IOException | AssertionError e)
        {
            throw new AssertionError("server output: " + String.join("\n", log), e);
        }
        finally
        {
            for (final Socket s : sockets)
            {
                s.close();
            }
            server.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }

    /** Once the crowd has gone, a new client is served (the descriptors of closed connections came back). */
    private static void awaitServed(final int port) throws Exception
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (true)
        {
            try (Socket s = connect(port))
            {
                s.setSoTimeout(5_000);
                final int status = ping(s);
                if (status == 0)
                {
                    return;
                }
                assertEquals(BUSY, status);
            }
            catch (final IOException e)
            {
                if (System.nanoTime() > deadline)
                {
                    throw e;
                }
            }
            assertTrue(System.nanoTime() < deadline, "no new client served after the others closed");
            Thread.sleep(50);
        }
    }

    private static Socket connect(final int port) throws IOException
    {
        final Socket s = new Socket();
        s.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
        s.setSoTimeout(10_000);
        return s;
    }

    /** @return the status of a PING on {@code s}. */
    private static int ping(final Socket s) throws IOException
    {
        s.getOutputStream().write(new byte[]{12, 0, 0, 0, 1, 1, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0});
        final byte[] head = new byte[16];
        new DataInputStream(s.getInputStream()).readFully(head);
        return head[6];
    }

    private static String stats(final Socket s) throws IOException
    {
        s.getOutputStream().write(new byte[]{12, 0, 0, 0, 1, 6, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0});
        final DataInputStream in = new DataInputStream(s.getInputStream());
        final byte[] head = new byte[16];
        in.readFully(head);
        final int length = ByteBuffer.wrap(head).order(ByteOrder.LITTLE_ENDIAN).getInt();
        final byte[] body = new byte[length - 12];
        in.readFully(body);
        assertEquals(0, head[6], "STATS status");
        return new String(body, StandardCharsets.UTF_8);
    }

    private static long stat(final String stats, final String name)
    {
        for (final String line : stats.split("\n"))
        {
            if (line.startsWith(name + " "))
            {
                return Long.parseLong(line.substring(name.length() + 1));
            }
        }
        throw new AssertionError("no stat " + name + " in " + stats);
    }

    private static void drain(final Process p, final List<String> into)
    {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8)))
        {
            String line;
            while ((line = r.readLine()) != null)
            {
                into.add(line);
            }
        }
        catch (final IOException e)
        {
            into.add("(output lost: " + e + ")");
        }
    }

    private static void awaitLine(final List<String> log, final String prefix) throws Exception
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (log.stream().noneMatch(l -> l.startsWith(prefix)))
        {
            assertTrue(System.nanoTime() < deadline, "no line starting with '" + prefix + "': " + log);
            Thread.sleep(20);
        }
    }
}
