package io.ringblocks.storage;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.ringblocks.uring.Wakeup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The zeroer (on the checkpointer's thread) zeroes reserved data-file space while the committer keeps handing chunks
 * to the allocator and workers write into them: zeroing must never touch a chunk the allocator owns, since it may
 * hold acknowledged blocks.
 */
class StoreZeroingTest
{
    @TempDir
    Path dir;

    @Test
    void shouldZeroOnlyReservedSpaceAndNeverABlockTheAllocatorOwns() throws Exception
    {
        final StoreConfig config = StoreTest.config(dir, 256L << 20, 16L << 20);
        final Map<String, Integer> live = new HashMap<>();
        final HexFormat hex = HexFormat.of();
        final Random random = new Random(17);
        try (Wakeup wakeup = new Wakeup(); Store store = Store.open(config, new Wakeup[]{wakeup}, new ErrorHandler());
            StoreDriver driver = new StoreDriver(store, wakeup, 0, 16))
        {
            assumeTrue(store.directIo(), "zeroing runs only with O_DIRECT; this filesystem refuses it");
            long zeroedAhead = 0;
            // 40 waves, and on (longer pauses, at most 200 waves) until the zeroer was seen ahead between two of them.
            for (int wave = 0; wave < 40 || zeroedAhead <= 0 && wave < 200; wave++)
            {
                // A wave of PUTs takes chunks (zeroed or not), then a pause (idle: 5 ms) lets the zeroer zero more.
                for (int i = 0; i < 8; i++)
                {
                    final byte[] payload = new byte[1 + random.nextInt(random.nextBoolean() ? 8192 : 600_000)];
                    random.nextBytes(payload);
                    final int length = payload.length;
                    driver.put(payload, (hash, result) ->
                    {
                        assertEquals(Deltas.STORED, result);
                        live.put(hex.formatHex(hash), length);
                    });
                }
                driver.drain();
                Thread.sleep(wave >= 40 ? 50 : wave % 2 == 0 ? 2 : 12);
                final long[] totals = new long[4];
                store.allocatorStats(new long[9], new long[9], totals);
                zeroedAhead = Math.max(zeroedAhead, store.zeroedTo() - totals[2]);
            }
            assertTrue(zeroedAhead > 0, "the zeroer never zeroed ahead of the allocator");
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (store.zeroedTo() < store.reservedBytes() && System.nanoTime() < deadline)
            {
                Thread.sleep(5);
            }
            assertEquals(store.reservedBytes(), store.zeroedTo(), "an idle store zeroes all reserved space");
        }
        // Reopens and hashes every indexed block as it is on disk.
        StoreTest.verify(config, live, List.of());
    }
}
