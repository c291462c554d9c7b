package io.ringblocks.storage;

import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Damage to the write-ahead log's newest records, at the store level. A child store ({@link CrashChild.Profile#SCRIPT},
 * sync mode) PUTs and DELETEs, checkpoints, logs more changes and ends with five single PUTs (one record each), and is
 * killed. For every byte offset inside the last three records' bytes ({@code [start, start + length)}: header,
 * effect and every CRC-covered byte, not the zero padding after them), a fresh copy of the store has (a) that byte
 * flipped and (b) {@code wal.log} cut at that offset (its size is restored on open), and opening it must: index every
 * block of the records before the damaged one with the right bytes, index nothing of the damaged record or later
 * (the index equals exactly the changes of the records before it applied in order), keep every indexed block's bytes
 * hashing to its key, so an acknowledged hash reads back byte-exact or NOT_FOUND and never other bytes, and leak no
 * space ({@link StoreTest#verify}). Every offset, no stride.
 */
class WalDamageTest
{
    private static final int DAMAGED_RECORDS = 3;
    private static final HexFormat HEX = HexFormat.of();

    @TempDir
    Path dir;

    /** One record of the log as parsed with {@link WalRecord}'s layout: where it starts, its length, its effects. */
    private record Logged(long sequence, long start, int length, List<String[]> effects)
    {
    }

    @Test
    void shouldRecoverTheRecordsBeforeAnyDamagedByteOfTheLastRecords() throws Exception
    {
        final Path template = dir.resolve("template");
        final StoreConfig config = CrashChild.config(template, false, true, CrashChild.Profile.SCRIPT);
        final List<String> lines;
        try (ChildJvm child = ChildJvm.start(template.toString(), "11", "false", "sync",
            CrashChild.Profile.SCRIPT.name()))
        {
            child.await("DONE", 1, 60);
            lines = child.kill();
        }
        final Set<String> acknowledged = new HashSet<>();
        long checkpointed = -1;
        for (final String line : lines)
        {
            final String[] parts = line.split(" ");
            if (parts[0].equals("P"))
            {
                acknowledged.add(parts[1]);
            }
            else if (parts[0].equals("CHECKPOINTED"))
            {
                checkpointed = Long.parseLong(parts[1]);
            }
        }
        assertEquals(lines.stream().filter(l -> l.startsWith("p ")).count(), acknowledged.size(), "every PUT acked");

        final List<Logged> records = parse(template.resolve(WriteAheadLog.FILE));
        final int n = records.size();
        assertTrue(checkpointed > 0 && records.get(n - DAMAGED_RECORDS).sequence() > checkpointed + 1,
            "records after the checkpoint " + checkpointed + ": " + n);
        for (int i = n - 5; i < n; i++)
        {
            assertEquals(1, records.get(i).effects().size(), "the single PUTs are one record each");
        }
        // The copies live in memory where there is a tmpfs: hundreds of opens, each a dozen flushes, fly there.
        final Path shm = Path.of("/dev/shm");
        final Path copies = Files.isDirectory(shm) && Files.isWritable(shm) ?
            Files.createTempDirectory(shm, "ringblocks-wal-damage") : dir.resolve("copies");
        try
        {
            // Undamaged, the copy recovers everything acknowledged.
            check(template, copies.resolve("whole"), config, -1, (byte)0, records, n, acknowledged);
            int opened = 1;
            final long started = System.nanoTime();
            for (int r = n - DAMAGED_RECORDS; r < n; r++)
            {
                final Logged damaged = records.get(r);
                for (long at = damaged.start(); at < damaged.start() + damaged.length(); at++)
                {
                    check(template, copies.resolve("flip"), config, at, (byte)0xFF, records, r, acknowledged);
                    check(template, copies.resolve("cut"), config, at, (byte)0, records, r, acknowledged);
                    opened += 2;
                }
            }
            System.out.println("WalDamageTest: " + opened + " damaged copies opened in " +
                (System.nanoTime() - started) / 1_000_000 + " ms in " + copies);
        }
        finally
        {
            delete(copies);
        }
    }

    /**
     * Copies {@code template} to {@code copy}, damages its log at {@code at} (flips it with {@code flip}, or cuts the
     * file there when {@code flip} is 0; no damage when {@code at} is negative), opens it, and checks that exactly
     * the records before {@code intact} are indexed.
     */
    private static void check(final Path template, final Path copy, final StoreConfig templateConfig, final long at,
        final byte flip, final List<Logged> records, final int intact, final Set<String> acknowledged)
        throws Exception
    {
        delete(copy);
        Files.createDirectories(copy.resolve(StoreFiles.INDEX_DIR));
        for (final String name : new String[]{StoreFiles.DATA_FILE, WriteAheadLog.FILE,
            StoreFiles.INDEX_DIR + "/data.mdb"})
        {
            Files.copy(template.resolve(name), copy.resolve(name), StandardCopyOption.COPY_ATTRIBUTES);
        }
        if (at >= 0)
        {
            try (RandomAccessFile log = new RandomAccessFile(copy.resolve(WriteAheadLog.FILE).toFile(), "rw"))
            {
                if (flip != 0)
                {
                    log.seek(at);
                    final int was = log.read();
                    log.seek(at);
                    log.write(was ^ flip);
                }
                else
                {
                    log.setLength(at);
                }
            }
        }
        final Map<String, Integer> expected = new LinkedHashMap<>();
        for (int i = 0; i < intact; i++)
        {
            for (final String[] effect : records.get(i).effects())
            {
                if (effect[0].equals("PUT"))
                {
                    expected.put(effect[1], Integer.parseInt(effect[2]));
                }
                else
                {
                    expected.remove(effect[1]);
                }
            }
        }
        final Set<String> absent = new HashSet<>(acknowledged);
        absent.removeAll(expected.keySet());
        final String what = at < 0 ? "undamaged" : (flip != 0 ? "byte flipped" : "log cut") + " at " + at +
            " (record " + records.get(intact).sequence() + " starts at " + records.get(intact).start() + ")";
        final StoreConfig config = StoreConfig.builder(copy).maxSize(templateConfig.maxSize()).durable(true)
            .directIo(true).readCache(true).maxBlockSize(templateConfig.maxBlockSize())
            .growStep(templateConfig.growStep()).indexMapSize(1L << 30).maxBatch(64).debounceNanos(0L)
            .deltaRingCapacity(1 << 16).ackRingCapacity(1 << 16).journal(templateConfig.journal()).conclude();
        final Set<String> found;
        try
        {
            found = StoreTest.verify(config, expected, absent);
        }
        catch (final AssertionError e)
        {
            throw new AssertionError(what + ": " + e.getMessage(), e);
        }
        assertEquals(expected.keySet(), found, what);
    }

    /** Follows the chain from the first page: sequences 1, 2, ... each chained to the CRC of the one before. */
    private static List<Logged> parse(final Path log) throws Exception
    {
        final ByteBuffer bytes = ByteBuffer.wrap(Files.readAllBytes(log)).order(ByteOrder.LITTLE_ENDIAN);
        final List<Logged> records = new ArrayList<>();
        long position = WriteAheadLog.PAGE;
        int prevCrc = 0;
        while (position + WalRecord.HEADER_LENGTH <= bytes.capacity() &&
            bytes.getInt((int)position + WalRecord.MAGIC_OFFSET) == WalRecord.MAGIC)
        {
            final int at = (int)position;
            final long sequence = bytes.getLong(at + WalRecord.SEQUENCE_OFFSET);
            final int count = bytes.getInt(at + WalRecord.COUNT_OFFSET);
            final int length = bytes.getInt(at + WalRecord.LENGTH_OFFSET);
            assertEquals(records.size() + 1, sequence, "sequence at " + position);
            assertEquals(WalRecord.length(count), length, "length at " + position);
            if (!records.isEmpty())
            {
                assertEquals(prevCrc, bytes.getInt(at + WalRecord.PREV_CRC_OFFSET), "chain at " + position);
            }
            prevCrc = bytes.getInt(at + WalRecord.CRC_OFFSET);
            final List<String[]> effects = new ArrayList<>();
            for (int i = 0; i < count; i++)
            {
                final int effect = at + WalRecord.effectOffset(i);
                final byte[] hash = new byte[WalRecord.HASH_LENGTH];
                bytes.get(effect + WalRecord.HASH_OFFSET, hash);
                final int type = bytes.get(effect + WalRecord.TYPE_OFFSET);
                effects.add(type == WriteAheadLog.PUT ?
                    new String[]{"PUT", HEX.formatHex(hash),
                        Integer.toString(bytes.getInt(effect + WalRecord.EFFECT_LENGTH_OFFSET))} :
                    new String[]{"DELETE", HEX.formatHex(hash)});
            }
            records.add(new Logged(sequence, position, length, effects));
            position += WalRecord.paddedLength(count);
        }
        return records;
    }

    private static void delete(final Path path) throws Exception
    {
        if (Files.exists(path))
        {
            try (Stream<Path> walk = Files.walk(path))
            {
                for (final Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList())
                {
                    Files.delete(p);
                }
            }
        }
    }
}
