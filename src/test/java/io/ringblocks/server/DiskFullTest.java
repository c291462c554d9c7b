package io.ringblocks.server;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.ringblocks.storage.StoreConfig;

import static io.ringblocks.server.ServerOperationsTest.GET;
import static io.ringblocks.server.ServerOperationsTest.OK;
import static io.ringblocks.server.ServerOperationsTest.PING;
import static io.ringblocks.server.ServerOperationsTest.PUT;
import static io.ringblocks.server.ServerOperationsTest.random;
import static io.ringblocks.server.ServerOperationsTest.sha256;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A real full filesystem (a 16 MiB tmpfs): growing the data file fails with ENOSPC, PUTs get NO_SPACE, everything
 * stored stays readable, the server runs on.
 */
class DiskFullTest
{
    private static final int NO_SPACE = 5;

    @TempDir
    Path dir;

    private static int run(final String... command) throws Exception
    {
        final Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        return p.waitFor(30, TimeUnit.SECONDS) ? p.exitValue() : -1;
    }

    @Test
    void shouldAnswerNoSpaceWhenTheFilesystemIsFullAndKeepServing() throws Exception
    {
        final Path mount = Files.createDirectories(dir.resolve("small"));
        assumeTrue(run("mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", mount.toString()) == 0,
            "needs root to mount a small tmpfs");
        try
        {
            final StoreConfig store = new StoreConfig(mount.resolve("data"), 1L << 30, true, true, true, 1 << 20,
                2L << 20, 1L << 30, 4096, 20_000L, 1 << 20, 1 << 20);
            final ServerConfig config = ServerHarness.config(dir).withStore(store);
            try (RingblocksServer server = RingblocksServer.start(config); RawClient c = new RawClient(server.port()))
            {
                final Random random = new Random(12);
                final List<byte[]> stored = new ArrayList<>();
                int noSpace = 0;
                for (int i = 0; i < 40 && noSpace < 5; i++)
                {
                    final byte[] block = random(random, 900_000);
                    final RawClient.Response r = c.call(PUT, 0, i, block);
                    if (r.status() == OK)
                    {
                        stored.add(block);
                    }
                    else
                    {
                        assertEquals(NO_SPACE, r.status(), "a full disk is NO_SPACE, not a crash");
                        noSpace++;
                    }
                }
                assertEquals(5, noSpace);
                assertTrue(stored.size() >= 2 && stored.size() < 16, "stored " + stored.size());
                for (final byte[] block : stored)
                {
                    assertArrayEquals(block, c.call(GET, 0, 100, sha256(block)).body());
                }
                assertEquals(OK, c.call(PING, 0, 101, new byte[0]).status());
                assertTrue(server.errors() >= 1, "the failed growth is reported to the error handler");
            }
        }
        finally
        {
            run("umount", mount.toString());
        }
    }
}
