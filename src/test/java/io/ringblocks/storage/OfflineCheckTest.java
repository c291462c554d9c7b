package io.ringblocks.storage;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The offline checker on stores damaged each way: bytes flipped inside a block, a data file cut short, an index
 * entry pointing past the end, a lost index. It reports and fails; {@code --repair} drops what is lost, and the
 * store then opens and holds exactly the intact blocks with the right bytes.
 */
class OfflineCheckTest
{
    private static final HexFormat HEX = HexFormat.of();

    @TempDir
    Path dir;

    private final ByteArrayOutputStream printed = new ByteArrayOutputStream();

    private boolean check(final boolean repair)
    {
        printed.reset();
        return new OfflineCheck(dir, new PrintStream(printed, true, StandardCharsets.UTF_8)).run(repair);
    }

    private String output()
    {
        return printed.toString(StandardCharsets.UTF_8);
    }

    /** A clean store of 12 blocks; returns hash -> length. */
    private Map<String, Integer> store() throws Exception
    {
        final StoreConfig config = StoreIdentityTest.config(dir, 1 << 20);
        StoreIdentityTest.fill(config, 12, 40_000, 42);
        final Map<String, Integer> blocks = new HashMap<>();
        try (BlockIndex index = new BlockIndex(dir.resolve("index").toFile(), 1L << 30, 8, true))
        {
            index.forEach((hash, offset, length, sizeClass, generation, crc) ->
            {
                final byte[] h = new byte[32];
                hash.getBytes(0, h);
                blocks.put(HEX.formatHex(h), length);
            });
        }
        assertTrue(check(false), output());
        assertTrue(output().contains("12 blocks checked, 0 bad"), output());
        return blocks;
    }

    /** @return {hash, offset, length} of the block that ends last in the data file. */
    private Object[] lastBlock()
    {
        final Object[] last = {null, 0L, 0};
        try (BlockIndex index = new BlockIndex(dir.resolve("index").toFile(), 1L << 30, 8, true))
        {
            index.forEach((hash, offset, length, sizeClass, generation, crc) ->
            {
                if (offset + length > (long)last[1] + (int)last[2])
                {
                    final byte[] h = new byte[32];
                    hash.getBytes(0, h);
                    last[0] = HEX.formatHex(h);
                    last[1] = offset;
                    last[2] = length;
                }
            });
        }
        return last;
    }

    /** Repairs, then opens the store: every block left has the right bytes, and exactly {@code expected} are left. */
    private void assertRepairedTo(final Map<String, Integer> expected, final Set<String> gone) throws Exception
    {
        assertTrue(check(true), output());
        assertTrue(output().contains("repair: "), output());
        assertTrue(check(false), "sound after the repair: " + output());
        final Set<String> found = StoreTest.verify(StoreIdentityTest.config(dir, 1 << 20), expected, gone);
        assertEquals(expected.keySet(), found);
    }

    @Test
    void shouldFindAndDropABlockWhoseBytesWereFlipped() throws Exception
    {
        final Map<String, Integer> blocks = store();
        final Object[] victim = lastBlock();
        try (FileChannel data = FileChannel.open(dir.resolve("blocks.dat"), StandardOpenOption.READ,
            StandardOpenOption.WRITE))
        {
            final ByteBuffer b = ByteBuffer.allocate(1);
            data.read(b, (long)victim[1] + 17);
            b.put(0, (byte)~b.get(0)).rewind();
            data.write(b, (long)victim[1] + 17);
        }
        assertFalse(check(false));
        assertTrue(output().contains("bad block " + victim[0] + " (offset " + victim[1] + ", length " + victim[2] +
            "): its bytes do not match the CRC32C recorded when it was written"), output());
        assertTrue(output().contains("12 blocks checked, 1 bad"), output());
        assertTrue(output().contains("DAMAGED"), output());
        blocks.remove((String)victim[0]);
        assertRepairedTo(blocks, Set.of((String)victim[0]));
    }

    @Test
    void shouldFindAndDropBlocksCutOffATruncatedDataFile() throws Exception
    {
        final Map<String, Integer> blocks = store();
        final Object[] victim = lastBlock();
        try (FileChannel data = FileChannel.open(dir.resolve("blocks.dat"), StandardOpenOption.WRITE))
        {
            data.truncate((long)victim[1] + (int)victim[2] - 100);
        }
        assertFalse(check(false));
        assertTrue(output().contains("bad block " + victim[0]) && output().contains("past the end of the data file"),
            output());
        blocks.remove((String)victim[0]);
        assertRepairedTo(blocks, Set.of((String)victim[0]));
    }

