package io.ringblocks.cli;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import io.ringblocks.server.RingblocksServer;
import io.ringblocks.server.ServerConfig;
import io.ringblocks.storage.StoreConfig;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * rbbench --redis against a strict in-test RESP server (and a real redis-server when one is installed): every
 * command must be exact RESP naming the block by its SHA-256 in hex, and every reply must be parsed and counted —
 * error replies and missing keys as errors. Never speed.
 */
class RedisBenchTest
{
    @TempDir
    Path dir;

    private record Run(int exit, String output)
    {
    }

    private static Run bench(final String... args)
    {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        final PrintStream saved = System.out;
        final int exit;
        try (PrintStream capture = new PrintStream(out, true, StandardCharsets.UTF_8))
        {
            System.setOut(capture);
            exit = new CommandLine(new Bench()).execute(args);
        }
        finally
        {
            System.setOut(saved);
        }
        return new Run(exit, out.toString(StandardCharsets.UTF_8));
    }

    private static double field(final String json, final String name)
    {
        final Matcher m = Pattern.compile("\"" + name + "\":([0-9.]+)").matcher(json);
        assertTrue(m.find(), name + " in " + json);
        return Double.parseDouble(m.group(1));
    }

    @Test
    void shouldSetEveryBlockUnderItsHexHashInExactRespAndReadItBack() throws Exception
    {
        try (FakeRedis redis = new FakeRedis(FakeRedis.Mode.NORMAL))
        {
            final Run run = bench("--redis", "127.0.0.1:" + redis.port(), "--json", "-size", "4k", "-blocks", "50",
                "-mix", "1:1:0", "-concurrency", "4", "-pipeline", "4", "-requests", "2000", "-verify", "1");
            assertEquals(0, run.exit(), run.output());
            assertNull(redis.violation.get(), "every command exact RESP");
            assertEquals(0, field(run.output(), "errors"), run.output());
            assertEquals(0, field(run.output(), "verify_failures"), run.output());
            assertTrue(field(run.output(), "verified_gets") > 100, run.output());
            // 50 SETs store the GET blocks first, then exactly the 2000 requests asked for.
            assertEquals(50 + 2000, redis.sets.get() + redis.gets.get());
            assertTrue(redis.sets.get() > 50 + 500 && redis.gets.get() > 500, redis.sets + " " + redis.gets);
            assertEquals(redis.sets.get(), redis.store.size(), "every PUT unique content, so a new key");
            assertEquals(List.of(), redis.wrongKeys, "each key is the SHA-256 of its value");
        }
    }

    @Test
    void shouldRunEachWorkloadAgainstRingblocksThenRedisWhenGivenBoth() throws Exception
    {
        try (FakeRedis redis = new FakeRedis(FakeRedis.Mode.NORMAL);
            RingblocksServer server = RingblocksServer.start(ServerConfig.builder(
                StoreConfig.builder(dir.resolve("data")).maxSize(64L << 20).conclude()).port(0).workers(1).conclude()))
        {
            final Run run = bench("--server", "127.0.0.1:" + server.port(), "--redis", "127.0.0.1:" + redis.port(),
                "--json", "-size", "4k", "-blocks", "10", "-mix", "0:1:0", "-concurrency", "1,2", "-requests", "100");
            assertEquals(0, run.exit(), run.output());
            final List<String> lines = run.output().lines().toList();
            assertEquals(4, lines.size(), run.output());
            for (int i = 0; i < lines.size(); i++)
            {
                final String first = i % 2 == 0 ? "ringblocks" : "redis";
                assertTrue(lines.get(i).startsWith("{\"server\":\"" + first + "\""), lines.get(i));
                assertEquals(i < 2 ? 1 : 2, field(lines.get(i), "connections"), lines.get(i));
                assertEquals(0, field(lines.get(i), "errors"), lines.get(i));
            }
            assertEquals(10 + 2 * 100, redis.sets.get() + redis.gets.get());
        }
    }

