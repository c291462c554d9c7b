package io.ringblocks.storage;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.agrona.concurrent.SystemNanoClock;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.ringblocks.uring.Wakeup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * MARK_CORRUPT and heals in the committer, driven one duty cycle at a time: a mark only condemns the entry it was
 * read from, a PUT over a flagged entry replaces it and frees the bad copy through limbo, and concurrent heals or a
 * heal racing a DELETE leave every block referenced once or freed once.
 */
class CommitterHealTest
{
    @TempDir
    Path dir;

    private Wakeup wakeup;
    private BlockIndex index;
    private Committer committer;
    private CommitterClient client;
    private WorkerLink link;
    private final List<Long> released = new ArrayList<>();
    private final List<Integer> results = new ArrayList<>();
    private final UnsafeBuffer h = new UnsafeBuffer(ByteBuffer.allocateDirect(32));

    @BeforeEach
    void open()
    {
        wakeup = new Wakeup();
        index = new BlockIndex(dir.toFile(), 16L << 20, 8, true);
        link = new WorkerLink(0, 1 << 16, wakeup);
        committer = TestJournal.committer(dir, index, 1 << 16, new WorkerLink[]{link}, (offset, cls) -> released.add(offset),
            () -> 0, true, 64, 0L, new SystemNanoClock(), new ErrorHandler());
        client = new CommitterClient(committer, link);
        h.putLong(0, 0xC0FFEEL);
    }

    @AfterEach
    void close() throws Exception
    {
        TestJournal.closeAll();
        index.close();
        wakeup.close();
    }

    /** Runs one duty cycle (the whole pending batch) and returns the acknowledged results in order. */
    private List<Integer> cycle()
    {
        results.clear();
        committer.doWork();
        client.pollAcks((token, result) -> results.add(result), 100);
        return List.copyOf(results);
    }

    private long[] entry()
    {
        try (IndexReader reader = index.reader())
        {
            return reader.lookup(h, 0) ?
                new long[]{reader.offset(), reader.crc(), reader.corrupt() ? 1 : 0} : null;
        }
    }

    private void occupy(final long offset, final int crc)
    {
        assertTrue(client.publishOccupy(1, h, 0, offset, 4000, 0, crc));
    }

    @Test
    void shouldFlagOnlyTheEntryThatWasReadAndOnlyOnce()
    {
        occupy(4096, 7);
        assertEquals(List.of(Deltas.STORED), cycle());
        assertTrue(client.publishMarkCorrupt(2, h, 0, 8192));
        assertEquals(List.of(Deltas.NOT_FOUND), cycle(), "the entry points elsewhere: a stale read's mark");
        assertEquals(0, entry()[2]);
        assertTrue(client.publishMarkCorrupt(3, h, 0, 4096));
        assertTrue(client.publishMarkCorrupt(Deltas.NO_ACK, h, 0, 4096));
        assertEquals(List.of(Deltas.MARKED), cycle(), "the second mark is not acknowledged (NO_ACK)");
        assertEquals(List.of(4096L, 7L, 1L), List.of(entry()[0], entry()[1], entry()[2]));
        assertEquals(1, committer.corruptMarked());
        assertTrue(client.publishMarkCorrupt(4, h, 0, 4096));
        assertEquals(List.of(Deltas.DUPLICATE), cycle());
        assertEquals(1, committer.corruptMarked());
        committer.doWork();
        assertEquals(List.of(), released, "a repeated mark frees nothing: the flagged block is still indexed");
    }

    @Test
    void shouldReplaceAFlaggedEntryOnceWhenTwoHealsRace()
    {
        occupy(4096, 7);
        cycle();
        client.publishMarkCorrupt(2, h, 0, 4096);
        cycle();
        final ReadEpochs reads = new ReadEpochs(link);
        final long tag = reads.begin(client.epoch()); // a GET of the bad copy still in flight
        occupy(12288, 9);
        occupy(16384, 9);
        assertEquals(List.of(Deltas.STORED, Deltas.DUPLICATE), cycle());
        assertEquals(List.of(12288L, 9L, 0L), List.of(entry()[0], entry()[1], entry()[2]));
        committer.doWork();
        assertEquals(List.of(16384L), released, "the losing heal's copy is freed at once, the bad one waits");
        reads.end(tag);
        committer.doWork();
        assertEquals(List.of(16384L, 4096L), released);
        occupy(20480, 9);
        assertEquals(List.of(Deltas.DUPLICATE), cycle(), "a sound entry deduplicates again");
    }

    @Test
    void shouldFreeEveryCopyOnceWhenAHealRacesADelete()
    {
        occupy(4096, 7);
        cycle();
        client.publishMarkCorrupt(2, h, 0, 4096);
        cycle();
        occupy(8192, 9);
        assertTrue(client.publishFree(3, h, 0));
        assertEquals(List.of(Deltas.STORED, Deltas.DELETED), cycle());
        committer.doWork();
        assertEquals(List.of(4096L, 8192L), released);
        assertEquals(null, entry());

        occupy(12288, 7);
        cycle();
        client.publishMarkCorrupt(4, h, 0, 12288);
        cycle();
        assertTrue(client.publishFree(5, h, 0));
        occupy(16384, 9);
        assertEquals(List.of(Deltas.DELETED, Deltas.STORED), cycle());
        committer.doWork();
        assertEquals(List.of(4096L, 8192L, 12288L), released);
        assertEquals(List.of(16384L, 9L, 0L), List.of(entry()[0], entry()[1], entry()[2]));
        assertFalse(released.contains(16384L));
    }
}
