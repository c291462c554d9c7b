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
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * A release the allocator refuses (what a double free would look like) is a fault to report, never a reason to leave
 * a batch unanswered or to jam limbo: the committer answers every delta and goes on freeing the rest.
 */
class CommitterFaultsTest
{
    private static final long REFUSED = 8192;

    @TempDir
    Path dir;

    private Wakeup wakeup;
    private BlockIndex index;
    private Committer committer;
    private CommitterClient client;
    private final ErrorHandler errors = new ErrorHandler();
    private final List<Long> released = new ArrayList<>();
    private final List<Integer> results = new ArrayList<>();

    @BeforeEach
    void open()
    {
        wakeup = new Wakeup();
        index = new BlockIndex(dir.toFile(), 16L << 20, 8, true);
        final WorkerLink link = new WorkerLink(0, 1 << 16, wakeup);
        committer = TestJournal.committer(dir, index, 1 << 16, new WorkerLink[]{link}, (offset, cls) ->
        {
            if (offset == REFUSED)
            {
                throw new IllegalArgumentException("refused release of " + offset);
            }
            released.add(offset);
        }, () -> 0, true, 64, 0L, new SystemNanoClock(), errors);
        client = new CommitterClient(committer, link);
    }

    @AfterEach
    void close() throws Exception
    {
        TestJournal.closeAll();
        index.close();
        wakeup.close();
    }

    private static UnsafeBuffer hash(final long value)
    {
        final UnsafeBuffer h = new UnsafeBuffer(ByteBuffer.allocateDirect(32));
        h.putLong(0, value);
        return h;
    }

    private List<Integer> cycle()
    {
        results.clear();
        committer.doWork();
        client.pollAcks((token, result) -> results.add(result), 100);
        return List.copyOf(results);
    }

    @Test
    void shouldAnswerEveryDeltaOfABatchWhoseReleaseIsRefused()
    {
        final UnsafeBuffer a = hash(1);
        client.publishOccupy(1, a, 0, 4096, 4000, 0, 7);
        assertEquals(List.of(Deltas.STORED), cycle());
        client.publishOccupy(2, a, 0, REFUSED, 4000, 0, 7); // a duplicate: its never-indexed copy goes back
        client.publishOccupy(3, hash(2), 0, 12288, 4000, 0, 7);
        assertEquals(List.of(Deltas.DUPLICATE, Deltas.STORED), cycle(), "both answered despite the refusal");
        assertEquals(1, errors.errors(), "the refusal is reported");
    }

    @Test
    void shouldGoOnFreeingLimboPastARefusedRelease()
    {
        client.publishOccupy(1, hash(1), 0, REFUSED, 4000, 0, 7);
        client.publishOccupy(2, hash(2), 0, 16384, 4000, 0, 7);
        assertEquals(List.of(Deltas.STORED, Deltas.STORED), cycle());
        client.publishFree(3, hash(1), 0);
        client.publishFree(4, hash(2), 0);
        // The deletes commit, then limbo frees the first, which is refused: the fault leaves this duty cycle ...
        assertThrows(IllegalArgumentException.class, committer::doWork);
        // ... and the next one frees the rest instead of retrying the refused entry for ever.
        committer.doWork();
        assertEquals(List.of(16384L), released);
        assertEquals(0, committer.limboBlocks());
    }
}
