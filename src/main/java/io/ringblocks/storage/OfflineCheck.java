package io.ringblocks.storage;

import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;

import io.ringblocks.alloc.BuddyAllocator;

/**
 * The offline checker behind {@code tools/rbcheck}: with the data directory locked (no server may run on it), it
 * checks the index file before LMDB maps it, the data file's header and the store identity both files carry, then
 * every indexed block — placement, then its bytes against the SHA-256 it is stored under — and rebuilds the
 * allocator from the good blocks to prove that none overlaps another. {@code repair} drops the entries whose bytes
 * are wrong or missing (unrecoverable on one node), then records the index's block count in the header and marks
 * both files closed cleanly, so that the server starts and serves the blocks that are intact.
 * <p>
 * What it cannot repair it only reports: a damaged or missing index (blocks are found through it alone), an
 * index and a data file of two different stores, or an index and a data file whose open sequences show one was
 * restored from an earlier copy, unless every indexed block verifies; then the repair sets both sequences to the
 * newer one (blocks written after the older copy, if any, are not in the index and are gone).
 */
public final class OfflineCheck
{
    private static final int LOG_OK = 0;
    private static final int LOG_LOST = 1;
    private static final int LOG_UNREADABLE = 2;

    private static final HexFormat HEX = HexFormat.of();

    private final Path dir;
    private final PrintStream out;
    private final MessageDigest sha256;
    private final java.util.zip.CRC32C crc32c = new java.util.zip.CRC32C();
    private long checked;
    private long bad;
    private long goodBytes;
    private boolean unrepairable;

