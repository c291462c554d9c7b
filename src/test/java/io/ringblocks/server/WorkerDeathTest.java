package io.ringblocks.server;

import java.nio.file.Path;
import java.util.Random;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.ringblocks.storage.JournalConfig;
import io.ringblocks.storage.StoreConfig;

import static io.ringblocks.server.ServerOperationsTest.DELETE;
import static io.ringblocks.server.ServerOperationsTest.OK;
import static io.ringblocks.server.ServerOperationsTest.PING;
import static io.ringblocks.server.ServerOperationsTest.PUT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A worker that dies (an Error escapes its loop) takes its listener out of the port's SO_REUSEPORT group, so every
 * new connection reaches a live worker instead of waiting in a backlog nobody accepts from, and its connections
 * leave the server-wide count; liveness reports it.
 */
class WorkerDeathTest
{
    @TempDir
    Path dir;

    private RingblocksServer server;

    @AfterEach
    void stop()
    {
        IoArena.dieOnFileIo = false;
        if (server != null)
        {
            server.close();
        }
    }

    @Test
    void shouldServeEveryNewConnectionFromTheWorkersStillAlive() throws Exception
    {
        IoArena.dieOnFileIo = true;
        server = RingblocksServer.start(ServerHarness.config(dir).toBuilder().workers(4).conclude());
        IoArena.dieOnFileIo = false;
        final byte[] large = ServerOperationsTest.random(new Random(13), 256 << 10); // written by its worker
        try (RawClient c = new RawClient(server.port()))
        {
            c.send(PUT, 0, 1, large);
            assertThrows(java.io.IOException.class, c::read, "the worker died with the PUT, and its connection");
        }
        final long deadline = System.nanoTime() + 5_000_000_000L;
        while (server.deadThread() == null && System.nanoTime() < deadline)
        {
            Thread.sleep(5); // the thread ends after closing its connections
        }
        assertNotNull(server.deadThread(), "liveness reports the dead worker");
        for (int i = 0; i < 64; i++)
        {
            try (RawClient c = new RawClient(server.port()))
            {
                c.socket.setSoTimeout(5_000);
                assertEquals(OK, c.call(PING, 0, i, new byte[0]).status(), "connection " + i);
            }
        }
        ServerHarness.awaitStat(server, "connections", 0);
    }

    @Test
    void shouldKeepCheckpointingAndReusingSpaceAfterAWorkerDiedHoldingItsCyclePin() throws Exception
    {
        // A small overlay and log, checkpointed every 2 ms: a pin left behind stops checkpoints within ~200 changes,
        // then the committer stops taking changes and writes on the live worker hang.
        final StoreConfig store = StoreConfig.builder(dir).maxSize(256L << 20).growStep(8L << 20)
            .indexMapSize(1L << 30).maxBatch(256)
            .journal(JournalConfig.builder().logSize(2L << 20).overlaySlots(1 << 10)
                .checkpointIntervalNanos(2_000_000L).conclude())
            .conclude();
        IoArena.dieOnFileIo = true;
        server = RingblocksServer.start(ServerHarness.config(dir).toBuilder().store(store).workers(2).conclude());
        IoArena.dieOnFileIo = false;
        final byte[] large = ServerOperationsTest.random(new Random(13), 256 << 10); // looked up (pinned), then written
        try (RawClient c = new RawClient(server.port()))
        {
            c.send(PUT, 0, 1, large);
            assertThrows(java.io.IOException.class, c::read, "the worker died with the PUT");
        }
        final long deadline = System.nanoTime() + 5_000_000_000L;
        while (server.deadThread() == null && System.nanoTime() < deadline)
        {
            Thread.sleep(5);
        }
        assertNotNull(server.deadThread());
        final Random random = new Random(1);
        final long checkpointsBefore = ServerHarness.stat(server, "checkpoints");
        try (RawClient c = new RawClient(server.port())) // small blocks are written by the committer: no worker I/O
        {
            c.socket.setSoTimeout(10_000);
            for (int i = 0; i < 1500; i++)
            {
                final byte[] block = ServerOperationsTest.random(random, 4096);
                assertEquals(OK, c.call(PUT, 0, 2L * i, block).status(), "PUT " + i);
                assertEquals(OK, c.call(DELETE, 0, 2L * i + 1, ServerOperationsTest.sha256(block)).status(),
                    "DELETE " + i);
            }
        }
        assertTrue(ServerHarness.stat(server, "checkpoints") > checkpointsBefore + 2, "checkpoints go on");
        assertTrue(ServerHarness.stat(server, "committer_limbo_blocks") < 1500, "deleted space is reused");
    }
}
