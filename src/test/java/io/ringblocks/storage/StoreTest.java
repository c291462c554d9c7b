package io.ringblocks.storage;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.ringblocks.alloc.BuddyAllocator;
import io.ringblocks.uring.Wakeup;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StoreTest
{
    private static final HexFormat HEX = HexFormat.of();

    @TempDir
    Path dir;

    static StoreConfig config(final Path dir, final long maxSize, final long growStep)
    {
        return StoreConfig.builder(dir).maxSize(maxSize).growStep(growStep).indexMapSize(1L << 30).maxBatch(1024)
            .journal(TestJournal.SMALL).conclude();
    }

    /**
     * Reopens the store (crash recovery) and checks that everything in {@code expected} is live with its length,
     * nothing in {@code absent} is, EVERY indexed block's bytes hash to its key (never wrong bytes) and match the
     * CRC32C its index entry records, and the allocator's used space is exactly the live blocks' classes (no leak,
     * nothing referenced twice).
     *
     * @return the hashes found in the index.
     */
    static java.util.Set<String> verify(final StoreConfig config, final Map<String, Integer> expected,
        final java.util.Collection<String> absent) throws Exception
    {
        try (Wakeup wakeup = new Wakeup(); Store store = Store.open(config, new Wakeup[]{wakeup}, new ErrorHandler());
            FileChannel data = FileChannel.open(config.dir().resolve("blocks.dat"), StandardOpenOption.READ))
        {
            final Map<String, long[]> found = new HashMap<>();
            final long[] classBytes = {0};
            store.index().forEach((hash, offset, length, sizeClass, generation, crc) ->
            {
                final byte[] h = new byte[32];
                hash.getBytes(0, h);
                found.put(HEX.formatHex(h), new long[]{offset, length, crc});
                classBytes[0] += BuddyAllocator.blockSize(sizeClass);
            });
            for (final Map.Entry<String, long[]> e : found.entrySet())
            {
                final long[] where = e.getValue();
                final ByteBuffer bytes = ByteBuffer.allocate((int)where[1]);
                while (bytes.hasRemaining())
                {
                    assertTrue(data.read(bytes, where[0] + bytes.position()) > 0, "short data file");
                }
                assertEquals(e.getKey(), HEX.formatHex(StoreDriver.sha256(bytes.array())), "content of " + e.getKey());
                final java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
                crc.update(bytes.array());
                assertEquals((int)where[2], (int)crc.getValue(), "recorded CRC32C of " + e.getKey());
            }
            for (final Map.Entry<String, Integer> e : expected.entrySet())
            {
                final long[] where = found.get(e.getKey());
                assertTrue(where != null, "acknowledged block lost: " + e.getKey());
                assertEquals((long)e.getValue(), where[1], "length of " + e.getKey());
            }
            for (final String gone : absent)
            {
                assertTrue(!found.containsKey(gone), "acknowledged delete came back: " + gone);
            }
            final long[] used = new long[9];
            final long[] free = new long[9];
            final long[] totals = new long[4];
            store.allocatorStats(used, free, totals);
            assertEquals(classBytes[0], totals[0], "allocator used bytes == live blocks");
            assertEquals(totals[2], totals[0] + totals[1], "used + free == file size");
            return found.keySet();
        }
    }

    @Test
    void shouldStoreDeduplicateDeleteAndRecoverAfterReopen() throws Exception
    {
        final StoreConfig config = config(dir, 256L << 20, 8L << 20);
        final Map<String, Integer> live = new HashMap<>();
        final List<String> deleted = new ArrayList<>();
        final Random random = new Random(3);
        try (Wakeup wakeup = new Wakeup(); Store store = Store.open(config, new Wakeup[]{wakeup}, new ErrorHandler());
            StoreDriver driver = new StoreDriver(store, wakeup, 0, 32))
        {
            final int[] results = new int[5];
            final byte[][] payloads = new byte[300][];
            for (int i = 0; i < payloads.length; i++)
            {
                payloads[i] = new byte[1 + random.nextInt(i % 10 == 0 ? 1 << 20 : 200_000)];
                random.nextBytes(payloads[i]);
                final int length = payloads[i].length;
                driver.put(payloads[i], (hash, result) ->
                {
                    results[result]++;
                    live.put(HEX.formatHex(hash), length);
                });
            }
            driver.drain();
            assertEquals(payloads.length, results[Deltas.STORED]);
            for (int i = 0; i < 20; i++)
            {
                driver.put(payloads[i], (hash, result) -> results[result]++);
            }
            for (int i = 20; i < 60; i++)
            {
                final String hex = HEX.formatHex(StoreDriver.sha256(payloads[i]));
                driver.delete(HEX.parseHex(hex), (hash, result) ->
                {
                    results[result]++;
                    live.remove(hex);
                    deleted.add(hex);
                });
            }
            driver.delete(new byte[32], (hash, result) -> results[result]++);
            driver.drain();
            assertEquals(20, results[Deltas.DUPLICATE]);
            assertEquals(40, results[Deltas.DELETED]);
            assertEquals(1, results[Deltas.NOT_FOUND]);
            assertTrue(store.checkpoint(10_000));
            assertEquals(260, store.index().count());
        }
        verify(config, live, deleted);
    }

    @Test
    void shouldAnswerNoSpaceAtCapacityAndRecoverSpaceAfterDelete() throws Exception
    {
        final StoreConfig config = config(dir, 4L << 20, 1L << 20);
        final Random random = new Random(5);
        final List<byte[]> stored = new ArrayList<>();
        try (Wakeup wakeup = new Wakeup(); Store store = Store.open(config, new Wakeup[]{wakeup}, new ErrorHandler());
            StoreDriver driver = new StoreDriver(store, wakeup, 0, 4))
        {
            final int[] results = new int[6];
            for (int i = 0; i < 6; i++)
            {
                final byte[] payload = new byte[600_000];
                random.nextBytes(payload);
                driver.put(payload, (hash, result) ->
                {
                    results[result + 1]++;
                    if (result == Deltas.STORED)
                    {
                        stored.add(hash);
                    }
                });
                driver.drain();
            }
            assertEquals(4, stored.size(), "four 1 MiB-class blocks fit in 4 MiB");
            assertEquals(2, driver.noSpace);
            driver.delete(stored.get(0), (hash, result) -> assertEquals(Deltas.DELETED, result));
            driver.drain();
            // The freed block leaves limbo once no read can see it (none is in flight here).
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            final boolean[] ok = {false};
            while (!ok[0] && System.nanoTime() < deadline)
            {
                final byte[] payload = new byte[4096];
                random.nextBytes(payload);
                driver.put(payload, (hash, result) -> ok[0] = result == Deltas.STORED);
                driver.drain();
            }
            assertTrue(ok[0], "space freed by DELETE was never reusable");
        }
    }

    @Test
    void shouldStoreOneCopyWhenTwoWorkersPutTheSameContentAtOnce() throws Exception
    {
        final StoreConfig config = config(dir, 64L << 20, 8L << 20);
        final Random random = new Random(11);
        final byte[][] payloads = new byte[200][];
        for (int i = 0; i < payloads.length; i++)
        {
            payloads[i] = new byte[4096 + random.nextInt(60_000)];
            random.nextBytes(payloads[i]);
        }
        final Wakeup[] wakeups = {new Wakeup(), new Wakeup()};
        final ExecutorService pool = Executors.newFixedThreadPool(2);
        try (Store store = Store.open(config, wakeups, new ErrorHandler()))
        {
            final CountDownLatch start = new CountDownLatch(2);
            final List<Future<int[]>> futures = new ArrayList<>();
            for (int w = 0; w < 2; w++)
            {
                final int worker = w;
                futures.add(pool.submit(() ->
                {
                    final int[] results = new int[5];
                    try (StoreDriver driver = new StoreDriver(store, wakeups[worker], worker, 16))
                    {
                        start.countDown();
                        start.await();
                        for (final byte[] p : payloads)
                        {
                            driver.put(p, (hash, result) ->
                            {
                                results[result]++;
                                assertArrayEquals(sha(p), hash);
                            });
                        }
                        driver.drain();
                    }
                    return results;
                }));
            }
            int storedTotal = 0;
            int duplicateTotal = 0;
            for (final Future<int[]> f : futures)
            {
                final int[] r = f.get(60, TimeUnit.SECONDS);
                storedTotal += r[Deltas.STORED];
                duplicateTotal += r[Deltas.DUPLICATE];
            }
            assertEquals(payloads.length, storedTotal, "each content stored exactly once");
            assertEquals(payloads.length, duplicateTotal);
            assertTrue(store.checkpoint(10_000));
            assertEquals(payloads.length, store.index().count());
        }
        finally
        {
            pool.shutdownNow();
            for (final Wakeup w : wakeups)
            {
                w.close();
            }
        }
        final Map<String, Integer> live = new HashMap<>();
        for (final byte[] p : payloads)
        {
            live.put(HEX.formatHex(sha(p)), p.length);
        }
        verify(config, live, List.of());
    }

    private static byte[] sha(final byte[] p)
    {
        try
        {
            return StoreDriver.sha256(p);
        }
        catch (final Exception e)
        {
            throw new IllegalStateException(e);
        }
    }
}
