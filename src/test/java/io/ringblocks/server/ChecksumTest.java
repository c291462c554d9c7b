package io.ringblocks.server;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.zip.CRC32C;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.ringblocks.storage.IndexReader;
import io.ringblocks.storage.StoreConfig;

import static io.ringblocks.server.ServerOperationsTest.DELETE;
import static io.ringblocks.server.ServerOperationsTest.GET;
import static io.ringblocks.server.ServerOperationsTest.HEAD;
import static io.ringblocks.server.ServerOperationsTest.OK;
import static io.ringblocks.server.ServerOperationsTest.PUT;
import static io.ringblocks.server.ServerOperationsTest.STATS;
import static io.ringblocks.server.ServerOperationsTest.random;
import static io.ringblocks.server.ServerOperationsTest.sha256;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Bit rot in {@code blocks.dat} under a running server: every read is checked against the block's CRC32C (whole and
 * ranged GETs answer CORRUPT, never wrong bytes), the entry is flagged and survives a restart, a re-PUT heals it,
 * and the scrubber finds rot by itself without ever raising a false alarm on blocks deleted under it.
 */
class ChecksumTest
{
    static final int CORRUPT = 13;
    static final int RANGE = 1;
    static final int NO_SPACE = 5;

    @TempDir
    Path dir;

    private RingblocksServer server;

    @AfterEach
    void stop()
    {
        if (server != null)
        {
            server.close();
        }
    }

    private RingblocksServer start(final long scrubRate)
    {
        final ServerConfig base = ServerHarness.config(dir);
        final StoreConfig store = base.store().toBuilder().scrubRate(scrubRate).conclude();
        return RingblocksServer.start(base.toBuilder().store(store).conclude());
    }

    /** Where the index says the block lives and its recorded CRC32C and flag. */
    private static long[] entry(final RingblocksServer s, final byte[] hash)
    {
        try (IndexReader reader = s.store().index().reader())
        {
            if (!reader.lookup(new UnsafeBuffer(hash), 0))
            {
                return null;
            }
            return new long[]{reader.offset(), reader.length(), reader.crc(), reader.corrupt() ? 1 : 0};
        }
    }

    /** Inverts one byte through the page cache and flushes it, so buffered and O_DIRECT reads both see it. */
    private void flip(final long at) throws IOException
    {
        try (FileChannel ch = FileChannel.open(dir.resolve("blocks.dat"), StandardOpenOption.READ,
            StandardOpenOption.WRITE))
        {
            final ByteBuffer b = ByteBuffer.allocate(1);
            ch.read(b, at);
            b.put(0, (byte)~b.get(0));
            b.rewind();
            ch.write(b, at);
            ch.force(false);
        }
    }

    static Map<String, Long> stats(final RawClient c) throws IOException
    {
        final RawClient.Response r = c.call(STATS, 0, 999, new byte[0]);
        assertEquals(OK, r.status());
        final Map<String, Long> stats = new HashMap<>();
        for (final String line : new String(r.body(), StandardCharsets.UTF_8).split("\n"))
        {
            final int space = line.indexOf(' ');
            stats.put(line.substring(0, space), Long.parseLong(line.substring(space + 1)));
        }
        return stats;
    }

    private static void awaitStat(final RawClient c, final String name, final long atLeast) throws Exception
    {
        awaitStat(c, name, atLeast, Long.MAX_VALUE);
    }

    private static void awaitStat(final RawClient c, final String name, final long atLeast, final long atMost)
        throws Exception
    {
        final long deadline = System.nanoTime() + 30_000_000_000L;
        long value;
        while ((value = stats(c).get(name)) < atLeast || value > atMost)
        {
            assertTrue(System.nanoTime() < deadline, name + " is " + value + ", not in " + atLeast + ".." + atMost);
            Thread.sleep(5);
        }
    }

    private static int crc32c(final byte[] data)
    {
        final CRC32C crc = new CRC32C();
        crc.update(data);
        return (int)crc.getValue();
    }

