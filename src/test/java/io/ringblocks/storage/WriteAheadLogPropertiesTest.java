package io.ringblocks.storage;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.statistics.Statistics;

import io.ringblocks.storage.WalTesting.Appended;
import io.ringblocks.storage.WalTesting.Collector;

import static io.ringblocks.storage.WalTesting.PAGE;
import static io.ringblocks.storage.WalTesting.STORE;
import static io.ringblocks.storage.WalTesting.append;
import static io.ringblocks.storage.WalTesting.effectsOf;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Random batches through a small log that wraps many times, checkpointed at random records (and whenever it is
 * full): replay from the last checkpoint gives back exactly the effects appended after it, and the append position.
 */
class WriteAheadLogPropertiesTest
{
    private static final long SIZE = 16L * PAGE;

    @Provide
    Arbitrary<List<Integer>> batches()
    {
        // Up to 300 effects: records of 1 to 5 pages in 15 pages of records.
        return Arbitraries.oneOf(Arbitraries.integers().between(1, 300), Arbitraries.integers().between(1, 8))
            .list().ofMinSize(30).ofMaxSize(150);
    }

    @Property(tries = 40)
    void shouldReplayExactlyTheEffectsAppendedAfterTheCheckpoint(
        @ForAll("batches") final List<Integer> batches, @ForAll final long seed) throws IOException
    {
        final Path dir = Files.createTempDirectory("wal-property");
        try
        {
            check(dir, batches, new Random(seed));
        }
        finally
        {
            try (Stream<Path> files = Files.walk(dir))
            {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private static void check(final Path dir, final List<Integer> batches, final Random random)
    {
        final List<Appended> appended = new ArrayList<>();
        int checkpoint = -1; // index of the last applied record
        final long next;
        try (WriteAheadLog wal = WriteAheadLog.open(dir, SIZE, STORE, true))
        {
            wal.startAppending(1, PAGE, 0, PAGE);
            for (final int count : batches)
            {
                if (random.nextInt(5) == 0 || !wal.hasRoom(count))
                {
                    checkpoint = advance(wal, appended, checkpoint, random);
                }
                while (!wal.hasRoom(count))
                {
                    assertTrue(checkpoint < appended.size() - 1, "an empty log has room for any record");
                    checkpoint = advance(wal, appended, checkpoint, random);
                }
                appended.add(append(wal, random, count, 1));
            }
            if (random.nextBoolean())
            {
                checkpoint = advance(wal, appended, checkpoint, random);
            }
            next = wal.nextPosition();
        }
        int wraps = 0;
        for (int i = 1; i < appended.size(); i++)
        {
            wraps += appended.get(i).start() < appended.get(i - 1).start() ? 1 : 0;
        }
        Statistics.label("wraps").collect(wraps == 0 ? "none" : wraps < 5 ? "1-4" : "5+");
        Statistics.label("wraps").coverage(coverage -> coverage.check("none").percentage(p -> p < 25));
        try (WriteAheadLog wal = WriteAheadLog.open(dir, SIZE, STORE, true))
        {
            final Collector collector = new Collector();
            final WriteAheadLog.Replay replay = checkpoint < 0 ? wal.replay(0, PAGE, 0, collector) :
                wal.replay(appended.get(checkpoint).sequence(), appended.get(checkpoint).end(),
                    appended.get(checkpoint).crc(), collector);
            assertEquals(effectsOf(appended.subList(checkpoint + 1, appended.size())), collector.effects);
            assertEquals(appended.size(), replay.lastSequence());
            assertEquals(next, replay.nextPosition());
            assertEquals(appended.getLast().crc(), replay.lastCrc());
        }
    }

    /** Applies a random number of the records after the checkpoint (none when there are none). */
    private static int advance(final WriteAheadLog wal, final List<Appended> appended, final int checkpoint,
        final Random random)
    {
        final int pending = appended.size() - 1 - checkpoint;
        if (pending == 0)
        {
            return checkpoint;
        }
        final int to = checkpoint + 1 + random.nextInt(pending);
        wal.checkpointed(appended.get(to).end());
        return to;
    }
}
