package io.ringblocks.storage;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

import org.agrona.DirectBuffer;

import io.ringblocks.alloc.BuddyAllocator;
import io.ringblocks.sys.Errno;

/**
 * The data file's allocator, rebuilt from the index when a store opens: a block is live exactly when the index
 * references it, so space of blocks written but never committed, or deleted and waiting in limbo, is free again.
 * Every indexed block must lie inside the data file, after the header, aligned to its class, with a length of its
 * class ({@link BlockPlacement}), and be no larger than the configured largest block; a block referenced twice makes
 * {@code markAllocated} fail loudly. Nothing is written to the data file before all of that has been checked.
 */
final class AllocatorRebuild
{
    private static final System.Logger LOG = System.getLogger("ringblocks");
    private static final long DATA_START = Store.DATA_START;

    /** The rebuilt allocator and the number of blocks the index holds. */
    record Result(BuddyAllocator allocator, long indexedBlocks)
    {
    }

    private final StoreConfig config;
    private final DataFile dataFile;
    private final BlockIndex index;
    private final Path dataPath;

    private AllocatorRebuild(final StoreConfig config, final DataFile dataFile, final BlockIndex index)
    {
        this.config = config;
        this.dataFile = dataFile;
        this.index = index;
        this.dataPath = config.dir().resolve(StoreFiles.DATA_FILE);
    }

    /**
     * @throws IllegalStateException naming the file and {@code tools/rbcheck} when the index and the data file
     *                               disagree, or a trailing partial chunk can be neither cut nor completed.
     */
    static Result rebuild(final StoreConfig config, final DataFile dataFile, final BlockIndex index)
    {
        return new AllocatorRebuild(config, dataFile, index).run();
    }

    private Result run()
    {
        final int chunk = config.maxBlockSize();
        final long dataBytes = dataFile.size() - DATA_START;
        final long fileChunks = (dataBytes + chunk - 1) / chunk;
        final long wholeChunks = dataBytes / chunk;
        final long tailStart = DATA_START + wholeChunks * chunk;
        long capacity = config.maxSize() / chunk * chunk;
        if (fileChunks * chunk > capacity)
        {
            LOG.log(System.Logger.Level.WARNING, "data file (" + dataBytes + " bytes of blocks) exceeds --max-size " +
                config.maxSize() + ": keeping the file's size as the capacity");
            capacity = fileChunks * chunk;
        }
        final BuddyAllocator rebuilt = new BuddyAllocator(chunk, capacity);
        rebuilt.grow((int)wholeChunks);
        final long fileSize = dataFile.size();
        final List<long[]> inTail = new ArrayList<>();
        final int[] largest = {-1};
        final long indexed = index.forEach((hash, offset, length, sizeClass, generation, crc) ->
        {
            largest[0] = Math.max(largest[0], sizeClass);
            if (sizeClass > rebuilt.maxSizeClass() && sizeClass <= BuddyAllocator.MAX_SIZE_CLASS)
            {
                return; // refused below, once the largest stored class is known
            }
            final String problem = BlockPlacement.problem(offset, length, sizeClass, rebuilt.maxSizeClass(), fileSize);
            if (problem != null)
            {
                throw new IllegalStateException("data file " + dataPath + " does not hold indexed block " +
                    hex(hash) + ": " + problem + "; run tools/rbcheck --data " + config.dir());
            }
            if (offset >= tailStart)
            {
                inTail.add(new long[]{offset, sizeClass, 1});
                return;
            }
            markAllocated(rebuilt, hash, offset, sizeClass);
        });
        if (largest[0] > rebuilt.maxSizeClass() && largest[0] <= BuddyAllocator.MAX_SIZE_CLASS)
        {
            throw StoreFiles.blockTooLarge(config.dir(), BuddyAllocator.blockSize(largest[0]));
        }
        // Only now, with the files known to agree, does anything get written.
        alignToWholeChunks(rebuilt, tailStart, inTail);
        return new Result(rebuilt, indexed);
    }

    /**
     * A grow interrupted by a crash (or by a full disk, before growth restored the file on failure) can leave the
     * data file ending inside a chunk. Nothing is ever handed out there unless the chunk was whole, so the tail is
     * normally empty and is cut off; growing it instead would fail on the very full disk that left it. Only when
     * indexed blocks do lie in it must it grow to a whole chunk, and if that fails the store refuses to start.
     */
    private void alignToWholeChunks(final BuddyAllocator into, final long whole, final List<long[]> inTail)
    {
        if (dataFile.size() != whole)
        {
            if (inTail.isEmpty())
            {
                final long cut = dataFile.size() - whole;
                final int rc = dataFile.truncateTo(whole);
                if (rc < 0)
                {
                    // Left in place, the partial chunk would be handed to the allocator as a whole one.
                    throw new IllegalStateException("cannot cut the unused trailing " + cut + " bytes off " +
                        dataFile.file() + " (" + Errno.describe(rc) + "); truncate it to " + whole + " bytes");
                }
                LOG.log(System.Logger.Level.WARNING, "cut an unused trailing partial chunk of " + cut + " bytes off " +
                    dataFile.file());
                return;
            }
            final int rc = dataFile.growTo(whole + config.maxBlockSize());
            if (rc < 0)
            {
                throw new IllegalStateException("data file " + dataFile.file() + " ends inside a chunk holding " +
                    inTail.size() + " indexed blocks and cannot be extended to a whole chunk (" +
                    Errno.describe(rc) + "): free space on its filesystem and start again");
            }
            into.grow(1);
        }
        for (final long[] block : inTail)
        {
            if (block[2] == 1)
            {
                markAllocated(into, null, block[0], (int)block[1]);
            }
        }
    }

    private void markAllocated(final BuddyAllocator into, final DirectBuffer hash, final long offset,
        final int sizeClass)
    {
        try
        {
            into.markAllocated(offset - DATA_START, sizeClass);
        }
        catch (final IllegalArgumentException e)
        {
            throw new IllegalStateException("index " + config.dir().resolve(StoreFiles.INDEX_DIR) + " places block " +
                (hash == null ? "at " + offset : hex(hash)) + " where the allocator cannot take it (" + e.getMessage() + "); run tools/rbcheck --data " +
                config.dir());
        }
    }

    private static String hex(final DirectBuffer hash)
    {
        final byte[] h = new byte[BlockIndex.KEY_LENGTH];
        hash.getBytes(0, h);
        return HexFormat.of().formatHex(h);
    }
}
