package io.ringblocks.storage;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.Random;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Recovery from the write-ahead log: the records after the index's checkpoint reach LMDB in transactions of whole
 * records, each with its checkpoint, and the blocks of records newer than the last flush they know of are verified: a
 * power loss may have kept such a record but not its blocks.
 */
class WalRecoveryTest
{
    @TempDir
    Path dir;

    private final Random random = new Random(7);

    private UnsafeBuffer block(final FileChannel data, final long offset, final int length, final boolean damaged)
        throws Exception
    {
        final byte[] bytes = new byte[length];
        random.nextBytes(bytes);
        final UnsafeBuffer hash = new UnsafeBuffer(MessageDigest.getInstance("SHA-256").digest(bytes));
        data.write(ByteBuffer.wrap(damaged ? new byte[length] : bytes), offset); // damaged: never reached the disk
        return hash;
    }

    /** A data file of one header page. */
    private FileChannel newDataFile() throws Exception
    {
        final FileChannel data = FileChannel.open(dir.resolve("blocks.dat"), StandardOpenOption.CREATE,
            StandardOpenOption.WRITE);
        data.write(ByteBuffer.wrap(new byte[4096]), 0);
        return data;
    }

    /** A new log, appending from its first record. */
    private WriteAheadLog newLog()
    {
        final WriteAheadLog log = WriteAheadLog.open(dir, 1 << 20, new byte[16], true);
        log.startAppending(1, WriteAheadLog.PAGE, 0, WriteAheadLog.PAGE);
        return log;
    }

    /** Whole log in one transaction, each record in its own, and the first alone then both: the same outcome. */
    @ParameterizedTest
    @ValueSource(ints = {WalRecovery.CHUNK_EFFECTS, 1, 3, 4})
    void shouldVerifyOnlyTheBlocksOfRecordsNewerThanTheLastFlushAndDropThoseThatDoNotMatch(final int chunk)
        throws Exception
    {
        final UnsafeBuffer[] hashes = new UnsafeBuffer[6];
        try (FileChannel data = newDataFile(); WriteAheadLog log = newLog())
        {
            // Record 1 was flushed (record 2 says so): its blocks are trusted, even the one damaged since.
            log.begin();
            for (int i = 0; i < 3; i++)
            {
                hashes[i] = block(data, 4096L * (i + 1), 3000, i == 1);
                log.addPut(hashes[i], 0, 4096L * (i + 1), 3000, 0, 0, 0);
            }
            assertEquals(0, log.append(0, 1));
            // Record 2 is newer than the last flush it knows of (1): its blocks are read back and hashed.
            log.begin();
            for (int i = 3; i < 6; i++)
            {
                hashes[i] = block(data, 4096L * (i + 1), 3000, i == 4);
                log.addPut(hashes[i], 0, 4096L * (i + 1), 3000, 0, 0, 0);
            }
            log.addDelete(hashes[2], 0);
            assertEquals(0, log.append(1, 1));
        }
        try (BlockIndex index = new BlockIndex(dir.resolve("index").toFile(), 1L << 30, 8, true);
            WriteAheadLog log = WriteAheadLog.open(dir, 1 << 20, new byte[16], true))
        {
            final WalRecovery.Result result = WalRecovery.recover(index, log, dir.resolve("blocks.dat"), 0, () -> 0,
                chunk);
            assertEquals(2, result.replay().records());
            assertEquals(3, result.verified());
            assertEquals(1, result.dropped());
            try (IndexReader reader = index.reader())
            {
                assertTrue(reader.lookup(hashes[0], 0));
                assertTrue(reader.lookup(hashes[1], 0), "a flushed record's block is not re-verified");
                assertFalse(reader.lookup(hashes[2], 0), "deleted by record 2");
                assertTrue(reader.lookup(hashes[3], 0));
                assertEquals(4096L * 4, reader.offset());
                assertFalse(reader.lookup(hashes[4], 0), "its bytes never reached the disk: not indexed");
                assertTrue(reader.lookup(hashes[5], 0));
            }
            final long[] checkpoint = index.checkpoint();
            assertEquals(2, checkpoint[0]);
            assertEquals(result.replay().nextPosition(), checkpoint[1]);
            assertEquals(result.replay().lastCrc(), (int)checkpoint[2]);

            // Replaying again from the new checkpoint finds nothing to do.
            final WalRecovery.Result again = WalRecovery.recover(index, log, dir.resolve("blocks.dat"), 0, () -> 0);
            assertEquals(0, again.replay().records());
            assertEquals(4, index.count());
        }
    }

    @Test
    void shouldRefuseADataFileCutShortOfAFlushedRecordsBlocksBeforeDroppingAnything() throws Exception
    {
        final UnsafeBuffer[] hashes = new UnsafeBuffer[2];
        try (FileChannel data = newDataFile(); WriteAheadLog log = newLog())
        {
            for (int i = 0; i < 2; i++)
            {
                log.begin();
                hashes[i] = block(data, 4096L * (i + 1), 3000, false);
                log.addPut(hashes[i], 0, 4096L * (i + 1), 3000, 0, 0, 0);
                assertEquals(0, log.append(i, 1)); // record 2 knows record 1 was flushed, blocks and all
            }
            data.truncate(4096 + 1000); // an operator's copy that stopped short
        }
        try (BlockIndex index = new BlockIndex(dir.resolve("index").toFile(), 1L << 30, 8, true);
            WriteAheadLog log = WriteAheadLog.open(dir, 1 << 20, new byte[16], true))
        {
            final IllegalStateException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
                () -> WalRecovery.recover(index, log, dir.resolve("blocks.dat"), 0, () -> 0));
            assertTrue(e.getMessage().contains("cut short or replaced") && e.getMessage().contains("record 1"),
                e.getMessage());
            assertEquals(0, index.count(), "nothing applied");
            assertEquals(0, index.checkpoint()[0], "the checkpoint did not move past the records");
        }
    }

    @Test
    void shouldRefuseToIndexAnythingWhenTheDataFileCannotBeFlushed() throws Exception
    {
        final UnsafeBuffer hash;
        try (FileChannel data = newDataFile(); WriteAheadLog log = newLog())
        {
            log.begin();
            hash = block(data, 4096, 100, false);
            log.addPut(hash, 0, 4096, 100, 0, 0, 0);
            assertEquals(0, log.append(1, 1));
        }
        try (BlockIndex index = new BlockIndex(dir.resolve("index").toFile(), 1L << 30, 8, true);
            WriteAheadLog log = WriteAheadLog.open(dir, 1 << 20, new byte[16], true))
        {
            final IllegalStateException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
                () -> WalRecovery.recover(index, log, dir.resolve("blocks.dat"), 0, () -> -5));
            assertTrue(e.getMessage().contains("EIO"), e.getMessage());
            assertEquals(0, index.count());
            assertEquals(0, index.checkpoint()[0]);
        }
    }
}
