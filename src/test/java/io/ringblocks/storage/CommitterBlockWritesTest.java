package io.ringblocks.storage;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.agrona.concurrent.SystemNanoClock;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.ringblocks.sys.LibC;
import io.ringblocks.uring.Wakeup;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Blocks handed to the committer unwritten (WRITE_OCCUPY): written through its own ring next to the batch's log
 * record, real kernel io_uring and a real file; the acknowledgement comes only after the bytes are in the file.
 */
@org.junit.jupiter.api.Timeout(60)
class CommitterBlockWritesTest
{
    private static final int BLOCK = 4096;

    @TempDir
    Path dir;

    private final List<Integer> results = new ArrayList<>();
    private final List<Long> released = new ArrayList<>();

    @AfterEach
    void closeJournals() throws Exception
    {
        TestJournal.closeAll();
    }

    private static UnsafeBuffer hash(final int n)
    {
        final UnsafeBuffer h = new UnsafeBuffer(ByteBuffer.allocateDirect(32));
        h.putLong(0, 0xB10C_0000L + n);
        return h;
    }

    private static MemorySegment block(final Arena arena, final int pages, final byte fill)
    {
        final MemorySegment s = arena.allocate((long)pages * BLOCK, BLOCK);
        s.fill(fill);
        return s;
    }

    private void commit(final Committer committer, final CommitterClient client, final int acks)
    {
        final long deadline = System.nanoTime() + 10_000_000_000L;
        while (results.size() < acks)
        {
            committer.doWork();
            client.pollAcks((token, result) -> results.add(result), 100);
            assertTrue(System.nanoTime() < deadline, "acks " + results + " of " + acks);
        }
    }

    @Test
    void shouldWriteHandedOverBlocksBeforeAcknowledgingAndSkipDuplicates() throws Exception
    {
        final Path data = dir.resolve("blocks.dat");
        Files.write(data, new byte[16 * BLOCK]);
        final int fd = LibC.open(data.toString(), LibC.O_RDWR | LibC.O_CLOEXEC, 0);
        assertTrue(fd >= 0, "open: " + fd);
        try (Wakeup wakeup = new Wakeup(); Arena arena = Arena.ofConfined();
            BlockIndex index = new BlockIndex(dir.toFile(), 16L << 20, 8, true))
        {
            final WorkerLink link = new WorkerLink(0, 1 << 16, wakeup);
            final Committer committer = TestJournal.committer(dir, index, 1 << 16, new WorkerLink[]{link},
                (offset, cls) -> released.add(offset), () -> 0, true, 64, 0L, new SystemNanoClock(),
                new ErrorHandler());
            committer.writeBlocksThrough(fd);
            final CommitterClient client = new CommitterClient(committer, link);

            // One batch: two new blocks (one of two pages), and the first one's content again elsewhere.
            final MemorySegment a = block(arena, 1, (byte)0xA1);
            final MemorySegment b = block(arena, 2, (byte)0xB2);
            assertTrue(client.publishWriteOccupy(1, hash(1), 0, 2 * BLOCK, BLOCK, 0, 11, a.address(), BLOCK));
            assertTrue(client.publishWriteOccupy(2, hash(2), 0, 4 * BLOCK, 2 * BLOCK, 1, 22, b.address(),
                2 * BLOCK));
            assertTrue(client.publishWriteOccupy(3, hash(1), 0, 8 * BLOCK, BLOCK, 0, 11, a.address(), BLOCK));
            commit(committer, client, 3);
            assertEquals(List.of(Deltas.STORED, Deltas.STORED, Deltas.DUPLICATE), results);

            final byte[] file = Files.readAllBytes(data);
            assertArrayEquals(a.toArray(ValueLayout.JAVA_BYTE), Arrays.copyOfRange(file, 2 * BLOCK, 3 * BLOCK));
            assertArrayEquals(b.toArray(ValueLayout.JAVA_BYTE), Arrays.copyOfRange(file, 4 * BLOCK, 6 * BLOCK));
            assertArrayEquals(new byte[BLOCK], Arrays.copyOfRange(file, 8 * BLOCK, 9 * BLOCK),
                "a duplicate is never written");
            assertEquals(List.of(8L * BLOCK), released, "the duplicate's space is given back");
            assertEquals(2, committer.blocksWritten());
            assertEquals(2, TestJournal.indexed(committer, index));
        }
        finally
        {
            LibC.close(fd);
        }
    }

