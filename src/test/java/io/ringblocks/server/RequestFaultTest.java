package io.ringblocks.server;

import java.nio.file.Path;
import java.util.Random;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static io.ringblocks.server.ChecksumTest.stats;
import static io.ringblocks.server.ServerOperationsTest.DELETE;
import static io.ringblocks.server.ServerOperationsTest.GET;
import static io.ringblocks.server.ServerOperationsTest.OK;
import static io.ringblocks.server.ServerOperationsTest.PUT;
import static io.ringblocks.server.ServerOperationsTest.random;
import static io.ringblocks.server.ServerOperationsTest.sha256;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A step of a request that throws (here: the ring refusing a file read or write SQE, injected) costs that request an
 * INTERNAL_ERROR answer and nothing else: the connection goes on, no read pin is left behind to hold freed space in
 * limbo for ever, and the space of a block whose write never started goes back.
 */
class RequestFaultTest
{
    private static final int INTERNAL_ERROR = 10;
    private static final int BLOCK = 256 << 10; // written by the worker, not handed to the committer

    @TempDir
    Path dir;

    private RingblocksServer server;

    @AfterEach
    void stop()
    {
        IoArena.failFileIo = 0;
        if (server != null)
        {
            server.close();
        }
    }

    @Test
    void shouldAnswerInternalErrorForARequestWhoseStepThrewAndLeakNothing() throws Exception
    {
        final ServerConfig config = ServerHarness.config(dir).toBuilder().workers(1).blockCacheSize(0).conclude();
        IoArena.failFileIo = 4;
        server = RingblocksServer.start(config);
        IoArena.failFileIo = 0;
        final Random random = new Random(11);
        final byte[] block = random(random, BLOCK);
        final byte[] hash = sha256(block);
        try (RawClient c = new RawClient(server.port()))
        {
            // Every other file read or write is refused, four times: each request alternates with a retry.
            assertEquals(INTERNAL_ERROR, c.call(PUT, 0, 1, block).status(), "its write was refused");
            final RawClient.Response put = c.call(PUT, 0, 2, block);
            assertEquals(OK, put.status());
            assertArrayEquals(hash, put.body());
            assertEquals(INTERNAL_ERROR, c.call(GET, 0, 3, hash).status(), "its read was refused");
            assertArrayEquals(block, c.call(GET, 0, 4, hash).body());
            assertEquals(INTERNAL_ERROR, c.call(PUT, 0, 5, block).status(), "its read-back was refused");
            assertEquals(OK, c.call(PUT, 0, 6, block).status(), "deduplicated after a read-back");
            assertEquals(INTERNAL_ERROR, c.call(GET, 0, 7, hash).status());
            final RawClient.Response get = c.call(GET, 0, 8, hash);
            assertEquals(OK, get.status(), "faults injected no more");
            assertArrayEquals(block, get.body());
            assertArrayEquals(block, c.call(GET, 0, 9, hash).body());
            var stats = stats(c);
            assertEquals(4, stats.get("requests_abandoned"));
            assertEquals(4, stats.get("status_internal_error"));
            assertEquals(BLOCK, stats.get("store_used_bytes"), "the refused write's space went back");

            // No read pin was left: the deleted block leaves limbo and its space is free again.
            assertEquals(OK, c.call(DELETE, 0, 10, hash).status());
            final long deadline = System.nanoTime() + 20_000_000_000L;
            while ((stats = stats(c)).get("committer_limbo_blocks") > 0 || stats.get("store_used_bytes") > 0)
            {
                assertTrue(System.nanoTime() < deadline, "limbo " + stats.get("committer_limbo_blocks") +
                    " blocks, used " + stats.get("store_used_bytes") + " bytes");
                Thread.sleep(10);
            }
            final byte[] other = random(random, 5000);
            assertEquals(OK, c.call(PUT, 0, 11, other).status());
            assertArrayEquals(other, c.call(GET, 0, 12, sha256(other)).body());
        }
    }
}
