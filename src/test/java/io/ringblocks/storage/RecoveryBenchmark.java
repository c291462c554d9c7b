package io.ringblocks.storage;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;

import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.lmdbjava.Txn;

import io.ringblocks.uring.Wakeup;

/**
 * Measures opening a store after a crash with {@code blocks} entries checkpointed into LMDB and a write-ahead log
 * filled to the brim with records of 64 more PUTs each, none checkpointed (a sync-mode store whose checkpointer fell
 * behind by a whole log). The store is fabricated rather than filled through PUTs: the index entries point at
 * 4 KiB slots of a sparse data file, and only the last record (newer than the last flush it records) has its blocks
 * read back, as recovery does. Not a test: {@code RecoveryBenchmark DIR [BLOCKS] [LOG_SIZE_MIB] [bounded|full]}:
 * {@code bounded} (the default) logs as many changes as the server can leave un-checkpointed (both overlay tables'
 * worth), {@code full} fills the whole log, more than the server can produce, see
 * docs/benchmarks.md.
 */
public final class RecoveryBenchmark
{
    private static final int PER_RECORD = 64;

    private RecoveryBenchmark()
    {
    }

    public static void main(final String[] args) throws Exception
    {
        final Path dir = Path.of(args[0]);
        final int blocks = args.length > 1 ? Integer.parseInt(args[1]) : 1_000_000;
        final long logSize = (args.length > 2 ? Long.parseLong(args[2]) : 64) << 20;
        final boolean full = args.length > 3 && "full".equals(args[3]);
        final JournalConfig journal = JournalConfig.builder().logSize(logSize).overlaySlots(1 << 16).conclude();
        final StoreConfig config = StoreConfig.builder(dir).maxSize(64L << 30).growStep(64L << 20)
            .indexMapSize(16L << 30).maxBatch(4096).journal(journal).conclude();
        try (Wakeup w = new Wakeup(); Store store = Store.open(config, new Wakeup[]{w}, new ErrorHandler()))
        {
            System.out.println("created " + dir);
        }
        final SplittableRandom random = new SplittableRandom(42);
        final UnsafeBuffer key = new UnsafeBuffer(ByteBuffer.allocateDirect(32));
        final UnsafeBuffer value = new UnsafeBuffer(ByteBuffer.allocateDirect(IndexValue.VALUE_LENGTH));
        long next = Store.DATA_START;
        final long start = System.nanoTime();
        try (BlockIndex index = new BlockIndex(dir.resolve("index").toFile(), 16L << 30, 8, true))
        {
            for (int done = 0; done < blocks; )
            {
                try (Txn<DirectBuffer> txn = index.writeTxn())
                {
                    for (int i = 0; i < 100_000 && done < blocks; i++, done++)
                    {
                        randomKey(random, key);
                        IndexValue.encode(value, next, 4096, 0, 0, 0, 0);
                        index.put(txn, key, value);
                        next += 4096;
                    }
                    txn.commit();
                }
            }
            index.putMetaLong(BlockIndex.CLEAN_SHUTDOWN, 0, true);
            final long[] checkpoint = index.checkpoint();
            try (WriteAheadLog log = WriteAheadLog.open(dir, logSize, DataHeader.read(dir.resolve("blocks.dat"))
                .storeId(), true))
            {
                log.startAppending(checkpoint[0] + 1, checkpoint[1], (int)checkpoint[2], checkpoint[1]);
                // What the server can leave un-checkpointed: both overlay tables' worth of changes (it holds writes
                // back beyond that), unless "full" asks for the whole log.
                final long most = full ? Long.MAX_VALUE : 2L * (journal.overlaySlots() * 3L / 4);
                long logged = 0;
                while (log.hasRoom(PER_RECORD) && logged < most)
                {
                    logged += PER_RECORD;
                    log.begin();
                    for (int i = 0; i < PER_RECORD; i++)
                    {
                        randomKey(random, key);
                        log.addPut(key, 0, next, 4096, 0, 0, 0);
                        next += 4096;
                    }
                    if (log.append(log.lastSequence(), 1) < 0)
                    {
                        throw new IllegalStateException("append failed");
                    }
                }
                System.out.println("log: " + log.lastSequence() + " records, " + log.usedBytes() + " bytes used");
            }
        }
        final Path data = dir.resolve("blocks.dat");
        final DataHeader header = DataHeader.read(data);
        header.with(header.chunkSize(), header.blockCount(), false).write(data, false);
        try (java.io.RandomAccessFile file = new java.io.RandomAccessFile(data.toFile(), "rw"))
        {
            file.setLength(Math.max(file.length(), Store.DATA_START +
                ((next - Store.DATA_START + (1 << 20) - 1) & -(1L << 20)))); // sparse, whole chunks
        }
        System.out.println("fabricated in " + (System.nanoTime() - start) / 1_000_000 + " ms; data file " +
            Files.size(data) + " bytes");
        dropCaches();
        final long open = System.nanoTime();
        try (Wakeup w = new Wakeup(); Store store = Store.open(config, new Wakeup[]{w}, new ErrorHandler()))
        {
            final long millis = (System.nanoTime() - open) / 1_000_000;
            System.out.println("open after crash: " + millis + " ms (recovery " + store.recoveryMillis() + " ms: " +
                store.replayed().replay().records() + " records, " + store.replayed().replay().effects() +
                " changes replayed in " + store.replayed().millis() + " ms, " + store.recoveredBlocks() +
                " blocks indexed)");
        }
    }

    private static void randomKey(final SplittableRandom random, final UnsafeBuffer key)
    {
        for (int i = 0; i < 32; i += 8)
        {
            key.putLong(i, random.nextLong());
        }
    }

    /** Cold caches, as after a reboot, when run as root; otherwise a warm start. */
    private static void dropCaches()
    {
        try
        {
            Files.writeString(Path.of("/proc/sys/vm/drop_caches"), "3");
            System.out.println("page cache dropped");
        }
        catch (final Exception e)
        {
            System.out.println("page cache not dropped (" + e.getMessage() + ")");
        }
    }
}
