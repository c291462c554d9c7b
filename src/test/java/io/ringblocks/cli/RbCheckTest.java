package io.ringblocks.cli;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.ringblocks.client.BlockClient;
import io.ringblocks.client.Hash;
import io.ringblocks.client.NotFoundException;
import io.ringblocks.storage.BlockIndex;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * rbcheck end to end: a server's data file is cut short inside its last block; the server refuses to start and
 * points at rbcheck; rbcheck reports the block and exits 1; {@code --repair} drops it; the server then starts and
 * serves every other block byte for byte, and answers NOT_FOUND for the lost one.
 */
class RbCheckTest
{
    @TempDir
    Path dir;

    private final ByteArrayOutputStream printed = new ByteArrayOutputStream();

    private int rbcheck(final String... args)
    {
        printed.reset();
        final PrintStream out = new PrintStream(printed, true, StandardCharsets.UTF_8);
        return RbCheck.run(args, out, out);
    }

    private Process server(final Path data, final int port) throws Exception
    {
        final Process p = ServerMainTest.launch(data, "--listen", "127.0.0.1:" + port, "--data", data.toString(),
            "--workers", "1", "--max-size", "64m");
        final BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        final List<String> lines = new ArrayList<>();
        String line;
        while ((line = out.readLine()) != null)
        {
            lines.add(line);
            if (line.startsWith("ringblocks listening on"))
            {
                return p;
            }
        }
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        throw new AssertionError("exit " + p.exitValue() + ": " + lines);
    }

    private static void stop(final Process p) throws Exception
    {
        new ProcessBuilder("kill", "-TERM", Long.toString(p.pid())).start().waitFor();
        assertTrue(p.waitFor(20, TimeUnit.SECONDS), "no graceful stop");
        assertEquals(0, p.exitValue());
    }

    @Test
    void shouldReportRepairAndLetTheServerServeTheIntactBlocks() throws Exception
    {
        final Path data = dir.resolve("data");
        final Map<Hash, byte[]> stored = new LinkedHashMap<>();
        final Random random = new Random(3);
        int port = ServerMainTest.freePort();
        Process server = server(data, port);
        try (BlockClient client = BlockClient.connect("127.0.0.1", port))
        {
            for (int i = 0; i < 10; i++)
            {
                final byte[] block = new byte[1 + random.nextInt(200_000)];
                random.nextBytes(block);
                stored.put(client.put(block), block);
            }
        }
        stop(server);
        final long[] last = {0, 0};
        final byte[] lastHash = new byte[32];
        try (BlockIndex index = new BlockIndex(data.resolve("index").toFile(), 1L << 30, 8, true))
        {
            index.forEach((hash, offset, length, sizeClass, generation, crc) ->
            {
                if (offset + length > last[0] + last[1])
                {
                    last[0] = offset;
                    last[1] = length;
                    hash.getBytes(0, lastHash);
                }
            });
        }
        try (FileChannel channel = FileChannel.open(data.resolve("blocks.dat"), StandardOpenOption.WRITE))
        {
            channel.truncate(last[0] + last[1] - 100);
        }
        final String victim = HexFormat.of().formatHex(lastHash);

        port = ServerMainTest.freePort();
        final Process refused = ServerMainTest.launch(data, "--listen", "127.0.0.1:" + port, "--data", data.toString());
        final String refusal = new String(refused.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertTrue(refused.waitFor(30, TimeUnit.SECONDS));
        assertEquals(1, refused.exitValue(), refusal);
        assertTrue(refusal.contains("does not hold indexed block " + victim) &&
            refusal.contains("tools/rbcheck --data " + data), refusal);

        assertEquals(1, rbcheck("--data", data.toString()), printed.toString(StandardCharsets.UTF_8));
        assertTrue(printed.toString(StandardCharsets.UTF_8).contains("bad block " + victim), printed.toString());
        assertTrue(printed.toString(StandardCharsets.UTF_8).contains("10 blocks checked, 1 bad"), printed.toString());
        assertEquals(0, rbcheck("--data", data.toString(), "--repair"), printed.toString(StandardCharsets.UTF_8));
        assertEquals(0, rbcheck("--data", data.toString()), printed.toString(StandardCharsets.UTF_8));

        server = server(data, port);
        try (BlockClient client = BlockClient.connect("127.0.0.1", port))
        {
            for (final Map.Entry<Hash, byte[]> e : stored.entrySet())
            {
                if (HexFormat.of().formatHex(e.getKey().bytes()).equals(victim))
                {
                    assertThrows(NotFoundException.class, () -> client.get(e.getKey()));
                }
                else
                {
                    assertArrayEquals(e.getValue(), client.get(e.getKey()));
                }
            }
        }
        finally
        {
            stop(server);
        }
    }

    @Test
    void shouldAnswerBadFlagsWithExitCodeTwo()
    {
        assertEquals(2, rbcheck());
        assertTrue(printed.toString(StandardCharsets.UTF_8).startsWith("rbcheck: Missing required option"),
            printed.toString());
        assertEquals(2, rbcheck("--data", dir.resolve("absent").toString()));
        assertEquals("rbcheck: --data is not a directory: " + dir.resolve("absent") + "\n",
            printed.toString(StandardCharsets.UTF_8));
    }
}
