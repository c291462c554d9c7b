package io.ringblocks.storage;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lmdbjava.CursorIterable;
import org.lmdbjava.Dbi;
import org.lmdbjava.Env;
import org.lmdbjava.Txn;

import io.ringblocks.uring.Wakeup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The write-ahead log's file against what the index says: a store written by the version before the log (schema 3:
 * no {@code wal.log}, no checkpoint in {@code meta}) is upgraded when it was closed cleanly and refused when not; a
 * missing log is refused after an unclean shutdown and recreated after a clean one.
 */
class StoreLogFilesTest
{
    private static final HexFormat HEX = HexFormat.of();

    @TempDir
    Path dir;

    @Test
    void shouldOpenAStoreOfSchema3KeepItsBlocksAndContinue() throws Exception
    {
        final StoreConfig config = StoreTest.config(dir, 256L << 20, 8L << 20);
        final Map<String, Integer> live = new HashMap<>();
        final Set<String> deleted = new HashSet<>();
        final Random random = new Random(31);
        putAndDelete(config, random, 60, 0, live, deleted);
        fabricateSchema3(dir, true);

        putAndDelete(config, random, 20, 10, live, deleted);
        assertTrue(Files.exists(dir.resolve(WriteAheadLog.FILE)), "the upgrade created a log");
        assertEquals(BlockIndex.SCHEMA_VERSION, schemaVersion(dir));
        StoreTest.verify(config, live, deleted);
        assertEquals(70, live.size());
    }

    @Test
    void shouldRefuseAStoreOfSchema3NotShutDownCleanlyWithOneLine() throws Exception
    {
        final StoreConfig config = StoreTest.config(dir, 256L << 20, 8L << 20);
        putAndDelete(config, new Random(37), 10, 0, new HashMap<>(), new HashSet<>());
        fabricateSchema3(dir, false);

        final IllegalStateException refused = assertThrows(IllegalStateException.class, () -> open(config).close());
        assertFalse(refused.getMessage().contains("\n"), refused.getMessage());
        assertTrue(refused.getMessage().contains(dir.resolve(StoreFiles.INDEX_DIR).toString()), refused.getMessage());
        assertTrue(refused.getMessage().contains("not shut down cleanly"), refused.getMessage());
        assertEquals(3, schemaVersion(dir), "a refused store is not upgraded");
        assertFalse(Files.exists(dir.resolve(WriteAheadLog.FILE)), "a refused store gets no log");
    }

    /**
     * A child logs PUTs and DELETEs after a checkpoint and is killed; with its log gone the store is refused with
     * one line naming the log, nothing is written, and with the log back everything acknowledged is recovered.
     */
    @Test
    void shouldRefuseAMissingLogAfterAnUncleanShutdownWithOneLineNamingIt() throws Exception
    {
        final Path store = dir.resolve("store");
        final List<String> lines = runScript(store);
        final StoreConfig config = CrashChild.config(store, false, true, CrashChild.Profile.SCRIPT);
        final Path log = store.resolve(WriteAheadLog.FILE);
        final Path saved = dir.resolve("saved.log");
        Files.move(log, saved);

        final IllegalStateException refused = assertThrows(IllegalStateException.class, () -> open(config).close());
        assertFalse(refused.getMessage().contains("\n"), refused.getMessage());
        assertTrue(refused.getMessage().contains(log.toString()), refused.getMessage());
        assertFalse(Files.exists(log), "a refused store gets no new log");

        Files.move(saved, log);
        final Map<String, Integer> live = new HashMap<>();
        final Set<String> deleted = new HashSet<>();
        acknowledged(lines, live, deleted);
        StoreTest.verify(config, live, deleted);
    }

    /**
     * The same before the store's first checkpoint: the index records no checkpoint, but it was not shut down
     * cleanly, so its log held acknowledged changes that LMDB does not: a new empty log would lose them silently.
     */
    @Test
    void shouldRefuseAMissingLogAfterAnUncleanShutdownBeforeTheFirstCheckpoint() throws Exception
    {
        final Path store = dir.resolve("store");
        final List<String> lines;
        try (ChildJvm child = ChildJvm.start(store.toString(), "5", "false", "sync",
            CrashChild.Profile.BIG_LOG.name()))
        {
            child.await("P", 200, 60);
            lines = child.kill();
        }
        final StoreConfig config = CrashChild.config(store, false, true, CrashChild.Profile.BIG_LOG);
        final Map<String, Integer> live = new HashMap<>();
        acknowledged(lines, live, new HashSet<>());
        Files.delete(store.resolve(WriteAheadLog.FILE));

        long indexed = -1;
        try
        {
            try (Store opened = open(config))
            {
                indexed = opened.index().count();
            }
        }
        catch (final IllegalStateException e)
        {
            assertFalse(e.getMessage().contains("\n"), e.getMessage());
            assertTrue(e.getMessage().contains(store.resolve(WriteAheadLog.FILE).toString()), e.getMessage());
        }
        assertEquals(-1, indexed, "a store whose log vanished after an unclean shutdown opened with " + indexed +
            " blocks of " + live.size() + " acknowledged");
    }