    @Test
    void shouldReportALogCutShortWithoutTouchingItAndRestoreItOnlyOnRepair() throws Exception
    {
        final Map<String, Integer> blocks = store();
        final Path log = dir.resolve(WriteAheadLog.FILE);
        final long full = Files.size(log);
        try (FileChannel channel = FileChannel.open(log, StandardOpenOption.WRITE))
        {
            channel.truncate(full / 2); // a log cleaner, say
        }
        assertFalse(check(false));
        assertTrue(output().contains("write-ahead log " + log + " is " + full / 2 + " bytes, shorter than the " + full),
            output());
        assertEquals(full / 2, Files.size(log), "a check without --repair writes nothing");
        assertTrue(check(true), output()); // closed cleanly: nothing after the checkpoint was lost
        assertEquals(full, Files.size(log), "--repair gave the log its size back");
        assertTrue(check(false), output());
        assertEquals(blocks.keySet(), StoreTest.verify(StoreIdentityTest.config(dir, 1 << 20), blocks, Set.of()));
    }

    @Test
    void shouldFindAndDropAnIndexEntryPointingPastTheEnd() throws Exception
    {
        final Map<String, Integer> blocks = store();
        StoreIdentityTest.addEntry(dir, (byte)7, Files.size(dir.resolve("blocks.dat")) + (4L << 20), 5000, 1);
        final String bogus = "07".repeat(32);
        assertFalse(check(false));
        assertTrue(output().contains("bad block " + bogus) && output().contains("13 blocks checked, 1 bad"), output());
        assertRepairedTo(blocks, Set.of(bogus));
    }

    @Test
    void shouldFindOverlappingEntries() throws Exception
    {
        final Map<String, Integer> blocks = store();
        final Object[] victim = lastBlock();
        // A second entry for the same space, whose bytes cannot be its own: one copy of the space stays indexed.
        StoreIdentityTest.addEntry(dir, (byte)9, (long)victim[1], 4000, 0);
        assertFalse(check(false));
        assertTrue(output().contains("bad block " + "09".repeat(32)), output());
        assertRepairedTo(blocks, Set.of("09".repeat(32)));
    }

    @Test
    void shouldReportALostIndexAndRepairNothing() throws Exception
    {
        store();
        final byte[] before = Files.readAllBytes(dir.resolve("blocks.dat"));
        try (var files = Files.list(dir.resolve("index")))
        {
            for (final Path f : files.toList())
            {
                Files.delete(f);
            }
        }
        assertFalse(check(false));
        assertTrue(output().contains("index " + dir.resolve("index").resolve("data.mdb") + ": missing (not repairable"),
            output());
        assertFalse(check(true), "a lost index cannot be repaired");
        assertTrue(java.util.Arrays.equals(before, Files.readAllBytes(dir.resolve("blocks.dat"))), "untouched");
        assertFalse(Files.exists(dir.resolve("index").resolve("data.mdb")), "no index is made up");
    }

    @Test
    void shouldRefuseToCheckAStoreInUse() throws Exception
    {
        store();
        try (Store open = StoreIdentityTest.open(StoreIdentityTest.config(dir, 1 << 20)))
        {
            final IllegalStateException e = assertThrows(IllegalStateException.class, () -> check(false));
            assertTrue(e.getMessage().contains("is in use by another ringblocks process"), e.getMessage());
        }
        assertTrue(check(false), output());
        assertEquals(List.of(), List.of(output().split("\n")).stream().filter(l -> l.startsWith("bad")).toList());
    }

    @Test
    void shouldCheckWithoutCreatingOrChangingAnyFile() throws Exception
    {
        store();
        Files.delete(dir.resolve(DirectoryLock.FILE_NAME));
        Files.deleteIfExists(dir.resolve("index").resolve("lock.mdb"));
        final Map<Path, String> before = snapshot();
        assertTrue(check(false), output());
        assertTrue(output().contains("12 blocks checked, 0 bad"), output());
        assertEquals(before, snapshot(), "a check without --repair writes nothing: it runs on a read-only snapshot");
    }

    @Test
    void shouldLetChecksShareTheDirectoryAndKeepServersAndRepairsOut() throws Exception
    {
        store();
        try (DirectoryLock reader = DirectoryLock.acquireShared(dir))
        {
            assertTrue(check(false), output());
            final IllegalStateException repair = assertThrows(IllegalStateException.class, () -> check(true));
            assertTrue(repair.getMessage().contains("is in use by another ringblocks process"), repair.getMessage());
            Files.writeString(dir.resolve(DirectoryLock.FILE_NAME), "2147483647\n"); // a server long gone wrote it
            final IllegalStateException server = assertThrows(IllegalStateException.class,
                () -> StoreIdentityTest.open(StoreIdentityTest.config(dir, 1 << 20)));
            assertTrue(server.getMessage().contains("is in use by another ringblocks process (pid unknown: the last " +
                "one to write it, 2147483647, has exited; a tools/rbcheck may hold it"), server.getMessage());
        }
        assertTrue(check(true), output());
    }

    /** @return every file under the directory with its modification time and a digest of its bytes. */
    private Map<Path, String> snapshot() throws Exception
    {
        final Map<Path, String> files = new HashMap<>();
        try (var walk = Files.walk(dir))
        {
            for (final Path file : walk.filter(Files::isRegularFile).toList())
            {
                final byte[] digest = java.security.MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file));
                files.put(dir.relativize(file), Files.getLastModifiedTime(file) + " " + HEX.formatHex(digest));
            }
        }
        return files;
    }
}