    @Test
    void shouldAnswerCorruptForFlippedBytesUntilARePutHealsTheBlock() throws Exception
    {
        server = start(0);
        final Random random = new Random(3);
        final byte[] before = random(random, 4096);
        final byte[] victim = random(random, 100_000);
        final byte[] after = random(random, 10);
        final byte[] victimHash = sha256(victim);
        try (RawClient c = new RawClient(server.port()))
        {
            for (final byte[] block : new byte[][]{before, victim, after})
            {
                assertEquals(OK, c.call(PUT, 0, 1, block).status());
            }
            final long[] where = entry(server, victimHash);
            assertEquals(crc32c(victim), (int)where[2], "the index holds the PUT's CRC32C");
            flip(where[0] + 77_777);

            assertEquals(CORRUPT, c.call(GET, 0, 2, victimHash).status(), "whole GET");
            assertEquals(0, c.call(GET, 0, 3, victimHash).body().length, "nothing of the block is sent");
            // A range far from the flipped byte: the whole block is checked all the same.
            final RawClient.Response ranged = c.call(GET, RANGE, 4, RawClient.range(victimHash, 10, 100));
            assertEquals(CORRUPT, ranged.status(), "ranged GET");
            assertEquals(0, ranged.body().length);
            final RawClient.Response head = c.call(HEAD, 0, 5, victimHash);
            assertEquals(OK, head.status(), "HEAD still answers the length");
            assertEquals(100_000, ByteBuffer.wrap(head.body()).order(ByteOrder.LITTLE_ENDIAN).getInt());
            assertEquals(1, entry(server, victimHash)[3], "flagged in the index");
            // Neighbours are untouched.
            assertArrayEquals(before, c.call(GET, 0, 6, sha256(before)).body());
            assertArrayEquals(after, c.call(GET, 0, 7, sha256(after)).body());
            Map<String, Long> stats = stats(c);
            assertEquals(3, stats.get("corrupt_reads"));
            assertEquals(3, stats.get("status_corrupt"));
            assertEquals(1, stats.get("committer_corrupt_marked"), "flagged once, not per read");

            // Heal: the same content again is written anew, not answered from dedup.
            final RawClient.Response put = c.call(PUT, 0, 8, victim);
            assertEquals(OK, put.status());
            assertArrayEquals(victimHash, put.body());
            final RawClient.Response healed = c.call(GET, 0, 9, victimHash);
            assertEquals(OK, healed.status());
            assertArrayEquals(victim, healed.body());
            final RawClient.Response healedRange = c.call(GET, RANGE, 10, RawClient.range(victimHash, 77_770, 20));
            assertEquals(OK, healedRange.status());
            assertArrayEquals(Arrays.copyOfRange(victim, 77_770, 77_790), healedRange.body());
            final long[] now = entry(server, victimHash);
            assertEquals(0, now[3], "the flag went with the bad copy");
            assertFalse(now[0] == where[0], "a fresh copy, elsewhere");
            stats = stats(c);
            assertEquals(1, stats.get("corrupt_heals"));
            assertEquals(3, stats.get("corrupt_reads"));
            // The bad copy was freed (through limbo) and nothing leaked: 4 KiB + 128 KiB + 4 KiB are live.
            awaitStat(c, "store_used_bytes", (4 + 128 + 4) << 10, (4 + 128 + 4) << 10);
            assertEquals(OK, c.call(PUT, 0, 11, victim).status());
            assertEquals(1, stats(c).get("corrupt_heals"), "a sound entry is deduplicated again");
        }
    }

    @Test
    void shouldReadTheStoredCopyBackBeforeAnsweringAPutFromIt() throws Exception
    {
        server = start(0);
        final Random random = new Random(4);
        final byte[] victim = random(random, 70_000);
        final byte[] sound = random(random, 5000);
        final byte[] victimHash = sha256(victim);
        try (RawClient c = new RawClient(server.port()))
        {
            assertEquals(OK, c.call(PUT, 0, 1, victim).status());
            assertEquals(OK, c.call(PUT, 0, 2, sound).status());
            final long[] where = entry(server, victimHash);
            // Rot nobody has read yet: deduplication alone would acknowledge this PUT against unreadable bytes.
            flip(where[0] + 69_999);

            final RawClient.Response put = c.call(PUT, 0, 3, victim);
            assertEquals(OK, put.status());
            assertArrayEquals(victimHash, put.body());
            Map<String, Long> stats = stats(c);
            assertEquals(0, stats.get("dedup_hits"), "not answered from the rotten copy");
            assertEquals(1, stats.get("corrupt_reads"), "its read-back found the rot");
            assertEquals(1, stats.get("committer_corrupt_marked"));
            assertEquals(1, stats.get("corrupt_heals"), "and the PUT wrote its own bytes");
            final long[] now = entry(server, victimHash);
            assertEquals(0, now[3], "the fresh copy is not flagged");
            assertFalse(now[0] == where[0], "a fresh copy, elsewhere");
            final RawClient.Response get = c.call(GET, 0, 4, victimHash);
            assertEquals(OK, get.status());
            assertArrayEquals(victim, get.body());

            // A sound copy is read back too, and then answers the PUT without a write.
            assertEquals(OK, c.call(PUT, 0, 5, sound).status());
            assertEquals(OK, c.call(PUT, 0, 6, victim).status());
            stats = stats(c);
            assertEquals(2, stats.get("dedup_hits"));
            assertEquals(1, stats.get("corrupt_heals"));
            assertEquals(1, stats.get("corrupt_reads"));
            // The rotten copy went through limbo: 128 KiB + 8 KiB are live, nothing leaked.
            awaitStat(c, "store_used_bytes", (128 + 8) << 10, (128 + 8) << 10);
        }
    }

