package io.ringblocks.cli;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HexFormat;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.ringblocks.server.RingblocksServer;
import io.ringblocks.server.ServerConfig;
import io.ringblocks.storage.StoreConfig;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RbCatTest
{
    private static final String HELLO = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

    @TempDir
    Path dir;

    private RingblocksServer start()
    {
        return RingblocksServer.start(ServerConfig.builder(StoreConfig.builder(dir.resolve("data")).maxSize(64L << 20)
            .conclude()).port(0).workers(1).conclude());
    }

    private static String[] run(final int port, final String input, final int expectedExit, final String... flags)
    {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        final ByteArrayOutputStream err = new ByteArrayOutputStream();
        final String[] args = new String[flags.length + 1];
        System.arraycopy(flags, 0, args, 0, flags.length);
        args[flags.length] = "127.0.0.1:" + port;
        final int exit = RbCat.run(args, new ByteArrayInputStream(input.getBytes(StandardCharsets.UTF_8)),
            new PrintStream(out, true), new PrintStream(err, true));
        assertEquals(expectedExit, exit, out + " / " + err);
        return out.toString(StandardCharsets.UTF_8).split("\n");
    }

    @Test
    void shouldRunPipedCommandsAndPrintOneResultEach() throws Exception
    {
        final Path in = dir.resolve("hello.txt");
        Files.writeString(in, "hello");
        final Path back = dir.resolve("back.bin");
        try (RingblocksServer server = start())
        {
            final String[] lines = run(server.port(),
                "put " + in + "\nhead " + HELLO + "\nget " + HELLO + " " + back + "\nping\nlist\nmissing " + HELLO +
                    " " + "00".repeat(32) + "\ndel " + HELLO + "\n", 0);
            assertEquals(HELLO, lines[0]);
            assertEquals("OK 5", lines[1]);
            assertEquals("OK 5", lines[2]);
            assertTrue(lines[3].startsWith("OK "), lines[3]);
            assertEquals(HELLO + " 5", lines[4], "list");
            assertEquals("00".repeat(32), lines[5], "missing");
            assertEquals("OK", lines[6]);
            assertArrayEquals("hello".getBytes(StandardCharsets.US_ASCII), Files.readAllBytes(back));
        }
    }

    @Test
    void shouldTalkToAClusterWithDashDashCluster() throws Exception
    {
        final Path in = dir.resolve("hello.txt");
        Files.writeString(in, "hello");
        try (RingblocksServer a = start(); RingblocksServer b = RingblocksServer.start(ServerConfig.builder(
            StoreConfig.builder(dir.resolve("data-b")).maxSize(64L << 20).conclude()).port(0).workers(1).conclude()))
        {
            final String members = "127.0.0.1:" + a.port() + ",127.0.0.1:" + b.port();
            final ByteArrayOutputStream out = new ByteArrayOutputStream();
            final int exit = RbCat.run(new String[]{"--cluster", members},
                new ByteArrayInputStream(("put " + in + "\nhead " + HELLO + "\nmissing " + HELLO + "\nlist\n")
                    .getBytes(StandardCharsets.UTF_8)), new PrintStream(out, true), new PrintStream(out, true));
            final String[] lines = out.toString(StandardCharsets.UTF_8).split("\n");
            assertEquals(1, exit, "list fails on a cluster: " + out);
            assertEquals(HELLO, lines[0]);
            assertEquals("OK 5", lines[1]);
            assertTrue(lines[2].startsWith("ERR CLIENT list walks one server"), lines[2]);
            // R = 2 of two members: both hold it.
            assertEquals("OK 5", run(a.port(), "head " + HELLO + "\n", 0)[0]);
            assertEquals("OK 5", run(b.port(), "head " + HELLO + "\n", 0)[0]);

            final ByteArrayOutputStream err = new ByteArrayOutputStream();
            assertEquals(2, RbCat.run(new String[]{}, new ByteArrayInputStream(new byte[0]),
                new PrintStream(new ByteArrayOutputStream(), true), new PrintStream(err, true)));
            assertTrue(err.toString(StandardCharsets.UTF_8).contains("either HOST:PORT or --cluster"), err.toString());
        }
    }

    @Test
    void shouldPrintCorruptForABlockWhoseBytesRotted() throws Exception
    {
        final Path in = dir.resolve("hello.txt");
        Files.writeString(in, "hello");
        try (RingblocksServer server = start())
        {
            assertEquals(HELLO, run(server.port(), "put " + in + "\n", 0)[0]);
            final long offset;
            try (io.ringblocks.storage.IndexReader reader = server.store().index().reader())
            {
                assertTrue(reader.lookup(new UnsafeBuffer(
                    HexFormat.of().parseHex(HELLO)), 0));
                offset = reader.offset();
            }
            try (FileChannel ch = FileChannel.open(
                dir.resolve("data").resolve("blocks.dat"), StandardOpenOption.WRITE))
            {
                ch.write(ByteBuffer.wrap("J".getBytes(StandardCharsets.US_ASCII)), offset);
                ch.force(false);
            }
            final String[] lines = run(server.port(), "get " + HELLO + " " + dir.resolve("x") + "\nhead " + HELLO +
                "\n", 1);
            assertTrue(lines[0].startsWith("ERR CORRUPT "), lines[0]);
            assertEquals("OK 5", lines[1]);
            assertTrue(Files.notExists(dir.resolve("x")) || Files.size(dir.resolve("x")) == 0, "no bytes written");
        }
    }

    @Test
    void shouldPrintErrorsAndExitNonZeroWhenACommandFails() throws Exception
    {
        try (RingblocksServer server = start())
        {
            final String[] lines = run(server.port(), "get " + HELLO + " " + dir.resolve("x") + "\ndel " + HELLO +
                "\nhead nothex\nfrobnicate\nstats\n", 1);
            assertTrue(lines[0].startsWith("ERR NOT_FOUND"), lines[0]);
            assertTrue(lines[1].startsWith("ERR NOT_FOUND"), lines[1]);
            assertTrue(lines[2].startsWith("ERR "), lines[2]);
            assertTrue(lines[3].startsWith("ERR CLIENT unknown command"), lines[3]);
            assertTrue(String.join("\n", lines).contains("uptime_ms "), "stats still ran");
        }
    }

    @Test
    void shouldTakeTheRestOfTheLineAsTheFileOfPutAndGet() throws Exception
    {
        final Path in = Files.createDirectories(dir.resolve("my files")).resolve("hello  there.txt");
        Files.writeString(in, "hello");
        final Path back = dir.resolve("my files").resolve("back again.bin");
        try (RingblocksServer server = start())
        {
            final String[] lines = run(server.port(), "put " + in + "\nget " + HELLO + " " + back + "\n", 0);
            assertEquals(HELLO, lines[0]);
            assertEquals("OK 5", lines[1]);
            assertArrayEquals("hello".getBytes(StandardCharsets.US_ASCII), Files.readAllBytes(back));
        }
    }

    @Test
    void shouldExitOneWhenTheServerCannotBeReachedAndTwoOnBadArguments() throws Exception
    {
        final int closed;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress()))
        {
            closed = s.getLocalPort();
        }
        final ByteArrayOutputStream err = new ByteArrayOutputStream();
        final ByteArrayInputStream ping = new ByteArrayInputStream("ping\n".getBytes(StandardCharsets.US_ASCII));
        assertEquals(1, RbCat.run(new String[]{"127.0.0.1:" + closed}, ping,
            new PrintStream(new ByteArrayOutputStream(), true), new PrintStream(err, true)),
            "a refused connection is a runtime failure, not a usage error: " + err);
        final String line = err.toString(StandardCharsets.UTF_8);
        assertEquals(1, line.strip().lines().count(), line);
        assertTrue(line.startsWith("rbcat: cannot connect to 127.0.0.1:" + closed) && line.contains("refused"), line);
        final ByteArrayOutputStream rawErr = new ByteArrayOutputStream();
        assertEquals(1, RbCat.run(new String[]{"--raw", "127.0.0.1:" + closed}, new ByteArrayInputStream(new byte[0]),
            new PrintStream(new ByteArrayOutputStream(), true), new PrintStream(rawErr, true)));
        final String rawLine = rawErr.toString(StandardCharsets.UTF_8);
        assertTrue(rawLine.startsWith("rbcat: cannot connect to 127.0.0.1:" + closed) && rawLine.contains("refused") &&
            rawLine.strip().lines().count() == 1, "--raw says it the same way: " + rawLine);
        assertEquals(2, RbCat.run(new String[]{"127.0.0.1"}, new ByteArrayInputStream(new byte[0]),
            new PrintStream(new ByteArrayOutputStream(), true), new PrintStream(new ByteArrayOutputStream(), true)),
            "no port: a usage error");
    }

    @Test
    void shouldStoreTheRestOfStdinWithPutDash() throws Exception
    {
        try (RingblocksServer server = start())
        {
            final String[] lines = run(server.port(), "put -\nhello", 0);
            assertEquals(HELLO, lines[0]);
        }
    }

    @Test
    void shouldSendRawHexFramesAndDecodeResponses() throws Exception
    {
        try (RingblocksServer server = start())
        {
            final String[] lines = run(server.port(),
                "0c000000 01 01 0000 0700000000000000\n0c000000014200000800000000000000\n", 1, "--raw");
            assertEquals("length=12 version=1 opcode=1 status=OK id=7 body=", lines[0]);
            assertEquals("length=12 version=1 opcode=66 status=UNKNOWN_OPCODE id=8 body=", lines[1]);
        }
    }
}