    @Test
    void shouldCountMissingKeysAsErrors() throws Exception
    {
        try (FakeRedis redis = new FakeRedis(FakeRedis.Mode.FORGETFUL))
        {
            final Run run = bench("--redis", "127.0.0.1:" + redis.port(), "--json", "-size", "1k", "-blocks", "20",
                "-mix", "0:1:0", "-concurrency", "2", "-pipeline", "3", "-requests", "300");
            assertEquals(1, run.exit(), run.output());
            assertEquals(300, field(run.output(), "errors"), run.output());
            assertEquals(300, redis.gets.get());
        }
    }

    @Test
    void shouldCountErrorRepliesAsErrors() throws Exception
    {
        try (FakeRedis redis = new FakeRedis(FakeRedis.Mode.READ_ONLY))
        {
            final Run run = bench("--redis", "127.0.0.1:" + redis.port(), "-size", "4k", "-mix", "1:0:0",
                "-concurrency", "3", "-pipeline", "2", "-requests", "200");
            assertEquals(1, run.exit(), run.output());
            assertTrue(run.output().contains("first error: error reply: READONLY You can't write"), run.output());
            assertTrue(run.output().matches("(?s).*PUT 4k +3 +2 .* 200 +\\S+ +\\S+\\n.*"), run.output());
            assertEquals(200, redis.sets.get());
        }
    }