    public OfflineCheck(final Path dir, final PrintStream out)
    {
        this.dir = dir;
        this.out = out;
        try
        {
            sha256 = MessageDigest.getInstance("SHA-256");
        }
        catch (final NoSuchAlgorithmException e)
        {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Checks (and with {@code repair}, repairs) the store in the directory.
     *
     * @return true when the store is sound now: nothing was wrong, or everything wrong was repaired.
     * @throws IllegalStateException with one line when the directory is locked by a running server.
     */
    public boolean run(final boolean repair)
    {
        if (!Files.isDirectory(dir))
        {
            throw new IllegalArgumentException("--data is not a directory: " + dir);
        }
        // A check without repair writes nothing, so it takes the lock shared and opens every file read-only: it
        // runs on a snapshot on a read-only filesystem, and beside another check.
        try (DirectoryLock lock = repair ? DirectoryLock.acquire(dir) : DirectoryLock.acquireShared(dir))
        {
            return check(repair);
        }
    }

    private boolean check(final boolean repair)
    {
        final Path data = dir.resolve(StoreFiles.DATA_FILE);
        final Path mdb = dir.resolve(StoreFiles.INDEX_DIR).resolve("data.mdb");
        final String indexProblem = Files.exists(mdb) ? IndexFileCheck.problem(mdb) : "missing";
        if (indexProblem != null || !DataHeader.hasContent(mdb))
        {
            out.println("index " + mdb + ": " + (indexProblem != null ? indexProblem : "empty") + " (not repairable:" +
                " blocks are found through the index; restore index/ from a copy, or move blocks.dat and wal.log away" +
                " (or use a new --data directory) to start an empty store)");
            summary(false);
            return false;
        }
        DataHeader header = null;
        boolean headerBad = false;
        try
        {
            header = DataHeader.read(data);
            if (header == null)
            {
                out.println("data file " + data + ": missing or empty");
                headerBad = true;
            }
        }
        catch (final IllegalStateException e)
        {
            out.println(e.getMessage().replace("; run tools/rbcheck --data " + dir, ""));
            headerBad = true;
        }
        final File indexDir = dir.resolve(StoreFiles.INDEX_DIR).toFile();
        try (BlockIndex index = repair ? new BlockIndex(indexDir, 64L << 30, 8, true) :
            BlockIndex.openReadOnly(indexDir))
        {
            final byte[] id = index.metaBytes(BlockIndex.STORE_ID);
            if (header != null && !header.sameStore(id))
            {
                out.println("index and data file belong to different stores (index " +
                    (id == null ? "without id" : HEX.formatHex(id)) + ", data file " + header.idHex() +
                    "): not repairable; put back the index/ or blocks.dat of the other store, whichever was replaced)");
                summary(false);
                return false;
            }
            final int log = header == null ? LOG_OK : replayLog(index, data, header, repair);
            if (log == LOG_UNREADABLE)
            {
                summary(false);
                return false;
            }
            headerBad |= log == LOG_LOST;
            final long count = index.count();
            final boolean indexClean = index.metaLong(BlockIndex.CLEAN_SHUTDOWN, 0) == 1;
            if (header != null && header.clean() && (count != header.blockCount() || !indexClean))
            {
                // The same condition makes the server refuse (StoreFiles.reconcile): a repair must clear it.
                out.println("data file header counts " + header.blockCount() + " blocks at its last clean close, " +
                    "the index " + count + (indexClean ? "" : " and was not closed cleanly"));
                headerBad = true;
            }
            final long indexSequence = index.metaLong(BlockIndex.OPEN_SEQUENCE, 0);
            final String behind = header == null ? null :
                StoreFiles.sequenceProblem(indexSequence, header.openSequence(),
                    index.metaLong(BlockIndex.HEADER_PENDING, 1) != 0);
            if (behind != null)
            {
                out.println(behind.substring(0, 1).toUpperCase(java.util.Locale.ROOT) + behind.substring(1));
                headerBad = true;
            }
            final List<byte[]> drop = checkBlocks(index, data, header);
            if (behind != null && repair && (!drop.isEmpty() || unrepairable))
            {
                // An older index may point at space reused since: only a copy whose every block still verifies
                // is taken as it is; otherwise neither file can be trusted to say which bytes are whose.
                out.println("index and data file are from different points in time and not every indexed block " +
                    "verifies: not repairable; restore both from the same copy");
                unrepairable = true;
            }
            final boolean damaged = headerBad || !drop.isEmpty() || unrepairable;
            if (repair && damaged && !unrepairable)
            {
                if (behind != null)
                {
                    out.println("repair: every indexed block verifies, so the index is taken as it is (blocks " +
                        "written after the older of the two copies are not in it and are lost)");
                }
                repair(index, data, header, id, drop, Math.max(indexSequence,
                    header == null ? 0 : header.openSequence()));
                summary(true);
                return true;
            }
            summary(!damaged);
            return !damaged;
        }
    }

    /**
     * The write-ahead log's records after the index's checkpoint belong to the index: with {@code repair} they are
     * replayed into it first, exactly as a starting server would (blocks of records newer than the last known flush
     * verified), so the checks below cover them; without, they are counted and reported.
     *
     * @return {@link #LOG_OK}, {@link #LOG_LOST} (missing after an unclean shutdown: a repair accepts the loss) or
     * {@link #LOG_UNREADABLE}.
     */
    private int replayLog(final BlockIndex index, final Path data, final DataHeader header, final boolean repair)
    {
        final Path file = dir.resolve(WriteAheadLog.FILE);
        if (!Files.exists(file))
        {
            final long[] checkpoint = index.checkpoint();
            if (checkpoint[1] != 0 && index.metaLong(BlockIndex.CLEAN_SHUTDOWN, 0) != 1)
            {
                out.println("write-ahead log " + file + " is missing after an unclean shutdown: changes logged " +
                    "after checkpoint " + checkpoint[0] + " are lost" + (repair ? "; the index is taken as it is" :
                    " (--repair takes the index as it is)"));
                return LOG_LOST;
            }
            return LOG_OK;
        }
        if (!repair && cutShort(file, header))
        {
            return LOG_LOST; // reported, and left as it is: only --repair writes
        }
        try (WriteAheadLog log = repair ? WriteAheadLog.open(dir, JournalConfig.MIN_LOG_SIZE, header.storeId(), false) :
            WriteAheadLog.openToRead(dir, header.storeId()))
        {
            final String stale = StoreFiles.logRunProblem(log.run(), index.metaLong(BlockIndex.OPEN_SEQUENCE, 0),
                index.metaLong(BlockIndex.CLEAN_SHUTDOWN, 1) == 1); // absent: as the server reads it (Store.openLog)
            if (stale != null)
            {
                out.println("write-ahead log " + file + ": " + stale + (repair ? "; the index is taken as it is" :
                    " (put back the wal.log that belongs with index/; --repair takes the index as it is)"));
            }
            if (repair)
            {
                final WalRecovery.Result result = WalRecovery.recover(index, log, data, header.openSequence(),
                    () -> flush(data));
                if (result.replay().records() > 0)
                {
                    out.println("write-ahead log: replayed " + result.replay().records() + " records (" +
                        result.replay().effects() + " index changes) into the index; " + result.dropped() +
                        " blocks whose bytes did not reach the disk dropped");
                }
                return stale == null ? LOG_OK : LOG_LOST;
            }
            final long[] checkpoint = index.checkpoint();
            final WriteAheadLog.Replay pending = log.replay(checkpoint[0], WalRecovery.replayStart(checkpoint, log),
                (int)checkpoint[2], (sequence, type, hash, at, offset, length, sizeClass, crc, flags) -> { });
            WalRecovery.refuseIfNewer(pending, log, header.openSequence());
            if (pending.records() > 0)
            {
                out.println("write-ahead log: " + pending.records() + " records (" + pending.effects() + " index " +
                    "changes) after the index's checkpoint; the server applies them when it starts (--repair does " +
                    "it now), and the block checks below do not cover them");
            }
            return stale == null ? LOG_OK : LOG_LOST;
        }
        catch (final WalRecovery.NewerLogException e)
        {
            out.println(e.getMessage() + " (not repairable as it is)");
            return LOG_UNREADABLE;
        }
        catch (final IllegalStateException | IllegalArgumentException e)
        {
            out.println(e.getMessage().replace("; run tools/rbcheck --data " + dir, "") + " (not repairable as it " +
                "is: put back the wal.log that belongs with index/; moving it away instead loses the changes logged " +
                "after the index's checkpoint, which --repair then accepts)");
            return LOG_UNREADABLE;
        }
    }

    /** @return true (and says so) when the log is shorter than its header records: opening it would restore it. */
    private boolean cutShort(final Path file, final DataHeader header)
    {
        try
        {
            final long recorded = WalHeader.read(file, header.storeId()).size();
            final long length = Files.size(file);
            if (length < recorded)
            {
                out.println("write-ahead log " + file + " is " + length + " bytes, shorter than the " + recorded +
                    " its header records: records past the cut are lost (--repair restores its size and replays " +
                    "what is left)");
                return true;
            }
            return false;
        }
        catch (final IOException | RuntimeException e)
        {
            return false; // opening it below reports what is wrong with it
        }
    }

    private static int flush(final Path file)
    {
        try (java.nio.channels.FileChannel channel = java.nio.channels.FileChannel.open(file,
            java.nio.file.StandardOpenOption.WRITE))
        {
            channel.force(false);
            return 0;
        }
        catch (final IOException e)
        {
            return -io.ringblocks.sys.Errno.EIO;
        }
    }

    /** @return the hashes of the entries to drop. */
    private List<byte[]> checkBlocks(final BlockIndex index, final Path data, final DataHeader header)
    {
        final long fileSize = size(data);
        final int chunk = header != null ? header.chunkSize() : BuddyAllocator.DEFAULT_MAX_BLOCK_SIZE;
        final int maxClass = Integer.numberOfTrailingZeros(chunk) - Integer.numberOfTrailingZeros(
            BuddyAllocator.MIN_BLOCK_SIZE);
        final long dataBytes = Math.max(0, fileSize - DataHeader.LENGTH);
        final long chunks = Math.max(1, (dataBytes + chunk - 1) / chunk);
        final BuddyAllocator allocator = new BuddyAllocator(chunk, chunks * chunk);
        allocator.grow((int)chunks);
        final List<byte[]> drop = new ArrayList<>();
        try (FileChannel channel = fileSize > 0 ? FileChannel.open(data, StandardOpenOption.READ) : null)
        {
            index.forEach((key, offset, length, sizeClass, generation, crc) ->
            {
                final byte[] hash = new byte[BlockIndex.KEY_LENGTH];
                key.getBytes(0, hash);
                checked++;
                String problem;
                try
                {
                    problem = checkBlock(channel, hash, offset, length, sizeClass, crc, maxClass, fileSize);
                }
                catch (final IOException e)
                {
                    throw new java.io.UncheckedIOException(e);
                }
                if (problem == null)
                {
                    try
                    {
                        allocator.markAllocated(offset - DataHeader.LENGTH, sizeClass);
                    }
                    catch (final IllegalArgumentException e)
                    {
                        problem = "overlaps another indexed block (" + e.getMessage() + ")";
                    }
                }
                if (problem != null)
                {
                    bad++;
                    drop.add(hash);
                    out.println("bad block " + HEX.formatHex(hash) + " (offset " + offset + ", length " + length +
                        "): " + problem);
                }
                else
                {
                    goodBytes += length;
                }
            });
        }
        catch (final IOException | java.io.UncheckedIOException e)
        {
            out.println("data file " + data + ": cannot read it: " +
                (e instanceof IOException io ? IoErrors.describe(io) : e.getMessage()));
            unrepairable = true;
        }
        return drop;
    }

    /**
     * One indexed block: is it where the data file can hold it, and are its bytes the ones it is stored under?
     * The CRC32C recorded at PUT time is checked first, then the SHA-256 the block is stored under.
     *
     * @param channel the data file, or null when it is missing or empty.
     * @return what is wrong with the block, or null when it is intact.
     */
    String checkBlock(final FileChannel channel, final byte[] hash, final long offset, final int length,
        final int sizeClass, final int crc, final int maxClass, final long fileSize) throws IOException
    {
        final String placement = BlockPlacement.problem(offset, length, sizeClass, maxClass, fileSize);
        if (placement != null)
        {
            return placement;
        }
        final ByteBuffer bytes = ByteBuffer.allocate(length);
        while (bytes.hasRemaining())
        {
            if (channel.read(bytes, offset + bytes.position()) <= 0)
            {
                return "the data file ends inside it";
            }
        }
        crc32c.reset();
        crc32c.update(bytes.array(), 0, length);
        if ((int)crc32c.getValue() != crc)
        {
            return "its bytes do not match the CRC32C recorded when it was written";
        }
        if (!Arrays.equals(sha256.digest(bytes.array()), hash))
        {
            return "its bytes do not hash to its key (SHA-256 mismatch)";
        }
        return null;
    }

    private void repair(final BlockIndex index, final Path data, final DataHeader header, final byte[] id,
        final List<byte[]> drop, final long sequence)
    {
        if (!drop.isEmpty())
        {
            index.deleteAll(drop);
            out.println("repair: dropped " + drop.size() + " index entries whose blocks are lost");
        }
        byte[] storeId = id;
        if (storeId == null)
        {
            storeId = header != null ? header.storeId() : DataHeader.fresh(BuddyAllocator.MIN_BLOCK_SIZE).storeId();
            index.putMetaBytes(BlockIndex.STORE_ID, storeId);
        }
        final int chunk = header != null ? header.chunkSize() : largestBlock(index);
        final DataHeader fixed = new DataHeader(storeId, chunk, index.count(), true, sequence);
        // Every remaining block was just verified, so the server need not re-verify unflushed relaxed-mode blocks.
        index.putMetaLong(BlockIndex.CLEAN_SHUTDOWN, 1, true);
        index.putMetaLong(BlockIndex.OPEN_SEQUENCE, sequence, true); // the index first, as at every open
        fixed.write(data, !Files.exists(data));
        out.println("repair: data file header records " + fixed.blockCount() + " blocks, chunk size " + chunk);
    }

    /** @return the chunk a store needs for the blocks left in {@code index}: its largest class, at least 4 KiB. */
    private static int largestBlock(final BlockIndex index)
    {
        final int[] largest = {BuddyAllocator.MIN_BLOCK_SIZE};
        index.forEach((hash, offset, length, sizeClass, generation, crc) ->
            largest[0] = Math.max(largest[0], BuddyAllocator.blockSize(sizeClass)));
        return largest[0];
    }

    private void summary(final boolean sound)
    {
        out.println("rbcheck " + dir + ": " + checked + " blocks checked, " + bad + " bad, " + goodBytes +
            " bytes in good blocks: " + (sound ? "OK" : "DAMAGED"));
    }

    private static long size(final Path file)
    {
        try
        {
            return Files.size(file);
        }
        catch (final NoSuchFileException e)
        {
            return 0;
        }
        catch (final IOException e)
        {
            throw new IllegalStateException("cannot stat " + file + ": " + IoErrors.describe(e), e);
        }
    }

    public long checked()
    {
        return checked;
    }

    public long bad()
    {
        return bad;
    }
}
