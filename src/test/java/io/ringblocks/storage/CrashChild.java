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
 * Run in a child JVM by {@link CrashRecoveryTest} and killed with SIGKILL at a random moment: PUTs and DELETEs
 * blocks forever. Before starting an operation it prints its intent ({@code p <hash>} or {@code x <hash>}), and
 * each acknowledgement the moment it arrives: {@code P <hash> <length>} stored or duplicate, {@code F <hash>}
 * put failed, {@code D <hash>} deleted, {@code N <hash>} delete found nothing. The parent checks every
 * acknowledged outcome against the recovered store; operations in flight at the kill may have gone either way.
 */
public final class CrashChild
{
    private CrashChild()
    {
    }

    /**
     * With {@code tinyRings} the rings between driver and committer hold about a dozen deltas and acks, so the
     * child runs into back-pressure all the time: a full delta ring or ack ring must lose nothing either.
     */
    static StoreConfig config(final Path dir, final boolean tinyRings)
    {
        final StoreConfig c = StoreTest.config(dir, 1L << 30, 16L << 20);
        final int ring = tinyRings ? 1024 : c.deltaRingCapacity();
        return new StoreConfig(c.dir(), c.maxSize(), c.durable(), c.directIo(), c.readCache(), c.maxBlockSize(),
            c.growStep(), c.indexMapSize(), c.maxBatch(), c.debounceNanos(), ring, ring).withJournal(c.journal());
    }

    public static void main(final String[] args) throws Exception
    {
        final Path dir = Path.of(args[0]);
        final Random random = new Random(Long.parseLong(args[1]));
        final PrintStream out = new PrintStream(new BufferedOutputStream(System.out, 1 << 16), false);
        final HexFormat hex = HexFormat.of();
        final List<byte[]> acked = new ArrayList<>();
        final List<byte[]> recent = new ArrayList<>();
        try (Wakeup wakeup = new Wakeup();
            Store store = Store.open(config(dir, Boolean.parseBoolean(args[2])), new Wakeup[]{wakeup},
                new ErrorHandler());
            StoreDriver driver = new StoreDriver(store, wakeup, 0, 16))
        {
            out.println("READY");
            out.flush();
            while (true)
            {
                final int dice = random.nextInt(10);
                if (dice < 2 && !acked.isEmpty())
                {
                    final byte[] victim = acked.remove(random.nextInt(acked.size()));
                    out.println("x " + hex.formatHex(victim));
                    out.flush();
                    driver.delete(victim, (hash, result) ->
                    {
                        out.println((result == Deltas.DELETED ? "D " : "N ") + hex.formatHex(hash));
                        out.flush();
                    });
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
                        payload = new byte[1 + random.nextInt(random.nextInt(8) == 0 ? 1 << 20 : 64 << 10)];
                        random.nextBytes(payload);
                        if (recent.size() < 64)
                        {
                            recent.add(payload);
                        }
                    }
                    final int length = payload.length;
                    final String intent = hex.formatHex(StoreDriver.sha256(payload));
                    out.println("p " + intent);
                    out.flush();
                    driver.put(payload, (hash, result) ->
                    {
                        if (result == Deltas.STORED || result == Deltas.DUPLICATE)
                        {
                            out.println("P " + intent + " " + length);
                            acked.add(hash);
                        }
                        else
                        {
                            out.println("F " + intent);
                        }
                        out.flush();
                    });
                }
            }
        }
    }
}