    @Test
    void shouldRunTheSameWorkloadAgainstARealRedisWhenOneIsInstalled() throws Exception
    {
        final Path binary = Stream.of(System.getenv("PATH").split(":")).map(p -> Path.of(p, "redis-server"))
            .filter(java.nio.file.Files::isExecutable).findFirst().orElse(null);
        assumeTrue(binary != null, "redis-server is not installed");
        final int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress()))
        {
            port = s.getLocalPort();
        }
        final Process redis = new ProcessBuilder(binary.toString(), "--bind", "127.0.0.1", "--port",
            Integer.toString(port), "--dir", dir.toString(), "--save", "", "--appendonly", "no", "--daemonize", "no")
            .redirectErrorStream(true).redirectOutput(dir.resolve("redis.log").toFile()).start();
        try
        {
            waitForPort(port, redis);
            final Run run = bench("--redis", "127.0.0.1:" + port, "--redis-pid", Long.toString(redis.pid()),
                "--json", "-size", "64k", "-blocks", "30", "-mix", "1:1:0", "-concurrency", "3", "-pipeline", "5",
                "-requests", "600", "-verify", "1");
            assertEquals(0, run.exit(), run.output());
            assertEquals(0, field(run.output(), "errors"), run.output());
            assertEquals(0, field(run.output(), "verify_failures"), run.output());
            assertTrue(field(run.output(), "verified_gets") > 50, run.output());
        }
        finally
        {
            redis.destroy();
            redis.waitFor(10, TimeUnit.SECONDS);
        }
    }

    private static void waitForPort(final int port, final Process process) throws Exception
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < deadline && process.isAlive())
        {
            try (Socket probe = new Socket("127.0.0.1", port))
            {
                return;
            }
            catch (final IOException notYet)
            {
                Thread.sleep(20);
            }
        }
        throw new IllegalStateException("redis-server did not start");
    }

    /**
     * A strict RESP server: parses each command byte for byte (any deviation is recorded and closes the connection)
     * and answers SET and GET like Redis, or forgets every SET, or refuses every SET like a read-only replica.
     */
    private static final class FakeRedis implements AutoCloseable
    {
        enum Mode
        {
            NORMAL, FORGETFUL, READ_ONLY
        }

        private final Mode mode;
        private final ServerSocket server;
        private final Thread acceptor;
        final Map<String, byte[]> store = new ConcurrentHashMap<>();
        final AtomicInteger sets = new AtomicInteger();
        final AtomicInteger gets = new AtomicInteger();
        final List<String> wrongKeys = new CopyOnWriteArrayList<>();
        final AtomicReference<String> violation = new AtomicReference<>();

        FakeRedis(final Mode mode) throws IOException
        {
            this.mode = mode;
            server = new ServerSocket(0, 64, InetAddress.getLoopbackAddress());
            acceptor = Thread.ofVirtual().start(this::accept);
        }

        int port()
        {
            return server.getLocalPort();
        }

        private void accept()
        {
            while (!server.isClosed())
            {
                try
                {
                    final Socket s = server.accept();
                    Thread.ofVirtual().start(() -> serve(s));
                }
                catch (final IOException closed)
                {
                    return;
                }
            }
        }

        private void serve(final Socket socket)
        {
            try (socket)
            {
                final InputStream in = new java.io.BufferedInputStream(socket.getInputStream());
                final OutputStream out = new java.io.BufferedOutputStream(socket.getOutputStream());
                final MessageDigest sha = MessageDigest.getInstance("SHA-256");
                while (true)
                {
                    final int first = in.read();
                    if (first < 0)
                    {
                        return;
                    }
                    expect(first == '*', "a command starts with *");
                    final int count = number(in);
                    expect(count == 2 || count == 3, "GET has 2 arguments, SET 3");
                    final byte[][] args = new byte[count][];
                    for (int i = 0; i < count; i++)
                    {
                        expect(in.read() == '$', "each argument is a bulk string");
                        args[i] = in.readNBytes(number(in));
                        expect(in.read() == '\r' && in.read() == '\n', "a bulk string ends with CRLF");
                    }
                    final String command = new String(args[0], StandardCharsets.US_ASCII);
                    final String key = new String(args[1], StandardCharsets.US_ASCII);
                    expect(key.matches("[0-9a-f]{64}"), "the key is 64 lowercase hex characters");
                    if (command.equals("SET") && count == 3)
                    {
                        sets.incrementAndGet();
                        if (!HexFormat.of().formatHex(sha.digest(args[2])).equals(key))
                        {
                            wrongKeys.add(key);
                        }
                        if (mode == Mode.READ_ONLY)
                        {
                            out.write("-READONLY You can't write against a read only replica.\r\n".getBytes(
                                StandardCharsets.US_ASCII));
                        }
                        else
                        {
                            if (mode == Mode.NORMAL)
                            {
                                store.put(key, args[2]);
                            }
                            out.write("+OK\r\n".getBytes(StandardCharsets.US_ASCII));
                        }
                    }
                    else if (command.equals("GET") && count == 2)
                    {
                        gets.incrementAndGet();
                        final byte[] value = store.get(key);
                        if (value == null)
                        {
                            out.write("$-1\r\n".getBytes(StandardCharsets.US_ASCII));
                        }
                        else
                        {
                            out.write(("$" + value.length + "\r\n").getBytes(StandardCharsets.US_ASCII));
                            out.write(value);
                            out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
                        }
                    }
                    else
                    {
                        expect(false, "only SET key value and GET key: got " + command + " with " + count);
                    }
                    if (in.available() == 0)
                    {
                        out.flush(); // answer a pipelined batch in one write, like Redis
                    }
                }
            }
            catch (final IllegalStateException e)
            {
                violation.compareAndSet(null, e.getMessage());
            }
            catch (final IOException | java.security.NoSuchAlgorithmException e)
            {
                // The client closed: the end of a run.
            }
        }

        /** Reads a decimal terminated by CRLF: no sign, no spaces, at most 10 digits. */
        private static int number(final InputStream in) throws IOException
        {
            long value = 0;
            int digits = 0;
            while (true)
            {
                final int c = in.read();
                if (c < 0)
                {
                    throw new EOFException();
                }
                if (c == '\r')
                {
                    expect(in.read() == '\n' && digits > 0 && digits <= 10, "a length is digits then CRLF");
                    return (int)value;
                }
                expect(c >= '0' && c <= '9', "a length is digits");
                value = 10 * value + c - '0';
                digits++;
            }
        }

        private static void expect(final boolean condition, final String what)
        {
            if (!condition)
            {
                throw new IllegalStateException("not exact RESP: " + what);
            }
        }

        @Override
        public void close() throws Exception
        {
            server.close();
            acceptor.join();
        }
    }
}