    @Test
    void shouldCountAHealOnlyOnceItsFreshCopyIsStored() throws Exception
    {
        final ServerConfig base = ServerHarness.config(dir);
        final StoreConfig store = base.store().toBuilder().maxSize(8L << 20).growStep(8L << 20).conclude();
        server = RingblocksServer.start(base.toBuilder().store(store).conclude());
        final Random random = new Random(6);
        final byte[] victim = random(random, 70_000);
        final byte[] victimHash = sha256(victim);
        try (RawClient c = new RawClient(server.port()))
        {
            assertEquals(OK, c.call(PUT, 0, 1, victim).status());
            flip(entry(server, victimHash)[0] + 12_345);
            // Every 128 KiB block taken: the fresh copy a heal writes has nowhere to go.
            byte[] filler = null;
            int id = 2;
            while (true)
            {
                final byte[] block = random(random, 100_000);
                final int status = c.call(PUT, 0, id++, block).status();
                if (status != OK)
                {
                    assertEquals(NO_SPACE, status);
                    break;
                }
                filler = block;
            }
            assertEquals(NO_SPACE, c.call(PUT, 0, id++, victim).status(), "the heal found no space");
            Map<String, Long> stats = stats(c);
            assertEquals(1, stats.get("committer_corrupt_marked"), "the read-back flagged the rotten copy");
            assertEquals(0, stats.get("corrupt_heals"), "nothing was healed");

            assertEquals(OK, c.call(DELETE, 0, id++, sha256(filler)).status());
            final long deadline = System.nanoTime() + 10_000_000_000L;
            RawClient.Response put;
            do
            {
                put = c.call(PUT, 0, id++, victim); // the freed space leaves limbo shortly after the DELETE
            }
            while (put.status() == NO_SPACE && System.nanoTime() < deadline);
            assertEquals(OK, put.status());
            assertArrayEquals(victim, c.call(GET, 0, id++, victimHash).body());
            stats = stats(c);
            assertEquals(1, stats.get("corrupt_heals"));
            assertEquals(0, entry(server, victimHash)[3], "the fresh copy is not flagged");
        }
    }

    @Test
    void shouldCheckALargeStoredCopyPieceByPieceWhenTheArenaHasNoRoomForASecondBuffer() throws Exception
    {
        // 2 MiB of arena: a 1 MiB payload fits, a second 1 MiB buffer for its read-back does not.
        server = RingblocksServer.start(ServerHarness.config(dir).toBuilder().workers(1)
            .arenaSize(ServerConfig.MIN_ARENA_SIZE).conclude());
        final Random random = new Random(5);
        final byte[] sound = random(random, 1 << 20);
        final byte[] victim = random(random, (1 << 20) - 5);
        try (RawClient c = new RawClient(server.port()))
        {
            assertEquals(OK, c.call(PUT, 0, 1, sound).status());
            assertEquals(OK, c.call(PUT, 0, 2, victim).status());
            final long[] where = entry(server, sha256(victim));
            flip(where[0] + 700_001); // in the eleventh 64 KiB piece
            for (int i = 0; i < 3; i++)
            {
                assertEquals(OK, c.call(PUT, 0, 3 + i, sound).status());
            }
            assertEquals(OK, c.call(PUT, 0, 6, victim).status());
            final Map<String, Long> stats = stats(c);
            assertEquals(3, stats.get("dedup_hits"));
            assertEquals(1, stats.get("corrupt_heals"));
            assertArrayEquals(victim, c.call(GET, 0, 7, sha256(victim)).body());
            assertArrayEquals(sound, c.call(GET, 0, 8, sha256(sound)).body());
        }
    }