    @Test
    void shouldRecreateAMissingLogAfterACleanShutdownAndContinueItsSequence() throws Exception
    {
        final StoreConfig config = StoreTest.config(dir, 256L << 20, 8L << 20);
        final Map<String, Integer> live = new HashMap<>();
        final Set<String> deleted = new HashSet<>();
        final Random random = new Random(41);
        final long before = putAndDelete(config, random, 40, 0, live, deleted);
        assertTrue(before > 0);
        Files.delete(dir.resolve(WriteAheadLog.FILE));

        final long after = putAndDelete(config, random, 30, 5, live, deleted);
        assertTrue(Files.exists(dir.resolve(WriteAheadLog.FILE)), "the log was recreated");
        assertTrue(after > before, "the new log continues the sequence: " + before + " then " + after);
        StoreTest.verify(config, live, deleted);
        assertEquals(65, live.size());
    }

    /**
     * A copy of the log from an earlier run put back after an unclean shutdown lacks the changes acknowledged after
     * the index's checkpoint: refused with one line (before, it replayed nothing and opened without them), and the
     * right log still recovers everything.
     */
    @Test
    void shouldRefuseALogFromAnEarlierRunAfterAnUncleanShutdown() throws Exception
    {
        final Path store = dir.resolve("store");
        final StoreConfig config = CrashChild.config(store, false, true, CrashChild.Profile.SCRIPT);
        open(config).close();
        final Path log = store.resolve(WriteAheadLog.FILE);
        final Path earlier = dir.resolve("earlier.log");
        Files.copy(log, earlier);
        final List<String> lines = runScript(store);
        final Path right = dir.resolve("right.log");
        Files.move(log, right);
        Files.copy(earlier, log);

        final IllegalStateException refused = assertThrows(IllegalStateException.class, () -> open(config).close());
        assertFalse(refused.getMessage().contains("\n"), refused.getMessage());
        assertTrue(refused.getMessage().contains(log + " is refused: it was last used by run 1 of this store and " +
            "the index by run 2"), refused.getMessage());

        Files.move(right, log, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        final Map<String, Integer> live = new HashMap<>();
        final Set<String> deleted = new HashSet<>();
        acknowledged(lines, live, deleted);
        assertFalse(live.isEmpty());
        StoreTest.verify(config, live, deleted);
    }

    /**
     * index/ and blocks.dat restored together from a copy of an earlier run, beside the current log: the log's
     * records of the later run chain to the copy's checkpoint, and replaying them would delete the blocks the copy
     * brought back and index space the older file does not hold. Refused; without the log, the copy opens as it is.
     */
    @Test
    void shouldRefuseToReplayALogNewerThanTheIndex() throws Exception
    {
        final StoreConfig config = StoreTest.config(dir, 256L << 20, 8L << 20);
        final Map<String, Integer> live = new HashMap<>();
        final Set<String> deleted = new HashSet<>();
        final Random random = new Random(43);
        putAndDelete(config, random, 20, 0, live, deleted);
        final Map<String, Integer> copied = new HashMap<>(live);
        final Path copy = dir.resolve("copy");
        Files.createDirectories(copy.resolve("index"));
        Files.copy(dir.resolve("blocks.dat"), copy.resolve("blocks.dat"));
        Files.copy(dir.resolve("index").resolve("data.mdb"), copy.resolve("index").resolve("data.mdb"));

        putAndDelete(config, random, 5, 10, live, deleted);
        final Path log = dir.resolve(WriteAheadLog.FILE);
        Files.copy(copy.resolve("blocks.dat"), dir.resolve("blocks.dat"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.copy(copy.resolve("index").resolve("data.mdb"), dir.resolve("index").resolve("data.mdb"),
            java.nio.file.StandardCopyOption.REPLACE_EXISTING);

        final IllegalStateException refused = assertThrows(IllegalStateException.class, () -> open(config).close());
        assertFalse(refused.getMessage().contains("\n"), refused.getMessage());
        assertTrue(refused.getMessage().contains("holds records of run 2 of this store after the index's " +
            "checkpoint, but the data file was last opened by run 1"), refused.getMessage());

        Files.delete(log);
        assertEquals(copied.keySet(), StoreTest.verify(config, copied, Set.of()), "the copy, as it was");
    }

    /**
     * Opens the store, PUTs {@code puts} random blocks and DELETEs {@code deletes} of those already live, closes it
     * cleanly. @return the sequence of the last log record.
     */
    private static long putAndDelete(final StoreConfig config, final Random random, final int puts, final int deletes,
        final Map<String, Integer> live, final Set<String> deleted) throws Exception
    {
        final long[] stats = new long[Store.JOURNAL_STATS.size()];
        try (Wakeup wakeup = new Wakeup(); Store store = Store.open(config, new Wakeup[]{wakeup}, new ErrorHandler());
            StoreDriver driver = new StoreDriver(store, wakeup, 0, 16))
        {
            final List<String> victims = new ArrayList<>(live.keySet());
            for (int i = 0; i < puts; i++)
            {
                final byte[] payload = new byte[1 + random.nextInt(100_000)];
                random.nextBytes(payload);
                final int length = payload.length;
                driver.put(payload, (hash, result) ->
                {
                    assertEquals(Deltas.STORED, result);
                    live.put(HEX.formatHex(hash), length);
                });
            }
            for (int i = 0; i < deletes; i++)
            {
                driver.delete(HEX.parseHex(victims.get(i)), (hash, result) ->
                {
                    assertEquals(Deltas.DELETED, result);
                    live.remove(HEX.formatHex(hash));
                    deleted.add(HEX.formatHex(hash));
                });
            }
            driver.drain();
            store.journalStats(stats);
        }
        return stats[Store.journalStat("wal_last_sequence")];
    }

    private static Store open(final StoreConfig config)
    {
        return Store.open(config, new Wakeup[0], new ErrorHandler());
    }

    private static List<String> runScript(final Path store) throws Exception
    {
        try (ChildJvm child = ChildJvm.start(store.toString(), "13", "false", "sync",
            CrashChild.Profile.SCRIPT.name()))
        {
            child.await("DONE", 1, 60);
            return child.kill();
        }
    }

    /** Everything the child's lines acknowledge (all its operations were acknowledged before DONE or the kill). */
    private static void acknowledged(final List<String> lines, final Map<String, Integer> live,
        final Set<String> deleted)
    {
        for (final String line : lines)
        {
            final String[] parts = line.split(" ");
            if (parts[0].equals("P") && parts.length == 3)
            {
                live.put(parts[1], Integer.parseInt(parts[2]));
                deleted.remove(parts[1]);
            }
            else if (parts[0].equals("D"))
            {
                live.remove(parts[1]);
                deleted.add(parts[1]);
            }
        }
    }

    /**
     * Turns a cleanly closed store into one the version before the log would have left: no {@code wal.log}, no
     * checkpoint keys, schema_version 3, and sync generations in the entries (that version used them); with
     * {@code clean} false, both files say the store was not shut down cleanly.
     */
    private static void fabricateSchema3(final Path store, final boolean clean) throws Exception
    {
        try (Env<ByteBuffer> env = Env.create().setMapSize(1L << 30).setMaxDbs(4)
            .open(store.resolve(StoreFiles.INDEX_DIR).toFile()))
        {
            final Dbi<ByteBuffer> meta = env.openDbi("meta");
            final Dbi<ByteBuffer> blocks = env.openDbi("blocks");
            try (Txn<ByteBuffer> txn = env.txnWrite())
            {
                for (final String key : new String[]{BlockIndex.WAL_SEQUENCE, BlockIndex.WAL_POSITION,
                    BlockIndex.WAL_CRC})
                {
                    assertTrue(meta.delete(txn, key(key)), key);
                }
                meta.put(txn, key("schema_version"), direct(4).putInt(0, 3));
                if (!clean)
                {
                    meta.put(txn, key(BlockIndex.CLEAN_SHUTDOWN), direct(8).putLong(0, 0));
                }
                final List<ByteBuffer[]> entries = new ArrayList<>();
                try (CursorIterable<ByteBuffer> all = blocks.iterate(txn))
                {
                    for (final CursorIterable.KeyVal<ByteBuffer> kv : all)
                    {
                        final ByteBuffer value = direct(IndexValue.VALUE_LENGTH);
                        value.put(0, kv.val(), 0, IndexValue.VALUE_LENGTH);
                        value.putLong(IndexValue.GENERATION_OFFSET, 7);
                        final ByteBuffer key = direct(BlockIndex.KEY_LENGTH);
                        key.put(0, kv.key(), 0, BlockIndex.KEY_LENGTH);
                        entries.add(new ByteBuffer[]{key, value});
                    }
                }
                for (final ByteBuffer[] entry : entries)
                {
                    blocks.put(txn, entry[0], entry[1]);
                }
                txn.commit();
            }
            env.sync(true);
        }
        if (!clean)
        {
            final Path data = store.resolve(StoreFiles.DATA_FILE);
            final DataHeader header = DataHeader.read(data);
            header.with(header.chunkSize(), header.blockCount(), false).write(data, false);
        }
        Files.delete(store.resolve(WriteAheadLog.FILE));
    }

    private static int schemaVersion(final Path store) throws Exception
    {
        try (Env<ByteBuffer> env = Env.create().setMapSize(1L << 30).setMaxDbs(4)
            .open(store.resolve(StoreFiles.INDEX_DIR).toFile()))
        {
            final Dbi<ByteBuffer> meta = env.openDbi("meta");
            try (Txn<ByteBuffer> txn = env.txnRead())
            {
                return meta.get(txn, key("schema_version")).order(ByteOrder.LITTLE_ENDIAN).getInt(0);
            }
        }
    }

    private static ByteBuffer key(final String name)
    {
        final byte[] bytes = name.getBytes(StandardCharsets.US_ASCII);
        return direct(bytes.length).put(0, bytes);
    }

    private static ByteBuffer direct(final int capacity)
    {
        return ByteBuffer.allocateDirect(capacity).order(ByteOrder.LITTLE_ENDIAN);
    }
}
