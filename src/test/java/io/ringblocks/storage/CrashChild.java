package io.ringblocks.storage;

import java.io.BufferedOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;

import io.ringblocks.uring.Wakeup;

/**
 * Run in a child JVM by the crash tests and killed with SIGKILL at a random moment. Arguments: data directory, seed,
 * tiny rings (true/false), mode ({@code sync} or {@code relaxed}) and a {@link Profile}.
 * <p>
 * It prints {@code OPENING} before it opens the store, then what recovery replayed
 * ({@code R <records> <changes> <blocks verified> <blocks dropped> <ms>}) and {@code READY}. Before starting an
 * operation it prints its intent ({@code p <hash>} or {@code x <hash>}), and each acknowledgement the moment it
 * arrives: {@code P <hash> <length>} stored or duplicate, {@code F <hash>} put failed, {@code D <hash>} deleted,
 * {@code N <hash>} delete found nothing. Every 16 operations it prints
 * {@code K <operations> <checkpoints> <checkpoint µs total>}
 * (the STATS figures), the evidence that checkpoints ran while it was killed. The parent checks every acknowledged
 * outcome against the recovered store; operations in flight at the kill may have gone either way.
 */
public final class CrashChild
{
    private static final long HOUR = 3_600_000_000_000L;

    /** What the child runs with and does. */
    enum Profile
    {
        /** PUTs (sometimes 1 MiB, sometimes repeated) and DELETEs forever; 2 MiB log, checkpoints every second. */
        MIXED,
        /** The same load, smaller blocks, with a 1024-slot overlay, batches of 384 and a 1 ms checkpoint interval. */
        CHECKPOINTING,
        /** Small PUTs only, nothing checkpointed (large overlay and log, hour-long intervals): a long log to replay. */
        BIG_LOG,
        /**
         * 64 KiB chunks, a 1 MiB log, nothing checkpointed but on request: 100 PUTs, a checkpoint
         * ({@code CHECKPOINTED <sequence>}), 40 PUTs and 15 DELETEs, then 5 PUTs one at a time (one record each),
         * {@code DONE}, and waits to be killed.
         */
        SCRIPT
    }

    private CrashChild()
    {
    }

    /**
     * With {@code tinyRings} the rings between driver and committer hold about a dozen deltas and acks, so the
     * child runs into back-pressure all the time: a full delta ring or ack ring must lose nothing either.
     */
    static StoreConfig config(final Path dir, final boolean tinyRings, final boolean durable, final Profile profile)
    {
        if (profile == Profile.SCRIPT)
        {
            return StoreConfig.builder(dir).maxSize(64L << 20).durable(durable).maxBlockSize(64 << 10)
                .growStep(1L << 20).indexMapSize(1L << 30).maxBatch(1024)
                .journal(JournalConfig.builder().logSize(JournalConfig.MIN_LOG_SIZE).overlaySlots(1 << 14)
                    .syncIntervalNanos(HOUR).checkpointIntervalNanos(HOUR).conclude())
                .conclude();
        }
        final StoreConfig c = StoreTest.config(dir, 1L << 30, 16L << 20);
        final int ring = tinyRings ? 1024 : c.deltaRingCapacity();
        final JournalConfig journal = switch (profile)
        {
            // Relaxed mode flushes every 100 ms, so kills land before and after periodic flushes.
            case MIXED -> JournalConfig.builder().logSize(2L << 20).overlaySlots(1 << 14)
                .syncIntervalNanos(100_000_000L).checkpointIntervalNanos(1_000_000_000L).conclude();
            case CHECKPOINTING -> JournalConfig.builder().logSize(2L << 20)
                .overlaySlots(JournalConfig.MIN_OVERLAY_SLOTS).syncIntervalNanos(100_000_000L)
                .checkpointIntervalNanos(1_000_000L).conclude();
            case BIG_LOG -> JournalConfig.builder().logSize(128L << 20).overlaySlots(1 << 16)
                .syncIntervalNanos(HOUR).checkpointIntervalNanos(HOUR).conclude();
            case SCRIPT -> throw new AssertionError();
        };
        return c.toBuilder().durable(durable).maxBatch(journal.maxBatchFor(c.maxBatch())).deltaRingCapacity(ring)
            .ackRingCapacity(ring).journal(journal).conclude();
    }

