package io.ringblocks.storage;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.agrona.concurrent.AgentRunner;
import org.agrona.concurrent.SystemNanoClock;

import io.ringblocks.uring.Errno;
import io.ringblocks.uring.Wakeup;

/**
 * The storage engine: one data file, the buddy allocator over it, the LMDB index and the committer thread.
 * Opening it is crash recovery: the allocator is rebuilt from the index alone (a block is live exactly when the
 * index references it), so a block written but never committed, or deleted but not yet reused, is simply free
 * again — nothing can leak and nothing is referenced twice.
 * <p>
 * Workers allocate with {@link #allocate} (a short lock), write the block through their own ring, then publish
 * an OCCUPY delta with their {@link CommitterClient}. The data file grows on the committer thread — reserved
 * with fallocate in {@code growStep} increments (smaller as the filesystem fills: {@link DiskSpace}), then zeroed
 * and handed to the allocator a chunk at a time — so no worker ever blocks in fallocate or in zeroing.
 */
public final class Store implements AutoCloseable, Committer.BlockSpace, Committer.DataSync, Committer.Housekeeping
{
    /** {@link #allocate} result: the store is at its capacity (or the disk is full). */
    public static final long NO_SPACE = -1;
    /** {@link #allocate} result: the file is being grown; retry shortly. */
    public static final long RETRY = -2;

    private static final System.Logger LOG = System.getLogger("ringblocks");

    private final StoreConfig config;
    private final BlockIndex index;
    private final DataFile dataFile;
    private final BuddyAllocator allocator;
    private final WorkerLink[] links;
    private final Committer committer;
    private final AgentRunner runner;
    private final Scrubber scrubber;
    private final ErrorHandler errors;
    private final DiskSpace disk;
    private final long recoveredBlocks;
    private final long recoveryMillis;
    private volatile boolean growRequested;
    private volatile boolean diskFull;
    private boolean zeroFailed;
    private volatile long zeroedTo;
    /** Zeroed per idle committer cycle: about 0.2 ms of disk time here, so a batch arriving meanwhile barely waits. */
    private static final long ZERO_SLICE = 256 << 10;

