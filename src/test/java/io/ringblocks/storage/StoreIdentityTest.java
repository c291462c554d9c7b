package io.ringblocks.storage;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lmdbjava.Txn;

import io.ringblocks.uring.Wakeup;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The data directory's lock, the store identity shared by the data file's header and the index, and the checks
 * made at open before anything is written: a store whose files do not agree refuses to start with one line and
 * leaves the data file untouched.
 */
class StoreIdentityTest
{
    @TempDir
    Path dir;

    static StoreConfig config(final Path dir, final int maxBlockSize)
    {
        return StoreConfig.builder(dir).maxSize(64L << 20).maxBlockSize(maxBlockSize).growStep(8L << 20)
            .indexMapSize(1L << 30).maxBatch(1024).journal(TestJournal.SMALL).conclude();
    }

    /** Opens a store, puts {@code count} random blocks of up to {@code maxLength} bytes, closes it cleanly. */
    static List<byte[]> fill(final StoreConfig config, final int count, final int maxLength, final long seed)
        throws Exception
    {
        final List<byte[]> hashes = new ArrayList<>();
        final Random random = new Random(seed);
        try (Wakeup wakeup = new Wakeup(); Store store = Store.open(config, new Wakeup[]{wakeup}, new ErrorHandler());
            StoreDriver driver = new StoreDriver(store, wakeup, 0, 8))
        {
            for (int i = 0; i < count; i++)
            {
                final byte[] payload = new byte[1 + random.nextInt(maxLength)];
                random.nextBytes(payload);
                driver.put(payload, (hash, result) -> hashes.add(hash));
            }
            driver.drain();
        }
        assertEquals(count, hashes.size());
        return hashes;
    }

    /** @return {offset, length} of every block in the index, in key order. */
    static List<long[]> entries(final Path dir)
    {
        final List<long[]> found = new ArrayList<>();
        try (BlockIndex index = new BlockIndex(dir.resolve("index").toFile(), 1L << 30, 8, true))
        {
            index.forEach((hash, offset, length, sizeClass, generation, crc) ->
                found.add(new long[]{offset, length, sizeClass}));
        }
        return found;
    }

    static Store open(final StoreConfig config) throws Exception
    {
        return Store.open(config, new Wakeup[]{new Wakeup()}, new ErrorHandler());
    }

    /** Asserts that opening refuses with one line containing every fragment, and that blocks.dat was not touched. */
    private IllegalStateException assertRefused(final StoreConfig config, final String... fragments) throws Exception
    {
        final Path data = config.dir().resolve("blocks.dat");
        final byte[] before = Files.exists(data) ? digest(data) : null;
        final IllegalStateException e = assertThrows(IllegalStateException.class, () -> open(config).close());
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
        for (final String fragment : fragments)
        {
            assertTrue(e.getMessage().contains(fragment), "'" + fragment + "' in: " + e.getMessage());
        }
        if (before != null)
        {
            assertArrayEquals(before, digest(data), "the data file must not be written");
        }
        // The refusal released the directory lock: the same JVM can try again and gets the same answer.
        assertEquals(e.getMessage(), assertThrows(IllegalStateException.class, () -> open(config).close()).getMessage());
        return e;
    }