    /** More blocks than the ring keeps in flight, through the ring and through the pwrite fallback. */
    @Test
    void shouldWriteManyBlocksInWavesAndWithoutARing() throws Exception
    {
        final int blocks = BlockWriter.MAX_IN_FLIGHT * 3 + 5;
        for (final boolean useRing : new boolean[]{true, false})
        {
            final Path data = dir.resolve("blocks-" + useRing + ".dat");
            Files.write(data, new byte[(blocks + 1) * BLOCK]);
            final int fd = LibC.open(data.toString(), LibC.O_RDWR | LibC.O_CLOEXEC, 0);
            assertTrue(fd >= 0, "open: " + fd);
            try (Arena arena = Arena.ofConfined(); BlockWriter writer = new BlockWriter(fd, blocks, useRing))
            {
                for (int batch = 0; batch < 2; batch++)
                {
                    writer.clear();
                    for (int i = 0; i < blocks; i++)
                    {
                        writer.add(block(arena, 1, (byte)(i * 7 + batch)).address(), BLOCK, (long)(i + 1) * BLOCK);
                    }
                    assertEquals(0, writer.start());
                    assertEquals(0, writer.await());
                    final byte[] file = Files.readAllBytes(data);
                    for (int i = 0; i < blocks; i++)
                    {
                        final byte[] expected = new byte[BLOCK];
                        Arrays.fill(expected, (byte)(i * 7 + batch));
                        assertArrayEquals(expected, Arrays.copyOfRange(file, (i + 1) * BLOCK, (i + 2) * BLOCK),
                            "block " + i + " of batch " + batch + (useRing ? " (ring)" : " (pwrite)"));
                    }
                }
                assertEquals(2L * blocks, writer.writes());
            }
            finally
            {
                LibC.close(fd);
            }
        }
    }

    @Test
    void shouldAnswerFailedAndStopLoggingWhenABlockWriteFails() throws IOException
    {
        final Path data = dir.resolve("blocks.dat");
        Files.write(data, new byte[4 * BLOCK]);
        // Read-only: every write through it fails with EBADF, as a dying disk's would with EIO.
        final int fd = LibC.open(data.toString(), LibC.O_RDONLY | LibC.O_CLOEXEC, 0);
        assertTrue(fd >= 0, "open: " + fd);
        final ErrorHandler errors = new ErrorHandler();
        try (Wakeup wakeup = new Wakeup(); Arena arena = Arena.ofConfined();
            BlockIndex index = new BlockIndex(dir.toFile(), 16L << 20, 8, true))
        {
            final WorkerLink link = new WorkerLink(0, 1 << 16, wakeup);
            final Committer committer = TestJournal.committer(dir, index, 1 << 16, new WorkerLink[]{link},
                (offset, cls) -> released.add(offset), () -> 0, true, 64, 0L, new SystemNanoClock(), errors);
            committer.writeBlocksThrough(fd);
            final CommitterClient client = new CommitterClient(committer, link);

            final MemorySegment a = block(arena, 1, (byte)0x5A);
            assertTrue(client.publishWriteOccupy(1, hash(1), 0, BLOCK, BLOCK, 0, 1, a.address(), BLOCK));
            commit(committer, client, 1);
            assertEquals(List.of(Deltas.FAILED), results);
            assertEquals(List.of((long)BLOCK), released, "the block's space is given back");
            assertTrue(errors.errors() > 0, "the failure was reported");
            assertEquals(0, committer.blocksWritten());

            // The record may be on disk naming a block that is not: nothing more is logged until a restart.
            assertTrue(client.publishOccupy(2, hash(2), 0, 2 * BLOCK, BLOCK, 0, 2));
            commit(committer, client, 2);
            assertEquals(List.of(Deltas.FAILED, Deltas.FAILED), results);
            assertTrue(!committer.lastFlushSucceeded(), "the journal is failed");
            assertEquals(0, index.count());
        }
        finally
        {
            LibC.close(fd);
        }
    }
}