    public static void main(final String[] args) throws Exception
    {
        final Path dir = Path.of(args[0]);
        final Random random = new Random(Long.parseLong(args[1]));
        final boolean tinyRings = Boolean.parseBoolean(args[2]);
        final boolean durable = switch (args[3])
        {
            case "sync" -> true;
            case "relaxed" -> false;
            default -> throw new IllegalArgumentException("mode: sync or relaxed, not " + args[3]);
        };
        final Profile profile = Profile.valueOf(args[4]);
        final PrintStream out = new PrintStream(new BufferedOutputStream(System.out, 1 << 16), false);
        out.println("OPENING");
        out.flush();
        try (Wakeup wakeup = new Wakeup();
            Store store = Store.open(config(dir, tinyRings, durable, profile), new Wakeup[]{wakeup},
                new ErrorHandler());
            StoreDriver driver = new StoreDriver(store, wakeup, 0, profile == Profile.BIG_LOG ? 32 : 16))
        {
            final WalRecovery.Result replayed = store.replayed();
            out.println("R " + replayed.replay().records() + " " + replayed.replay().effects() + " " +
                replayed.verified() + " " + replayed.dropped() + " " + replayed.millis());
            out.println("READY");
            out.flush();
            if (profile == Profile.SCRIPT)
            {
                script(store, driver, random, out);
            }
            else
            {
                load(store, driver, random, out, profile);
            }
        }
    }

    private static void load(final Store store, final StoreDriver driver, final Random random, final PrintStream out,
        final Profile profile) throws Exception
    {
        final boolean putsOnly = profile == Profile.BIG_LOG;
        final List<byte[]> acked = new ArrayList<>();
        final List<byte[]> recent = new ArrayList<>();
        final int checkpoints = Store.journalStat("checkpoints");
        final int checkpointMicros = Store.journalStat("checkpoint_us_total");
        final long[] stats = new long[Store.JOURNAL_STATS.size()];
        for (long op = 0; ; op++)
        {
            if ((op & 15) == 0)
            {
                store.journalStats(stats);
                out.println("K " + op + " " + stats[checkpoints] + " " + stats[checkpointMicros]);
            }
            final int dice = putsOnly ? 9 : random.nextInt(10);
            if (dice < 2 && !acked.isEmpty())
            {
                delete(driver, acked.remove(random.nextInt(acked.size())), out);
            }
            else
            {
                final byte[] payload;
                if (dice == 2 && !recent.isEmpty())
                {
                    payload = recent.get(random.nextInt(recent.size()));
                }
                else
                {
                    payload = new byte[1 + random.nextInt(switch (profile)
                    {
                        case BIG_LOG -> 16 << 10;
                        // Small blocks fill the small overlay fast: checkpoints follow each other.
                        case CHECKPOINTING -> random.nextInt(64) == 0 ? 1 << 20 : 8 << 10;
                        default -> random.nextInt(8) == 0 ? 1 << 20 : 64 << 10;
                    })];
                    random.nextBytes(payload);
                    if (recent.size() < 64)
                    {
                        recent.add(payload);
                    }
                }
                put(driver, payload, out, putsOnly ? null : acked);
            }
        }
    }

    private static void put(final StoreDriver driver, final byte[] payload, final PrintStream out,
        final List<byte[]> acked) throws Exception
    {
        final int length = payload.length;
        final String intent = HexFormat.of().formatHex(StoreDriver.sha256(payload));
        out.println("p " + intent);
        out.flush();
        driver.put(payload, (hash, result) ->
        {
            if (result == Deltas.STORED || result == Deltas.DUPLICATE)
            {
                out.println("P " + intent + " " + length);
                if (acked != null)
                {
                    acked.add(hash);
                }
            }
            else
            {
                out.println("F " + intent);
            }
            out.flush();
        });
    }

    private static void delete(final StoreDriver driver, final byte[] victim, final PrintStream out)
    {
        final HexFormat hex = HexFormat.of();
        out.println("x " + hex.formatHex(victim));
        out.flush();
        driver.delete(victim, (hash, result) ->
        {
            out.println((result == Deltas.DELETED ? "D " : "N ") + hex.formatHex(hash));
            out.flush();
        });
    }

    private static void script(final Store store, final StoreDriver driver, final Random random,
        final PrintStream out) throws Exception
    {
        final List<byte[]> acked = new ArrayList<>();
        for (int i = 0; i < 100; i++)
        {
            put(driver, payload(random), out, acked);
        }
        driver.drain();
        if (!store.checkpoint(10_000))
        {
            throw new IllegalStateException("checkpoint did not complete");
        }
        final long[] stats = new long[Store.JOURNAL_STATS.size()];
        store.journalStats(stats);
        out.println("CHECKPOINTED " + stats[Store.journalStat("checkpoint_sequence")]);
        for (int i = 0; i < 55; i++)
        {
            if (i % 3 == 2 && acked.size() > 10)
            {
                delete(driver, acked.remove(random.nextInt(acked.size() - 10)), out);
            }
            else
            {
                put(driver, payload(random), out, acked);
            }
        }
        driver.drain();
        for (int i = 0; i < 5; i++)
        {
            put(driver, payload(random), out, acked);
            driver.drain();
        }
        out.println("DONE");
        out.flush();
        while (true)
        {
            Thread.sleep(1000);
        }
    }

    private static byte[] payload(final Random random)
    {
        final byte[] payload = new byte[1 + random.nextInt(12_000)];
        random.nextBytes(payload);
        return payload;
    }
}