    private static byte[] digest(final Path file) throws Exception
    {
        return MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file));
    }

    @Test
    void shouldNotMarkADataFileReplacedWhileOpenAsCleanlyClosed() throws Exception
    {
        for (final boolean renamed : new boolean[]{true, false})
        {
            final Path store = dir.resolve(renamed ? "renamed" : "overwritten");
            final StoreConfig config = config(store, 1 << 20);
            fill(config, 5, 5000, 21);
            final Path data = store.resolve("blocks.dat");
            final Path copy = dir.resolve("backup-" + renamed);
            Files.copy(data, copy); // a backup taken between runs: clean, of an earlier open sequence
            final long backupSequence = DataHeader.read(copy).openSequence();
            final ErrorHandler errors = new ErrorHandler();
            try (Store open = Store.open(config, new Wakeup[]{new Wakeup()}, errors))
            {
                // While it runs, someone restores the backup: over the name (rsync), or into the file (cp).
                if (renamed)
                {
                    Files.copy(copy, store.resolve("restored.dat"));
                    Files.move(store.resolve("restored.dat"), data, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                        java.nio.file.StandardCopyOption.ATOMIC_MOVE);
                }
                else
                {
                    try (FileChannel out = FileChannel.open(data, StandardOpenOption.WRITE))
                    {
                        out.write(ByteBuffer.wrap(Files.readAllBytes(copy)), 0);
                    }
                }
            }
            assertEquals(1, errors.errors(), "the close reported the replaced file");
            assertEquals(backupSequence, DataHeader.read(data).openSequence(),
                "the stale copy was not stamped as this run's");
            // So the next start sees a data file older than its index: refused, not served.
            final IllegalStateException e = assertThrows(IllegalStateException.class, () -> open(config).close());
            assertTrue(e.getMessage().contains("blocks.dat") && e.getMessage().contains("tools/rbcheck"), e.getMessage());
        }
    }

    @Test
    void shouldRefuseASecondStoreEvenAfterTheLockFileWasDeleted() throws Exception
    {
        final StoreConfig config = config(dir, 1 << 20);
        try (Store first = open(config))
        {
            // An operator clearing what looks like a stale lock while the server runs.
            Files.delete(dir.resolve("ringblocks.lock"));
            final IllegalStateException e = assertThrows(IllegalStateException.class, () -> open(config).close());
            assertTrue(e.getMessage().startsWith("data directory " + dir + " is in use by another ringblocks process"),
                e.getMessage());
            assertTrue(first.index().count() >= 0, "the first store is unaffected");
        }
        open(config).close(); // and once the first is closed, the directory is free again
    }

    @Test
    void shouldRefuseASecondStoreOnTheSameDirectoryAndReleaseTheLockOnClose() throws Exception
    {
        final StoreConfig config = config(dir, 1 << 20);
        try (Store first = open(config))
        {
            final IllegalStateException e = assertThrows(IllegalStateException.class, () -> open(config).close());
            assertEquals("data directory " + dir + " is in use by another ringblocks process (pid " +
                ProcessHandle.current().pid() + ", lock " + dir.resolve("ringblocks.lock") + "): stop it first or " +
                "use another --data directory", e.getMessage());
            assertTrue(first.index().count() >= 0, "the first store is unaffected");
        }
        for (int i = 0; i < 3; i++)
        {
            open(config).close(); // released on close, every time
        }
    }

    @Test
    void shouldWriteTheSameStoreIdIntoTheHeaderAndTheIndex() throws Exception
    {
        final StoreConfig config = config(dir, 1 << 20);
        fill(config, 5, 9000, 1);
        final DataHeader header = DataHeader.read(dir.resolve("blocks.dat"));
        assertTrue(header.clean());
        assertEquals(5, header.blockCount());
        assertEquals(1 << 20, header.chunkSize());
        try (BlockIndex index = new BlockIndex(dir.resolve("index").toFile(), 1L << 30, 8, true))
        {
            assertArrayEquals(header.storeId(), index.metaBytes(BlockIndex.STORE_ID));
        }
        for (final long[] e : entries(dir))
        {
            assertTrue(e[0] >= DataHeader.LENGTH && (e[0] - DataHeader.LENGTH) % 4096 == 0, "blocks after the header");
        }
        try (Store store = open(config))
        {
            assertEquals(5, store.recoveredBlocks());
            assertFalse(DataHeader.read(dir.resolve("blocks.dat")).clean(), "marked open while running");
        }
    }

    @Test
    void shouldRefuseToStartWhenTheIndexIsLostOrEmptied() throws Exception
    {
        final StoreConfig config = config(dir, 1 << 20);
        fill(config, 8, 20_000, 2);
        final Path index = dir.resolve("index");
        final Path saved = dir.resolve("saved-index");
        Files.move(index, saved);
        assertRefused(config, "index " + index + " does not describe data file " + dir.resolve("blocks.dat"),
            "the index is missing or empty", "run tools/rbcheck --data " + dir);
        assertFalse(Files.exists(index.resolve("data.mdb")), "no new index is created beside a data file");
        Files.createDirectories(index); // emptied: the directory is there, the files are not
        assertRefused(config, "the index is missing or empty");
        Files.delete(index);
        Files.move(saved, index);
        try (Store store = open(config))
        {
            assertEquals(8, store.recoveredBlocks(), "the right index opens the store again");
        }
    }

    @Test
    void shouldRefuseAnIndexOfAnotherStore() throws Exception
    {
        final StoreConfig config = config(dir, 1 << 20);
        fill(config, 3, 5000, 3);
        final Path other = dir.resolve("other");
        fill(config(other, 1 << 20), 3, 5000, 4);
        final Path index = dir.resolve("index");
        for (final String name : new String[]{"data.mdb", "lock.mdb"})
        {
            Files.copy(other.resolve("index").resolve(name), index.resolve(name),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        assertRefused(config, "the index belongs to store", "the data file to store " +
            DataHeader.read(dir.resolve("blocks.dat")).idHex());
    }

    @Test
    void shouldRefuseAnIndexWithBlocksWhenTheDataFileIsMissing() throws Exception
    {
        final StoreConfig config = config(dir, 1 << 20);
        fill(config, 4, 5000, 5);
        Files.delete(dir.resolve("blocks.dat"));
        assertRefused(config, "the data file is missing or empty, but the index describes 4 blocks");
        assertFalse(Files.exists(dir.resolve("blocks.dat")));
    }

    @Test
    void shouldRefuseWhenBlockCountsDisagreeAfterACleanShutdown() throws Exception
    {
        final StoreConfig config = config(dir, 1 << 20);
        final List<byte[]> hashes = fill(config, 6, 5000, 6);
        try (BlockIndex index = new BlockIndex(dir.resolve("index").toFile(), 1L << 30, 8, true))
        {
            index.deleteAll(List.of(hashes.get(0))); // as an index restored from an older copy would be
        }
        assertRefused(config, "closed cleanly with 6 blocks, but the index holds 5");
    }

    @Test
    void shouldRefuseAnIndexOfAnOlderSchema() throws Exception
    {
        final StoreConfig config = config(dir, 1 << 20);
        fill(config, 1, 100, 7);
        overwriteSchema(dir, 2);
        assertRefused(config, "has schema version 2, this server reads only version " + BlockIndex.SCHEMA_VERSION);
    }

    private static void overwriteSchema(final Path dir, final int version)
    {
        final org.lmdbjava.Env<org.agrona.DirectBuffer> env = org.lmdbjava.Env.create(
            org.lmdbjava.DirectBufferProxy.PROXY_DB).setMaxDbs(4).setMapSize(1L << 30)
            .open(dir.resolve("index").toFile());
        try (env)
        {
            final org.lmdbjava.Dbi<org.agrona.DirectBuffer> meta = env.openDbi("meta");
            final UnsafeBuffer key = new UnsafeBuffer(ByteBuffer.allocateDirect(14));
            key.putBytes(0, "schema_version".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            final UnsafeBuffer value = new UnsafeBuffer(ByteBuffer.allocateDirect(4));
            value.putInt(0, version, java.nio.ByteOrder.LITTLE_ENDIAN);
            try (Txn<org.agrona.DirectBuffer> txn = env.txnWrite())
            {
                meta.put(txn, key, value);
                txn.commit();
            }
        }
    }

    @Test
    void shouldRefuseADataFileCutShortOfTheLastBlock() throws Exception
    {
        final StoreConfig config = config(dir, 1 << 20);
        fill(config, 10, 30_000, 8);
        long end = 0;
        for (final long[] e : entries(dir))
        {
            end = Math.max(end, e[0] + e[1]);
        }
        try (FileChannel data = FileChannel.open(dir.resolve("blocks.dat"), StandardOpenOption.WRITE))
        {
            data.truncate(end - 100);
        }
        assertRefused(config, "data file " + dir.resolve("blocks.dat") + " does not hold indexed block",
            "past the end of the data file (" + (end - 100) + " bytes)", "run tools/rbcheck --data " + dir);
    }

    @Test
    void shouldRefuseAnIndexEntryPointingPastTheEndOrOutsideTheDataArea() throws Exception
    {
        final StoreConfig config = config(dir, 1 << 20);
        fill(config, 2, 5000, 9);
        final long size = Files.size(dir.resolve("blocks.dat"));
        addEntry(dir, (byte)1, size + (1 << 20), 5000, 1);
        assertRefused(config, "does not hold indexed block 01", "past the end of the data file");
        addEntry(dir, (byte)1, 0, 5000, 1); // over the header
        assertRefused(config, "offset 0 is not a 4 KiB-aligned offset after the header");
        addEntry(dir, (byte)1, DataHeader.LENGTH, 100_000, 1); // length of another class
        assertRefused(config, "length 100000 does not belong to size class 1");
    }

    /** Puts an entry by hand and marks both files as after a crash, so that only the placement check can object. */
    static void addEntry(final Path dir, final byte first, final long offset, final int length, final int sizeClass)
    {
        try (BlockIndex index = new BlockIndex(dir.resolve("index").toFile(), 1L << 30, 8, true);
            Txn<org.agrona.DirectBuffer> txn = index.writeTxn())
        {
            final UnsafeBuffer key = new UnsafeBuffer(ByteBuffer.allocateDirect(32));
            key.setMemory(0, 32, first);
            final UnsafeBuffer value = new UnsafeBuffer(ByteBuffer.allocateDirect(IndexValue.VALUE_LENGTH));
            IndexValue.encode(value, offset, length, sizeClass, 0, 0, 0);
            index.put(txn, key, value);
            txn.commit();
            index.putMetaLong(BlockIndex.CLEAN_SHUTDOWN, 0, true);
        }
        final DataHeader header = DataHeader.read(dir.resolve("blocks.dat"));
        header.with(header.chunkSize(), header.blockCount(), false).write(dir.resolve("blocks.dat"), false);
    }

    @Test
    void shouldSayWhichMaxBlockSizeTheStoreNeeds() throws Exception
    {
        fill(config(dir, 1 << 20), 3, 300_000, 10);
        // What the store holds decides, not the chunk size it last ran with (1m): the largest block's class is
        // enough, half of it is refused.
        final long longest = entries(dir).stream().mapToLong(e -> e[1]).max().orElseThrow();
        final int needed = Math.max(4096, Integer.highestOneBit((int)longest - 1) << 1);
        final String name = needed >= 1 << 20 ? (needed >> 20) + "m" : (needed >> 10) + "k";
        assertRefused(config(dir, needed / 2), "data dir " + dir + " holds blocks of up to " + name + "; " +
            "start with --max-block-size " + name + " or larger");
        try (Store store = open(config(dir, needed)))
        {
            assertEquals(3, store.recoveredBlocks());
        }
        try (Store store = open(config(dir, 1 << 20)))
        {
            assertEquals(3, store.recoveredBlocks());
        }
    }

    @Test
    void shouldRefuseADamagedIndexFileBeforeLmdbMapsIt() throws Exception
    {
        final StoreConfig config = config(dir, 1 << 20);
        fill(config, 50, 5000, 11);
        final Path mdb = dir.resolve("index").resolve("data.mdb");
        final byte[] original = Files.readAllBytes(mdb);
        final byte[] garbage = original.clone();
        final byte[] noise = new byte[8192];
        new Random(12).nextBytes(noise);
        System.arraycopy(noise, 0, garbage, 0, noise.length);
        Files.write(mdb, garbage);
        assertRefused(config, "index file " + mdb + " is damaged (", "page 0 ", "rbcheck");
        // Only the magic number of the newer meta page is wrong.
        final byte[] badMagic = original.clone();
        badMagic[4096 + 16] ^= 0x5A;
        Files.write(mdb, badMagic);
        assertRefused(config, "index file " + mdb + " is damaged (meta page 1 has a bad magic number)");
        // Cut short: LMDB would map it and fault on the first missing page (SIGBUS).
        Files.write(mdb, java.util.Arrays.copyOf(original, 2 * 4096));
        assertRefused(config, "index file " + mdb + " is damaged (truncated: 8192 bytes");
        Files.write(mdb, original);
        try (Store store = open(config))
        {
            assertEquals(50, store.recoveredBlocks());
        }
        assertEquals(null, IndexFileCheck.problem(mdb));
    }

    @Test
    void shouldRefuseGarbageInAnyPageTheIndexTreesReachAndNothingElse() throws Exception
    {
        final StoreConfig config = config(dir, 1 << 20);
        fill(config, 3000, 300, 13); // enough entries for branch pages, and a free-page tree from the checkpoints
        final Path mdb = dir.resolve("index").resolve("data.mdb");
        final byte[] original = Files.readAllBytes(mdb);
        final java.util.BitSet reached = IndexFileCheck.treePages(mdb);
        assertTrue(reached.cardinality() > 3, "a tree of several pages: " + reached);
        final Path copy = dir.resolve("copy.mdb");
        final Random random = new Random(14);
        final byte[] noise = new byte[4096];
        for (int page = 2; page < original.length / 4096; page++)
        {
            final byte[] damaged = original.clone();
            random.nextBytes(noise);
            System.arraycopy(noise, 0, damaged, page * 4096, 4096);
            Files.write(copy, damaged);
            final String problem = IndexFileCheck.problem(copy);
            if (reached.get(page))
            {
                assertTrue(problem != null, "garbage in tree page " + page + " must be refused");
            }
            else
            {
                assertNull(problem, "page " + page + " is in no tree: " + problem);
            }
        }
        // Subtler damage LMDB would follow out of the page: a node offset past the page, a child past the file.
        final int leafOrBranch = reached.nextSetBit(2);
        final byte[] badPointer = original.clone();
        badPointer[leafOrBranch * 4096 + 16] = (byte)0xF0;
        badPointer[leafOrBranch * 4096 + 17] = (byte)0xFF;
        Files.write(copy, badPointer);
        assertTrue(IndexFileCheck.problem(copy) != null);
    }
}