    private Store(final StoreConfig config, final Wakeup[] wakeups, final ErrorHandler errors)
    {
        this.config = config;
        this.errors = errors;
        final long start = System.nanoTime();
        try
        {
            Files.createDirectories(config.dir());
        }
        catch (final IOException e)
        {
            throw new IllegalArgumentException("cannot create data directory " + config.dir() + ": " + e, e);
        }
        if (!Files.isWritable(config.dir()))
        {
            throw new IllegalArgumentException("data directory is not writable: " + config.dir());
        }
        index = new BlockIndex(config.dir().resolve("index").toFile(), config.indexMapSize(),
            wakeups.length + 16, config.durable());
        dataFile = new DataFile(config.dir().resolve("blocks.dat"), config.directIo(), config.readCache());
        disk = new DiskSpace(config.dir(), config.dir().resolve("index").resolve("data.mdb"));
        disk.refresh(System.nanoTime()); // the index reserve first: the commits below may need its pages
        final int chunk = config.maxBlockSize();
        final long fileChunks = (dataFile.size() + chunk - 1) / chunk;
        final long wholeChunks = dataFile.size() / chunk;
        long capacity = config.maxSize() / chunk * chunk;
        if (fileChunks * chunk > capacity)
        {
            LOG.log(System.Logger.Level.WARNING, "data file (" + dataFile.size() + " bytes) exceeds --max-size " +
                config.maxSize() + ": keeping the file's size as the capacity");
            capacity = fileChunks * chunk;
        }
        allocator = new BuddyAllocator(chunk, capacity);
        allocator.grow((int)wholeChunks);
        final java.util.List<long[]> inTail = new java.util.ArrayList<>();
        final boolean clean = index.metaLong(BlockIndex.CLEAN_SHUTDOWN, 1) == 1;
        final long durableGeneration = index.metaLong(BlockIndex.DURABLE_GENERATION, 0);
        index.putMetaLong(BlockIndex.CLEAN_SHUTDOWN, 0, true);
        final java.util.List<long[]> suspects = new java.util.ArrayList<>();
        final java.util.List<byte[]> suspectHashes = new java.util.ArrayList<>();
        final long[] newestGeneration = {durableGeneration};
        final long indexed = index.forEach((hash, offset, length, sizeClass, generation, crc) ->
        {
            newestGeneration[0] = Math.max(newestGeneration[0], generation);
            final boolean suspect = !clean && generation > durableGeneration;
            if (offset >= wholeChunks * chunk)
            {
                inTail.add(new long[]{offset, sizeClass, suspect ? 0 : 1}); // suspects are marked once verified
            }
            if (suspect)
            {
                // Committed in relaxed mode after the last completed flush: its bytes may not have reached the disk.
                final byte[] h = new byte[BlockIndex.KEY_LENGTH];
                hash.getBytes(0, h);
                suspectHashes.add(h);
                suspects.add(new long[]{offset, length, sizeClass});
            }
            else if (offset < wholeChunks * chunk)
            {
                allocator.markAllocated(offset, sizeClass);
            }
        });
        alignToWholeChunks(wholeChunks, inTail);
        final java.util.List<byte[]> dropped = verify(config.dir().resolve("blocks.dat"), suspects, suspectHashes);
        if (!dropped.isEmpty())
        {
            index.deleteAll(dropped);
            LOG.log(System.Logger.Level.WARNING, "dropped " + dropped.size() + " of " + suspects.size() +
                " blocks written after the last relaxed-mode flush whose bytes did not survive");
        }
        recoveredBlocks = indexed - dropped.size();
        recoveryMillis = (System.nanoTime() - start) / 1_000_000L;

        final boolean scrub = config.scrubRate() > 0;
        links = new WorkerLink[wakeups.length + (scrub ? 1 : 0)];
        for (int i = 0; i < wakeups.length; i++)
        {
            links[i] = new WorkerLink(i, config.ackRingCapacity(), wakeups[i]);
        }
        if (scrub)
        {
            links[wakeups.length] = Scrubber.link(wakeups.length); // pins the scrubber's reads like a worker's
        }
        committer = new Committer(index, config.deltaRingCapacity(), links, this, this, config.durable(),
            config.maxBatch(), config.debounceNanos(), config.limboCapacity(), config.ackBacklogCapacity(),
            new SystemNanoClock(), errors);
        committer.housekeeping(this);
        committer.startGeneration(newestGeneration[0] + 1);
        reserve();
        if (allocatorFileSize() < dataFile.size())
        {
            handOverChunk(); // the first PUT after a start should not have to wait for space
        }
        runner = new AgentRunner(committer.idleStrategy(1_000_000L),
            t -> errors.onError("committer", t), null, committer);
        AgentRunner.startOnThread(runner);
        scrubber = scrub ? Scrubber.start(this, new CommitterClient(committer, links[wakeups.length]), errors) : null;
        LOG.log(System.Logger.Level.INFO, "recovered " + recoveredBlocks + " blocks (" + allocator.usedBytes() +
            " bytes live, " + allocator.freeBytes() + " free in a " + allocator.fileSize() + "-byte file) in " +
            recoveryMillis + " ms");
    }