    @Test
    void shouldThrowCorruptBlockExceptionInTheClientLibrary() throws Exception
    {
        server = start(0);
        final byte[] block = random(new Random(6), 30_000);
        try (io.ringblocks.client.BlockClient client = io.ringblocks.client.BlockClient.connect("127.0.0.1",
            server.port()))
        {
            final io.ringblocks.client.Hash hash = client.put(block);
            flip(entry(server, hash.bytes())[0] + 29_999);
            final io.ringblocks.client.CorruptBlockException e =
                org.junit.jupiter.api.Assertions.assertThrows(io.ringblocks.client.CorruptBlockException.class,
                    () -> client.get(hash));
            assertEquals(io.ringblocks.client.StatusCode.CORRUPT, e.status());
            assertEquals("CORRUPT", e.statusName());
            org.junit.jupiter.api.Assertions.assertThrows(io.ringblocks.client.CorruptBlockException.class,
                () -> client.getRange(hash, 0, 10));
            assertEquals(hash, client.put(block), "the connection stays usable and the PUT heals");
            assertArrayEquals(block, client.get(hash));
        }
    }

    /** The worker's check: CRC32C over the arena's direct view, which must not allocate per block. */
    @Test
    void shouldCheckABlockInTheArenaWithoutAllocating()
    {
        try (IoArena arena = new IoArena(2 << 20))
        {
            final long block = arena.allocate(IoArena.classFor(4096));
            final CRC32C crc = new CRC32C();
            final com.sun.management.ThreadMXBean threads =
                (com.sun.management.ThreadMXBean)java.lang.management.ManagementFactory.getThreadMXBean();
            long sum = 0;
            for (int i = 0; i < 20_000; i++) // warm up (JIT) first
            {
                crc.reset();
                crc.update(arena.view(block, 4096));
                sum += crc.getValue();
            }
            final long before = threads.getCurrentThreadAllocatedBytes();
            for (int i = 0; i < 100_000; i++)
            {
                crc.reset();
                crc.update(arena.view(block, 4096));
                sum += crc.getValue();
            }
            final long allocated = threads.getCurrentThreadAllocatedBytes() - before;
            assertTrue(allocated < 1024, "allocated " + allocated + " bytes over 100000 checks");
            assertEquals(120_000L * Integer.toUnsignedLong(crc32c(new byte[4096])), sum, "the arena starts zeroed");
        }
    }

    @Test
    void shouldKeepTheFlagAndTheChecksumAcrossARestart() throws Exception
    {
        server = start(0);
        final Random random = new Random(4);
        final byte[] good = random(random, 5000);
        final byte[] bad = random(random, 4096);
        try (RawClient c = new RawClient(server.port()))
        {
            assertEquals(OK, c.call(PUT, 0, 1, good).status());
            assertEquals(OK, c.call(PUT, 0, 2, bad).status());
            flip(entry(server, sha256(bad))[0]);
            assertEquals(CORRUPT, c.call(GET, 0, 3, sha256(bad)).status());
        }
        server.close();
        server = null;
        server = start(0);
        try (RawClient c = new RawClient(server.port()))
        {
            assertEquals(1, entry(server, sha256(bad))[3]);
            assertEquals(crc32c(good), (int)entry(server, sha256(good))[2]);
            assertEquals(CORRUPT, c.call(GET, 0, 4, sha256(bad)).status());
            assertArrayEquals(good, c.call(GET, 0, 5, sha256(good)).body());
            assertEquals(0, stats(c).get("committer_corrupt_marked"), "known from the index, not found again");
            assertEquals(OK, c.call(PUT, 0, 6, bad).status());
            assertArrayEquals(bad, c.call(GET, 0, 7, sha256(bad)).body());
        }
    }

