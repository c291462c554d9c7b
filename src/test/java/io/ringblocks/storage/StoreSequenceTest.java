package io.ringblocks.storage;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The open sequence kept in both the index and the data file's header: an index or a data file restored from an
 * earlier copy of the same store is refused at open (leaving the data file untouched) and reported by rbcheck,
 * while a crash between the two writes of an open is completed by the next open.
 */
class StoreSequenceTest
{
    private static final String[] INDEX_FILES = {"data.mdb", "lock.mdb"};

    @TempDir
    Path dir;

    private StoreConfig config()
    {
        return StoreIdentityTest.config(dir, 1 << 20);
    }

    /** @return {index's open sequence, header's open sequence}. */
    private long[] sequences()
    {
        try (BlockIndex index = new BlockIndex(dir.resolve("index").toFile(), 1L << 30, 8, true))
        {
            return new long[]{index.metaLong(BlockIndex.OPEN_SEQUENCE, -1),
                DataHeader.read(dir.resolve("blocks.dat")).openSequence()};
        }
    }

    private void copyIndex(final Path from, final Path to) throws Exception
    {
        Files.createDirectories(to);
        for (final String name : INDEX_FILES)
        {
            Files.copy(from.resolve(name), to.resolve(name), StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** Removes a meta key the way a store created before it existed would lack it. */
    private void deleteMeta(final String name)
    {
        final org.lmdbjava.Env<org.agrona.DirectBuffer> env = org.lmdbjava.Env.create(
            org.lmdbjava.DirectBufferProxy.PROXY_DB).setMaxDbs(4).setMapSize(1L << 30)
            .open(dir.resolve("index").toFile());
        try (env)
        {
            final org.lmdbjava.Dbi<org.agrona.DirectBuffer> meta = env.openDbi("meta");
            final byte[] bytes = name.getBytes(StandardCharsets.US_ASCII);
            final org.agrona.concurrent.UnsafeBuffer key =
                new org.agrona.concurrent.UnsafeBuffer(java.nio.ByteBuffer.allocateDirect(bytes.length));
            key.putBytes(0, bytes);
            try (org.lmdbjava.Txn<org.agrona.DirectBuffer> txn = env.txnWrite())
            {
                assertTrue(meta.delete(txn, key));
                txn.commit();
            }
        }
    }

    private void markHeaderNotClean()
    {
        final DataHeader header = DataHeader.read(dir.resolve("blocks.dat"));
        header.with(header.chunkSize(), header.blockCount(), false).write(dir.resolve("blocks.dat"), false);
    }

    /** Asserts a one-line refusal containing every fragment that left blocks.dat untouched. */
    private void assertRefused(final String... fragments) throws Exception
    {
        final Path data = dir.resolve("blocks.dat");
        final byte[] before = digest(data);
        final IllegalStateException e = assertThrows(IllegalStateException.class,
            () -> StoreIdentityTest.open(config()).close());
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
        for (final String fragment : fragments)
        {
            assertTrue(e.getMessage().contains(fragment), "'" + fragment + "' in: " + e.getMessage());
        }
        assertArrayEquals(before, digest(data), "the data file must not be written");
    }

    private static byte[] digest(final Path file) throws Exception
    {
        return MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file));
    }

    private String rbcheck(final boolean repair, final boolean expectSound)
    {
        final ByteArrayOutputStream printed = new ByteArrayOutputStream();
        final boolean sound = new OfflineCheck(dir, new PrintStream(printed, true, StandardCharsets.UTF_8)).run(repair);
        final String output = printed.toString(StandardCharsets.UTF_8);
        assertEquals(expectSound, sound, output);
        return output;
    }

    @Test
    void shouldRaiseTheSequenceInBothFilesAtEveryOpen() throws Exception
    {
        StoreIdentityTest.fill(config(), 3, 5000, 1);
        assertArrayEquals(new long[]{1, 1}, sequences());
        for (int i = 2; i <= 12; i++)
        {
            try (Store store = StoreIdentityTest.open(config()))
            {
                assertEquals(3, store.recoveredBlocks());
                assertEquals(i, DataHeader.read(dir.resolve("blocks.dat")).openSequence(), "raised while running");
            }
            assertArrayEquals(new long[]{i, i}, sequences());
        }
        assertTrue(rbcheck(false, true).contains("OK"));
    }

    @Test
    void shouldRefuseAnIndexRestoredFromAnEarlierCopy() throws Exception
    {
        StoreIdentityTest.fill(config(), 4, 5000, 2);
        final Path index = dir.resolve("index");
        final Path saved = dir.resolve("saved-index");
        copyIndex(index, saved);
        StoreIdentityTest.fill(config(), 3, 5000, 3); // more PUTs and a clean close
        copyIndex(saved, index);
        assertRefused("index " + index + " does not describe data file",
            "the index is older than the data file (open sequence 1 vs 2): restored from an earlier copy?",
            "run tools/rbcheck --data " + dir);
        // Without a clean close the block counts are not compared: the sequence alone tells the copies apart.
        markHeaderNotClean();
        assertRefused("the index is older than the data file (open sequence 1 vs 2)");
        final String report = rbcheck(false, false);
        assertTrue(report.contains("The index is older than the data file (open sequence 1 vs 2)"), report);
        assertTrue(report.contains("DAMAGED"), report);
    }

    @Test
    void shouldRefuseADataFileRestoredFromAnEarlierCopy() throws Exception
    {
        StoreIdentityTest.fill(config(), 4, 5000, 4);
        final Path data = dir.resolve("blocks.dat");
        final Path saved = dir.resolve("saved-blocks.dat");
        Files.copy(data, saved);
        StoreIdentityTest.fill(config(), 3, 5000, 5);
        StoreIdentityTest.open(config()).close();
        Files.copy(saved, data, StandardCopyOption.REPLACE_EXISTING);
        markHeaderNotClean(); // a copy taken while the store ran
        assertRefused("the index is newer than the data file (open sequence 3 vs 1): restored from an earlier copy?");
    }

    /**
     * A data file restored from the run just before looks like an open interrupted between the index and the header
     * (the index one ahead); the index says which it is. Before, such a copy was taken whenever its block count
     * matched, and the blocks written since read back CORRUPT.
     */
    @Test
    void shouldRefuseADataFileFromTheRunJustBefore() throws Exception
    {
        StoreIdentityTest.fill(config(), 4, 5000, 10);
        final Path data = dir.resolve("blocks.dat");
        final Path saved = dir.resolve("saved-blocks.dat");
        Files.copy(data, saved);
        StoreIdentityTest.open(config()).close(); // run 2: the same blocks, so the counts still match
        Files.copy(saved, data, StandardCopyOption.REPLACE_EXISTING);
        assertArrayEquals(new long[]{2, 1}, sequences());
        assertRefused("the index is newer than the data file (open sequence 2 vs 1): restored from an earlier copy?");
        assertTrue(rbcheck(false, false).contains("The index is newer than the data file"));
    }

    @Test
    void shouldCompleteAnOpenInterruptedBetweenTheIndexAndTheHeader() throws Exception
    {
        StoreIdentityTest.fill(config(), 5, 5000, 6);
        try (BlockIndex index = new BlockIndex(dir.resolve("index").toFile(), 1L << 30, 8, true))
        {
            // Raised in the index, the header not yet.
            index.putMetaLongs(new String[]{BlockIndex.OPEN_SEQUENCE, BlockIndex.HEADER_PENDING}, new long[]{2, 1}, true);
        }
        assertArrayEquals(new long[]{2, 1}, sequences());
        assertTrue(rbcheck(false, true).contains("OK"), "not damage: the next open completes it");
        try (Store store = StoreIdentityTest.open(config()))
        {
            assertEquals(5, store.recoveredBlocks());
        }
        // Completed with the number the interrupted open took (counted from the header): interrupted there again, the
        // index would still be one ahead, never two (which is refused as a restored copy).
        assertArrayEquals(new long[]{2, 2}, sequences());
    }

    @Test
    void shouldOpenAStoreWithoutASequenceYet() throws Exception
    {
        StoreIdentityTest.fill(config(), 2, 5000, 7);
        deleteMeta(BlockIndex.OPEN_SEQUENCE);
        final DataHeader header = DataHeader.read(dir.resolve("blocks.dat"));
        header.withSequence(0).write(dir.resolve("blocks.dat"), false);
        assertArrayEquals(new long[]{-1, 0}, sequences());
        try (Store store = StoreIdentityTest.open(config()))
        {
            assertEquals(2, store.recoveredBlocks());
        }
        assertArrayEquals(new long[]{1, 1}, sequences());
    }

    @Test
    void shouldRepairAStaleIndexOnlyWhenEveryBlockVerifies() throws Exception
    {
        StoreIdentityTest.fill(config(), 4, 5000, 8);
        final Path index = dir.resolve("index");
        final Path saved = dir.resolve("saved-index");
        copyIndex(index, saved);
        StoreIdentityTest.fill(config(), 3, 5000, 9);
        copyIndex(saved, index);

        // One block of the old copy no longer verifies: neither file can be trusted, nothing is written.
        final long offset = StoreIdentityTest.entries(dir).get(0)[0];
        final Path data = dir.resolve("blocks.dat");
        final byte[] original = new byte[1];
        try (FileChannel channel = FileChannel.open(data, StandardOpenOption.READ, StandardOpenOption.WRITE))
        {
            channel.read(java.nio.ByteBuffer.wrap(original), offset);
            channel.write(java.nio.ByteBuffer.wrap(new byte[]{(byte)(original[0] ^ 0x5A)}), offset);
        }
        final byte[] before = digest(data);
        final String refused = rbcheck(true, false);
        assertTrue(refused.contains("not repairable; restore both from the same copy"), refused);
        assertArrayEquals(before, digest(data), "an unrepairable store is left as it was");
        assertArrayEquals(new long[]{1, 2}, sequences());

        // Every block verifies: the repair takes the index as it is and sets both sequences to the newer one.
        try (FileChannel channel = FileChannel.open(data, StandardOpenOption.WRITE))
        {
            channel.write(java.nio.ByteBuffer.wrap(original), offset);
        }
        final String repaired = rbcheck(true, true);
        assertTrue(repaired.contains("repair: every indexed block verifies"), repaired);
        assertArrayEquals(new long[]{2, 2}, sequences());
        assertTrue(rbcheck(false, true).contains("OK"));
        try (Store store = StoreIdentityTest.open(config()))
        {
            // The stale index missed the last three blocks, but the write-ahead log still held their records after
            // its checkpoint: the repair replayed them (and verified every block, those three included).
            assertEquals(7, store.recoveredBlocks());
        }
    }
}