    /**
     * A grow interrupted by a crash (or by a full disk, before growth restored the file on failure) can leave the
     * data file ending inside a chunk. Nothing is ever handed out there unless the chunk was whole, so the tail is
     * normally empty and is cut off; growing it instead would fail on the very full disk that left it. Only when
     * indexed blocks do lie in it must it grow to a whole chunk, and if that fails the store refuses to start.
     */
    private void alignToWholeChunks(final long wholeChunks, final java.util.List<long[]> inTail)
    {
        final long whole = wholeChunks * config.maxBlockSize();
        if (dataFile.size() != whole)
        {
            if (inTail.isEmpty())
            {
                final long cut = dataFile.size() - whole;
                final int rc = dataFile.truncateTo(whole);
                LOG.log(System.Logger.Level.WARNING, rc == 0 ?
                    "cut an unused trailing partial chunk of " + cut + " bytes off " + dataFile.file() :
                    "cannot cut the unused trailing " + cut + " bytes off " + dataFile.file() + " (" +
                        Errno.describe(rc) + "): leaving them unused");
                return;
            }
            final int rc = dataFile.growTo(whole + config.maxBlockSize());
            if (rc < 0)
            {
                throw new IllegalStateException("data file " + dataFile.file() + " ends inside a chunk holding " +
                    inTail.size() + " indexed blocks and cannot be extended to a whole chunk (" +
                    Errno.describe(rc) + "): free space on its filesystem and start again");
            }
            allocator.grow(1);
        }
        for (final long[] block : inTail)
        {
            if (block[2] == 1)
            {
                allocator.markAllocated(block[0], (int)block[1]); // past the end of the file: refused as before
            }
        }
    }

    /**
     * Hashes each suspect block as it is on disk; the ones that match are taken back into the allocator.
     *
     * @return the hashes that did not match (or could not be read).
     */
    private java.util.List<byte[]> verify(final Path file, final java.util.List<long[]> suspects,
        final java.util.List<byte[]> hashes)
    {
        final java.util.List<byte[]> dropped = new java.util.ArrayList<>();
        if (suspects.isEmpty())
        {
            return dropped;
        }
        try (java.nio.channels.FileChannel channel = java.nio.channels.FileChannel.open(file))
        {
            final java.security.MessageDigest sha = java.security.MessageDigest.getInstance("SHA-256");
            for (int i = 0; i < suspects.size(); i++)
            {
                final long[] s = suspects.get(i);
                final java.nio.ByteBuffer bytes = java.nio.ByteBuffer.allocate((int)s[1]);
                while (bytes.hasRemaining() && channel.read(bytes, s[0] + bytes.position()) > 0)
                {
                    // read until full or end of file
                }
                if (!bytes.hasRemaining() && java.util.Arrays.equals(sha.digest(bytes.array()), hashes.get(i)))
                {
                    allocator.markAllocated(s[0], (int)s[2]);
                }
                else
                {
                    dropped.add(hashes.get(i));
                }
            }
        }
        catch (final IOException | java.security.NoSuchAlgorithmException e)
        {
            throw new IllegalStateException("cannot verify blocks of " + file + ": " + e, e);
        }
        LOG.log(System.Logger.Level.INFO, "verified " + suspects.size() + " blocks committed after the last " +
            "relaxed-mode flush before an unclean shutdown");
        return dropped;
    }

    /**
     * Opens (recovering) the store and starts its committer.
     *
     * @param wakeups one per worker: how the committer wakes that worker's ring with acknowledgements.
     */
    public static Store open(final StoreConfig config, final Wakeup[] wakeups, final ErrorHandler errors)
    {
        return new Store(config, wakeups, errors);
    }

    public StoreConfig config()
    {
        return config;
    }

    public int dataFd()
    {
        return dataFile.fd();
    }

    /** @return the descriptor for block reads (buffered when the read cache is on). */
    public int readFd()
    {
        return dataFile.readFd();
    }

    public boolean directIo()
    {
        return dataFile.isDirect();
    }

    public BlockIndex index()
    {
        return index;
    }

    public Committer committer()
    {
        return committer;
    }

    /** @return the background scrubber, or null when {@code --scrub-rate} is 0. */
    public Scrubber scrubber()
    {
        return scrubber;
    }

    /** @return the data file's path (for operators' messages). */
    public Path dataPath()
    {
        return config.dir().resolve("blocks.dat");
    }

    public long recoveredBlocks()
    {
        return recoveredBlocks;
    }

    public long recoveryMillis()
    {
        return recoveryMillis;
    }