    @Test
    void shouldHaveTheScrubberFlagRotNobodyRead() throws Exception
    {
        server = start(16L << 20);
        final Random random = new Random(5);
        final byte[][] blocks = new byte[150][]; // more than one scan batch (64 entries)
        try (RawClient c = new RawClient(server.port()))
        {
            for (int i = 0; i < blocks.length; i++)
            {
                blocks[i] = random(random, 1000 + 100 * i);
                assertEquals(OK, c.call(PUT, 0, i, blocks[i]).status());
            }
            final byte[] victimHash = sha256(blocks[7]);
            flip(entry(server, victimHash)[0] + 1234);
            awaitStat(c, "committer_corrupt_marked", 1);
            final long passes = stats(c).get("scrub_passes");
            awaitStat(c, "scrub_passes", passes + 1); // one whole pass after the flag: every batch, no more alarms
            final Map<String, Long> stats = stats(c);
            assertEquals(1, stats.get("scrub_corrupt_found"), "found once, skipped once flagged");
            assertTrue(stats.get("scrub_blocks_verified") >= blocks.length - 1);
            assertEquals(0, stats.get("corrupt_reads"), "found by the scrubber, not by a client");
            assertEquals(server.store().directIo() ? 1 : 0, stats.get("scrub_reads_device"),
                "the device, not the page cache, wherever the filesystem has O_DIRECT");
            assertEquals(1, entry(server, victimHash)[3]);
            assertEquals(CORRUPT, c.call(GET, 0, 100, victimHash).status());
            for (int i = 0; i < blocks.length; i++)
            {
                if (i != 7)
                {
                    assertArrayEquals(blocks[i], c.call(GET, 0, 200 + i, sha256(blocks[i])).body());
                }
            }
            assertEquals(1, stats(c).get("committer_corrupt_marked"));
        }
    }

    /**
     * Blocks are deleted and their space rewritten while the scrubber walks the index: a scrubber that read space
     * freed after its snapshot would see another block's bytes and report rot that is not there.
     */
    @Test
    void shouldRaiseNoFalseAlarmWhileBlocksAreDeletedAndRewrittenUnderTheScrubber() throws Exception
    {
        server = start(256L << 20);
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        // At least 4 s of churn, and on (at most 60 s) until the scrubber verified enough blocks meanwhile.
        final long minimum = System.nanoTime() + 4_000_000_000L;
        final long most = System.nanoTime() + 60_000_000_000L;
        final AtomicBoolean stop = new AtomicBoolean();
        final Thread[] clients = new Thread[3];
        for (int t = 0; t < clients.length; t++)
        {
            final int seed = t;
            clients[t] = new Thread(() ->
            {
                final Random random = new Random(seed);
                try (RawClient c = new RawClient(server.port()))
                {
                    long id = 0;
                    final byte[][] kept = new byte[8][];
                    while (!stop.get())
                    {
                        final int k = random.nextInt(kept.length);
                        if (kept[k] != null)
                        {
                            final RawClient.Response got = c.call(GET, 0, id++, sha256(kept[k]));
                            assertEquals(OK, got.status());
                            assertArrayEquals(kept[k], got.body());
                            assertEquals(OK, c.call(DELETE, 0, id++, sha256(kept[k])).status());
                        }
                        // Same content again at times, so a delete and re-PUT may land on the same space.
                        kept[k] = kept[k] != null && random.nextBoolean() ? kept[k] :
                            random(random, 1 + random.nextInt(12_000));
                        assertEquals(OK, c.call(PUT, 0, id++, kept[k]).status());
                    }
                }
                catch (final Throwable e)
                {
                    failure.compareAndSet(null, e);
                }
            });
            clients[t].start();
        }
        try (RawClient watcher = new RawClient(server.port()))
        {
            while (failure.get() == null && System.nanoTime() < most &&
                (System.nanoTime() < minimum || stats(watcher).get("scrub_blocks_verified") <= 100))
            {
                Thread.sleep(50);
            }
        }
        finally
        {
            stop.set(true); // also when the watcher failed: the clients must not churn on until the teardown
        }
        for (final Thread t : clients)
        {
            t.join(30_000);
        }
        assertNull(failure.get());
        try (RawClient c = new RawClient(server.port()))
        {
            final Map<String, Long> stats = stats(c);
            assertTrue(stats.get("scrub_blocks_verified") > 100, "the scrubber ran: " + stats);
            assertEquals(0, stats.get("scrub_corrupt_found"), "false alarms");
            assertEquals(0, stats.get("committer_corrupt_marked"));
            assertEquals(0, stats.get("corrupt_reads"));
        }
    }
}