    /** @return worker {@code worker}'s channel to the committer; call once per worker. */
    public CommitterClient client(final int worker)
    {
        return new CommitterClient(committer, links[worker]);
    }

    /**
     * Takes space for a block of {@code sizeClass}.
     *
     * @return the byte offset, {@link #NO_SPACE}, or {@link #RETRY} while the file is being grown.
     */
    public long allocate(final int sizeClass)
    {
        if (disk.refusing())
        {
            return NO_SPACE; // the filesystem is nearly full: what is left is the index's, so DELETEs still commit
        }
        synchronized (allocator)
        {
            final long offset = allocator.allocate(sizeClass);
            if (offset >= 0)
            {
                return offset;
            }
            if (!allocator.canGrow() || diskFull)
            {
                return NO_SPACE;
            }
        }
        growRequested = true;
        committer.wake();
        return RETRY;
    }

    /** Returns a block that was allocated but will not be indexed (failed write, failed commit). */
    @Override
    public void release(final long offset, final int sizeClass)
    {
        synchronized (allocator)
        {
            allocator.free(offset, sizeClass);
        }
        diskFull = false;
    }

    @Override
    public int syncData()
    {
        return dataFile.sync();
    }

    /**
     * Committer thread: when free space runs low (or a worker asked for space), hands the allocator one more chunk
     * of the file, and reserves the next {@code growStep} with fallocate once the reserved space is used up. When
     * the committer is otherwise idle it zeroes reserved space ahead of the allocator, a slice per cycle.
     * <p>
     * Why zero: space that fallocate only reserved is an unwritten extent, so the first block write into it changes
     * the file's metadata and the batch's fdatasync must commit the filesystem journal too; zeroed space is a plain
     * overwrite, whose fdatasync is a cache flush (measured here with every chunk zeroed: 140–168 µs instead of
     * 278 µs per batch of ~30 at 64 connections). Zeroing costs a second write of the same space, though, so it
     * only ever uses idle time: a busy store gets unzeroed chunks at once and never waits for zeroing (sustained
     * small PUTs then mostly land in unzeroed space: ~245 µs per batch).
     */
    @Override
    public int doWork(final boolean idle)
    {
        disk.refresh(System.nanoTime());
        final long handed = allocatorFileSize();
        final boolean low = allocatorFreeBytes() < config.growStep() / 2;
        if ((growRequested || low) && handed < dataFile.size())
        {
            final boolean zeroed = zeroedTo >= handed + config.maxBlockSize();
            if (zeroed || !dataFile.isDirect() || growRequested || !idle)
            {
                return handOverChunk();
            }
        }
        if ((growRequested || low) && handed >= dataFile.size())
        {
            return reserve();
        }
        if (idle && dataFile.isDirect() && Math.max(zeroedTo, handed) < dataFile.size())
        {
            return zeroSlice(handed);
        }
        return 0;
    }

    /** Zeroes the next slice of reserved space that the allocator does not own yet. */
    private int zeroSlice(final long handed)
    {
        final long from = Math.max(zeroedTo, handed); // never space the allocator owns: it may hold blocks
        final long length = Math.min(ZERO_SLICE, dataFile.size() - from);
        final int rc = dataFile.zero(from, length);
        if (rc < 0)
        {
            if (!zeroFailed)
            {
                errors.onError("store", "cannot zero new data file space at " + from + ": " + Errno.describe(rc));
            }
            zeroFailed = true;
            zeroedTo = dataFile.size(); // stop trying until the file grows again; unzeroed space works, slower
            return 1;
        }
        zeroFailed = false;
        zeroedTo = from + length;
        return 1;
    }

    /** Adds the next reserved chunk, zeroed or not, to the allocator. */
    private int handOverChunk()
    {
        synchronized (allocator)
        {
            allocator.grow(1);
        }
        diskFull = false;
        growRequested = false;
        return 1;
    }

    /**
     * Reserves the next step of the file (fallocate); a full disk shows up here, not in a write. The step shrinks
     * as the filesystem fills ({@link DiskSpace#step}); a growth that fails or finds no room backs off before the
     * next try, and while a PUT is waiting for it ({@code growRequested}) or PUTs are being refused
     * ({@code diskFull}) it counts as a failure, logged at most once per interval.
     */
    private int reserve()
    {
        final long fileSize = dataFile.size();
        final long capacity;
        synchronized (allocator)
        {
            capacity = allocator.capacity();
        }
        final boolean wanted = growRequested || diskFull;
        growRequested = false;
        if (fileSize >= capacity)
        {
            return 0;
        }
        final long now = System.nanoTime();
        if (!disk.mayGrow(now))
        {
            if (wanted)
            {
                diskFull = true; // answer NO_SPACE now rather than park PUTs for the rest of the back-off
            }
            return 0;
        }
        final long wantedStep = Math.min(config.growStep(), capacity - fileSize);
        final long step = disk.step(wantedStep, config.maxBlockSize());
        final int rc = step > 0 ? dataFile.growTo(fileSize + step) : -Errno.ENOSPC;
        if (rc < 0)
        {
            if (disk.growthFailed(now, wanted))
            {
                errors.onError("store", "cannot grow " + dataFile.file() + (step > 0 ?
                    " by " + step + " bytes: " + Errno.describe(rc) :
                    ": its filesystem has " + disk.usableBytes() + " bytes free and " + 2 * disk.indexReserve() +
                    " of them stay free for the index") + " (" + disk.failuresSinceLog() + " failed attempts since " +
                    "the last report); PUTs get NO_SPACE until space is freed there");
                disk.logged();
            }
            if (wanted)
            {
                diskFull = true;
            }
            return 1;
        }
        disk.grew();
        diskFull = false; // room again: workers may take RETRY instead of NO_SPACE while chunks are handed over
        return 1;
    }

    /** @return data-file growth attempts that failed or found no room while space was wanted (STATS). */
    public long growFailures()
    {
        return disk.growFailures();
    }

    /** @return the data directory's filesystem free space at the last look, -1 when unknown (STATS). */
    public long diskFreeBytes()
    {
        return disk.usableBytes();
    }

    /** @return true while new PUTs are refused because the filesystem is below the index's reserve (STATS). */
    public boolean refusingForLowDisk()
    {
        return disk.refusing();
    }

    /** @return the end of the reserved space zeroed ahead of the allocator (for tests). */
    long zeroedTo()
    {
        return zeroedTo;
    }

    /** @return bytes of the data file reserved so far (fallocated), at least what the allocator owns. */
    long reservedBytes()
    {
        return dataFile.size();
    }

    private long allocatorFileSize()
    {
        synchronized (allocator)
        {
            return allocator.fileSize();
        }
    }

    private long allocatorFreeBytes()
    {
        synchronized (allocator)
        {
            return allocator.freeBytes();
        }
    }

    /** A consistent snapshot of the allocator's figures for STATS. */
    public void allocatorStats(final long[] usedPerClass, final long[] freePerClass, final long[] totals)
    {
        synchronized (allocator)
        {
            for (int c = 0; c <= allocator.maxSizeClass() && c < usedPerClass.length; c++)
            {
                usedPerClass[c] = allocator.allocatedBlocks(c);
                freePerClass[c] = allocator.freeBlocks(c);
            }
            totals[0] = allocator.usedBytes();
            totals[1] = allocator.freeBytes();
            totals[2] = allocator.fileSize();
            totals[3] = allocator.capacity();
        }
    }

    /** Stops the committer after a final drain and commit, then closes the index and the data file. */
    @Override
    public void close()
    {
        if (scrubber != null)
        {
            scrubber.close(); // before the committer: it may still publish
        }
        runner.close();
        if (committer.lastFlushSucceeded())
        {
            index.putMetaLong(BlockIndex.CLEAN_SHUTDOWN, 1, true);
        }
        index.close();
        dataFile.close();
        disk.close();
    }
}
