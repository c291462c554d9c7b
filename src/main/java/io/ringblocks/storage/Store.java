package io.ringblocks.storage;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.agrona.concurrent.AgentRunner;
import org.agrona.concurrent.CompositeAgent;
import org.agrona.concurrent.SleepingIdleStrategy;
import org.agrona.concurrent.SystemNanoClock;

import io.ringblocks.alloc.BuddyAllocator;
import io.ringblocks.uring.Wakeup;

/**
 * The storage engine: one data file, the buddy allocator over it, the LMDB index and the committer thread.
 * Opening it is crash recovery: the allocator is rebuilt from the index alone (a block is live exactly when the
 * index references it), so a block written but never committed, or deleted but not yet reused, is simply free
 * again — nothing can leak and nothing is referenced twice.
 * <p>
 * Workers allocate with {@link #allocate} (a short lock), write the block through their own ring, then publish
 * an OCCUPY delta with their {@link CommitterClient}. The data file grows on the committer thread — reserved
 * with fallocate in {@code growStep} increments (smaller as the filesystem fills: {@link DiskSpace}) and handed to
 * the allocator a chunk at a time, zeroed beforehand by the {@link SpaceZeroer} when that pays — so no worker ever
 * blocks in fallocate or in zeroing.
 */
public final class Store implements AutoCloseable, Committer.DataSync
{
    /** {@link #allocate} result: the store is at its capacity (or the disk is full). */
    public static final long NO_SPACE = -1;
    /** {@link #allocate} result: the file is being grown; retry shortly. */
    public static final long RETRY = -2;

    private static final System.Logger LOG = System.getLogger("ringblocks");
    /** Longest park of an idle committer with nothing to retry (limbo, backlogged acks, a full journal: 200 µs). */
    private static final long COMMITTER_IDLE_PARK_NANOS = 20_000_000L;

    private final StoreConfig config;
    /** Blocks start after the data file's header: allocator offsets plus this are file offsets. */
    static final long DATA_START = DataHeader.LENGTH;

    private final DirectoryLock lock;
    private final Path dataPath;
    private final BlockIndex index;
    private final DataFile dataFile;
    private final BuddyAllocator allocator;
    private DataHeader header;
    private final WorkerLink[] links;
    private final Committer committer;
    private final AgentRunner runner;
    private final WriteAheadLog log;
    private final Overlay overlay;
    private final Checkpointer checkpointer;
    private final AgentRunner checkpointRunner;
    private final WalRecovery.Result replayed;
    private long openSequence;
    private final Scrubber scrubber;
    private final ErrorHandler errors;
    private final DiskSpace disk;
    private long recoveredBlocks;
    private final long recoveryMillis;
    private final DataSpace dataSpace;

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
            throw new IllegalArgumentException("cannot create data directory " + config.dir() + ": " + IoErrors.describe(e), e);
        }
        if (!Files.isWritable(config.dir()))
        {
            throw new IllegalArgumentException("data directory is not writable (its permissions, or a read-only filesystem): " +
                config.dir());
        }
        lock = DirectoryLock.acquire(config.dir());
        dataPath = config.dir().resolve(StoreFiles.DATA_FILE);
        final StoreFiles files;
        try
        {
            // Each worker: its reader, and a LIST scan's own transaction; the scrubber and checkpoints on top.
            files = StoreFiles.open(config, 2 * wakeups.length + 16);
        }
        catch (final RuntimeException e)
        {
            lock.close();
            throw e;
        }
        index = files.index();
        DataFile opened = null;
        DiskSpace space = null;
        WriteAheadLog openedLog = null;
        try
        {
            space = new DiskSpace(config.dir(), config.dir().resolve(StoreFiles.INDEX_DIR).resolve("data.mdb"));
            space.refresh(System.nanoTime()); // the index reserve first: the commits below may need its pages
            disk = space;
            // Relaxed mode writes small blocks through the page cache like its log records: a process crash keeps
            // them, the periodic flush covers power loss, and no small PUT waits for the device.
            opened = new DataFile(dataPath, config.directIo(), config.readCache(), !config.durable());
            dataFile = opened;
            openedLog = openLog(files.header());
            log = openedLog;
            // The log's changes reach LMDB before anything is checked or rebuilt from it.
            replayed = WalRecovery.recover(index, log, dataPath, files.header().openSequence(), this);
            allocator = recover(files.header());
            dataSpace = new DataSpace(config, allocator, dataFile, disk, errors);
        }
        catch (final RuntimeException e)
        {
            if (openedLog != null)
            {
                openedLog.close();
            }
            if (opened != null)
            {
                opened.close();
            }
            if (space != null)
            {
                space.close();
            }
            index.close();
            lock.close();
            throw e;
        }
        recoveryMillis = (System.nanoTime() - start) / 1_000_000L;

        final boolean scrub = config.scrubRate() > 0;
        AgentRunner started = null;
        AgentRunner startedCheckpoints = null;
        Scrubber startedScrubber = null;
        try
        {
            final WriteAheadLog.Replay tail = replayed.replay();
            log.startAppending(tail.lastSequence() + 1, tail.nextPosition(), tail.lastCrc(), tail.nextPosition());
            overlay = new Overlay(config.journal().overlaySlots());
            index.attach(overlay); // before any reader exists: every lookup from here on sees the logged changes
            checkpointer = new Checkpointer(index, overlay, this, log::sync, errors);
            final IndexJournal journal = new IndexJournal(log, overlay, checkpointer, index, this, config.durable(),
                oneFlush(), config.journal().syncIntervalNanos(), config.journal().checkpointIntervalNanos(),
                config.maxBatch(), openSequence, errors);
            links = new WorkerLink[wakeups.length + (scrub ? 1 : 0)];
            for (int i = 0; i < wakeups.length; i++)
            {
                links[i] = new WorkerLink(i, config.ackRingCapacity(), wakeups[i]);
            }
            if (scrub)
            {
                links[wakeups.length] = Scrubber.link(wakeups.length); // pins the scrubber's reads like a worker's
            }
            committer = new Committer(journal, config.deltaRingCapacity(), links, dataSpace, config.maxBatch(),
                config.debounceNanos(), config.limboCapacity(), config.ackBacklogCapacity(), new SystemNanoClock(),
                errors);
            committer.housekeeping(dataSpace);
            if (config.durable())
            {
                // Small blocks are written by the committer next to their log record (BlockWriter).
                committer.writeBlocksThrough(dataFile.writeFd(0));
            }
            final SpaceZeroer zeroer = new SpaceZeroer(dataFile, config.durable(), dataSpace.allocatorFileSize(),
                errors, new SystemNanoClock(), committer::wake);
            dataSpace.start(zeroer, committer::wake);
            dataSpace.reserve();
            if (dataSpace.allocatorFileSize() < dataFile.size())
            {
                dataSpace.handOverChunk(); // the first PUT after a start should not have to wait for space
            }
            // Parks between checkpoints (the committer unparks it with each request) and zeroes space meanwhile.
            startedCheckpoints = new AgentRunner(new SleepingIdleStrategy(10_000_000L),
                t -> errors.onError("checkpointer", t), null, new CompositeAgent(checkpointer, zeroer));
            AgentRunner.startOnThread(startedCheckpoints);
            // Idle, the committer is woken by what it waits for (a publish, a checkpoint request or completion); the
            // timed wake only paces chores measured in 100 ms and seconds, and each costs tens of µs on a VM.
            started = new AgentRunner(committer.idleStrategy(COMMITTER_IDLE_PARK_NANOS),
                t -> errors.onError("committer", t), null, committer);
            AgentRunner.startOnThread(started);
            startedScrubber = scrub ?
                Scrubber.start(this, new CommitterClient(committer, links[wakeups.length]), errors) : null;
        }
        catch (final RuntimeException | Error e)
        {
            // A store that failed to open must not keep its thread, its files or the directory lock.
            if (started != null)
            {
                started.close();
            }
            if (startedCheckpoints != null)
            {
                startedCheckpoints.close();
            }
            closeFiles();
            throw e;
        }
        runner = started;
        checkpointRunner = startedCheckpoints;
        scrubber = startedScrubber;
        LOG.log(System.Logger.Level.INFO, "recovered " + recoveredBlocks + " blocks (" + allocator.usedBytes() +
            " bytes live, " + allocator.freeBytes() + " free in a " + allocator.fileSize() + "-byte file) in " +
            recoveryMillis + " ms");
    }

    /**
     * Rebuilds the allocator from the index ({@link AllocatorRebuild}: nothing is written to the data file before
     * its checks have passed), then marks the store open in both files.
     */
    private BuddyAllocator recover(final DataHeader found)
    {
        final AllocatorRebuild.Result rebuilt = AllocatorRebuild.rebuild(config, dataFile, index);
        // The index first: a crash before the header is written leaves the index one ahead, which the next open
        // accepts and completes; a restored copy of either file falls further behind (StoreFiles.sequenceProblem).
        // Counted from the header, so that an index left one ahead is completed with its own number rather than
        // raised again (a second crash at the same point would otherwise leave it two ahead: refused). The start
        // that crashed wrote no log record under that number: records are written only after this.
        final long sequence = found.openSequence() + 1;
        log.stamp(sequence); // before the index: a crash between the two leaves the log one ahead, which is accepted
        index.putMetaLongs(new String[]{BlockIndex.OPEN_SEQUENCE, BlockIndex.HEADER_PENDING}, new long[]{sequence, 1},
            true);
        openSequence = sequence;
        header = found.with(config.maxBlockSize(), rebuilt.indexedBlocks(), false).withSequence(sequence);
        header.write(dataPath, false);
        // From here on the index one ahead of a header means a data file restored from the run before, not this
        // open interrupted.
        index.putMetaLongs(new String[]{BlockIndex.CLEAN_SHUTDOWN, BlockIndex.HEADER_PENDING}, new long[]{0, 0}, true);
        recoveredBlocks = rebuilt.indexedBlocks();
        return rebuilt.allocator();
    }

    /**
     * Opens the write-ahead log, creating it for a new store (or one written before the log existed). A log that is
     * missing while the index records a checkpoint of it after an unclean shutdown held acknowledged changes that
     * are lost: refused, like the other files' inconsistencies.
     */
    private WriteAheadLog openLog(final DataHeader header)
    {
        final Path file = config.dir().resolve(WriteAheadLog.FILE);
        final long[] checkpoint = index.checkpoint();
        final long checkpointed = checkpoint[0];
        final boolean clean = index.metaLong(BlockIndex.CLEAN_SHUTDOWN, 1) == 1;
        final boolean inUse = checkpoint[1] != 0; // a log was created for this index once
        final boolean exists = Files.exists(file);
        if (!exists && inUse && !clean)
        {
            throw new IllegalStateException("write-ahead log " + file + " is missing after an unclean shutdown: " +
                "changes acknowledged after its checkpoint " + checkpointed + " are lost; run tools/rbcheck --data " +
                config.dir());
        }
        long size = config.journal().logSize();
        final long free = disk.usableBytes();
        if (!Files.exists(file) && free > 0 && free / 32 < size)
        {
            // A small filesystem: a log of a 32nd of it still holds many batches, and leaves the room to blocks.
            size = Math.max(JournalConfig.MIN_LOG_SIZE, free / 32 / WriteAheadLog.PAGE * WriteAheadLog.PAGE);
            LOG.log(System.Logger.Level.WARNING, "creating a " + size + "-byte write-ahead log instead of " +
                config.journal().logSize() + ": its filesystem has " + free + " bytes free");
        }
        // Relaxed mode flushes the log only periodically, so a buffered write (into the page cache, which survives
        // a process crash) is all a record needs; O_DIRECT would make every batch wait for the device.
        if (!exists)
        {
            // Before the file exists: the index then never points past the end of a new (maybe smaller) log, and
            // records "a log is in use" so that losing it after an unclean shutdown is refused. A clean shutdown
            // checkpointed everything, so the new log just continues the sequence.
            index.putCheckpointNow(checkpointed, WriteAheadLog.PAGE, (int)checkpoint[2]);
        }
        final WriteAheadLog opened = WriteAheadLog.open(config.dir(), size, header.storeId(),
            config.directIo() && config.durable());
        final String problem = StoreFiles.logRunProblem(opened.run(), index.metaLong(BlockIndex.OPEN_SEQUENCE, 0),
            clean);
        if (problem != null)
        {
            opened.close();
            throw new IllegalStateException("write-ahead log " + file + " is refused: " + problem + "; put back the " +
                "wal.log that belongs with index/, or run tools/rbcheck --data " + config.dir() + " --repair to " +
                "accept the loss");
        }
        return opened;
    }

    /**
     * @return true when one flush covers blocks and log records: both O_DIRECT on one device, of a filesystem whose
     * fdatasync always flushes the device's cache, even for a file with nothing dirty (ext4, XFS; btrfs, for one, may
     * return without a flush, and then the log record could sit in the device cache).
     */
    private boolean oneFlush()
    {
        if (!dataFile.isDirect() || !log.isDirect())
        {
            return false;
        }
        try
        {
            final String type = Files.getFileStore(dataPath).type();
            return ("ext4".equals(type) || "xfs".equals(type)) &&
                Files.getAttribute(dataPath, "unix:dev").equals(Files.getAttribute(log.file(), "unix:dev"));
        }
        catch (final IOException | UnsupportedOperationException e)
        {
            return false;
        }
    }

    /**
     * Returns once every change committed so far is in LMDB, e.g. before counting or copying the index.
     *
     * @return false when that did not happen within {@code timeoutMillis} (a checkpoint keeps failing).
     */
    public boolean checkpoint(final long timeoutMillis)
    {
        return committer.checkpoint(timeoutMillis * 1_000_000L);
    }

    /** One figure of {@link #journalStats}: its STATS name, whether it can go down (a gauge), and what it means. */
    public record Figure(String name, boolean gauge, String help)
    {
    }

    /** The figures {@link #journalStats} fills in, in order. */
    public static final List<Figure> JOURNAL_STATS = List.of(
        new Figure("wal_size_bytes", true, "Size of the write-ahead log file."),
        new Figure("wal_used_bytes", true, "Bytes of the write-ahead log holding records not yet checkpointed."),
        new Figure("wal_last_sequence", true, "Sequence number of the newest write-ahead log record."),
        new Figure("wal_durable_sequence", true, "Newest write-ahead log sequence known flushed to the device."),
        new Figure("wal_flushes", false, "Flushes of the data file and write-ahead log (per batch or per interval)."),
        new Figure("wal_flush_us_total", false, "Time spent in those flushes."),
        new Figure("wal_flush_failures", false, "Periodic (relaxed mode) flushes that failed."),
        new Figure("overlay_entries", true, "Index changes in the overlay's active table, not yet checkpointed."),
        new Figure("overlay_frozen_entries", true, "Index changes in the overlay's frozen table being checkpointed."),
        new Figure("checkpoints", false, "Checkpoints that applied logged changes to LMDB."),
        new Figure("checkpoint_sequence", true, "Newest write-ahead log sequence applied to LMDB."),
        new Figure("checkpoint_entries_total", false, "Index changes applied to LMDB by checkpoints."),
        new Figure("checkpoint_us_total", false, "Time spent checkpointing."),
        new Figure("checkpoint_failures", false, "Checkpoints that failed."),
        new Figure("recovery_wal_records", true, "Write-ahead log records replayed when the store opened."),
        new Figure("recovery_wal_changes", true, "Index changes replayed from the write-ahead log when the store opened."),
        new Figure("recovery_wal_dropped_blocks", true,
            "Blocks of replayed records that did not match their hash after a power loss, left unindexed."),
        new Figure("recovery_wal_ms", true, "Time the write-ahead log replay took when the store opened."));

    /** @return the position of the figure called {@code name} in {@link #JOURNAL_STATS}. */
    public static int journalStat(final String name)
    {
        for (int i = 0; i < JOURNAL_STATS.size(); i++)
        {
            if (JOURNAL_STATS.get(i).name().equals(name))
            {
                return i;
            }
        }
        throw new IllegalArgumentException("no such journal figure: " + name);
    }

    /** Fills {@code into} with the write-ahead path's figures named by {@link #JOURNAL_STATS} (racy reads). */
    public void journalStats(final long[] into)
    {
        final IndexJournal journal = committer.journal();
        // Per-batch flushes (sync mode) on the committer, periodic ones (relaxed mode) on the checkpointer.
        final long[] figures = {log.size(), log.publishedUsedBytes(), log.publishedLastSequence(), journal.durableSequence(),
            journal.flushes() + checkpointer.flushes(),
            (journal.flushNanosTotal() + checkpointer.flushNanosTotal()) / 1000, checkpointer.flushFailures(),
            overlay.activeEntries(), overlay.frozenEntries(),
            checkpointer.checkpoints(), checkpointer.done(), checkpointer.entriesApplied(),
            checkpointer.nanosTotal() / 1000, checkpointer.failures(), replayed.replay().records(),
            replayed.replay().effects(), replayed.dropped(), replayed.millis()};
        System.arraycopy(figures, 0, into, 0, Math.min(figures.length, into.length));
    }

    /** @return what opening replayed from the write-ahead log. */
    WalRecovery.Result replayed()
    {
        return replayed;
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

    /**
     * @return whether a block written as {@code ioLength} bytes is handed to the committer unwritten
     * ({@link CommitterClient#publishWriteOccupy}) rather than written by its worker: small blocks in sync mode,
     * whose latency is the device's round trip; large ones are written by the workers, overlapping the
     * committer's flushes.
     */
    public boolean committerWrites(final int ioLength)
    {
        return ioLength < DataFile.DIRECT_WRITE_MIN && committer.writesBlocks();
    }

    /** @return the descriptor a block of {@code blockSize} bytes is written through ({@link DataFile#writeFd}). */
    public int writeFd(final int blockSize)
    {
        return dataFile.writeFd(blockSize);
    }

    /** @return the descriptor for block reads (buffered when the read cache is on). */
    public int readFd()
    {
        return dataFile.readFd();
    }

    /**
     * @return the descriptor a stored copy is checked through: the O_DIRECT one where the filesystem has it, so the
     * check reads the device, not pages a read cache still holds from before the bytes on disk went bad (an
     * O_DIRECT read writes back dirty pages of its range first, so a relaxed-mode block not yet written back is read
     * as it will be).
     */
    public int checkFd()
    {
        return dataFile.fd();
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
     * @return the block's file offset, {@link #NO_SPACE}, or {@link #RETRY} while the file is being grown.
     */
    public long allocate(final int sizeClass)
    {
        return dataSpace.allocate(sizeClass);
    }

    /** Returns a block (by file offset) that was allocated but will not be indexed, or was deleted. */
    public void release(final long offset, final int sizeClass)
    {
        dataSpace.release(offset, sizeClass);
    }

    @Override
    public int syncData()
    {
        return dataFile.sync();
    }

    /** @return data-file growth attempts that failed or found no room while space was wanted (STATS). */
    public long growFailures()
    {
        return dataSpace.growFailures();
    }

    /** @return the data directory's filesystem free space at the last look, -1 when unknown (STATS). */
    public long diskFreeBytes()
    {
        return dataSpace.diskFreeBytes();
    }

    /** @return whether the committer's and the checkpointer's threads are still running (health checks). */
    public boolean threadsAlive()
    {
        return alive(runner) && alive(checkpointRunner);
    }

    private static boolean alive(final AgentRunner r)
    {
        final Thread t = r.thread();
        return !r.isClosed() && t != null && t.isAlive();
    }

    /** @return how long checkpoints into LMDB have been failing without one succeeding, 0 when the last succeeded. */
    public long checkpointsFailingNanos()
    {
        return checkpointer.failingNanos(System.nanoTime());
    }

    /** Checkpoints failing this long make the store not ready ({@link #refusingWritesBecause}). */
    static final long CHECKPOINTS_FAILING_NANOS = 10_000_000_000L;

    /**
     * @return why new PUTs are refused now, or will soon wait without end, or null when they are accepted (readiness):
     * the filesystem is below the index's reserve, the data file could not grow for a PUT (until a DELETE or freed
     * space gives room again), the journal failed (an append or flush error; only a restart recovers), or checkpoints
     * into LMDB have failed for {@link #CHECKPOINTS_FAILING_NANOS} (writes then wait once the log is full).
     */
    public String refusingWritesBecause()
    {
        if (!committer.journalHealthy())
        {
            return "the write-ahead log failed (see the log); restart to recover";
        }
        if (disk.refusing())
        {
            return "the data directory's filesystem is nearly full (" + disk.usableBytes() + " bytes free)";
        }
        final long failing = checkpointsFailingNanos();
        if (failing > CHECKPOINTS_FAILING_NANOS)
        {
            // Writes go on into the log meanwhile, but once it is full they wait for a checkpoint that never comes.
            return "checkpoints into the index " + config.dir().resolve("index") + " have failed for " +
                failing / 1_000_000_000L + " s (" + checkpointer.lastFailure() + ")";
        }
        if (dataSpace.full())
        {
            return "the data file cannot grow: its filesystem is nearly full (" + disk.usableBytes() + " bytes free)";
        }
        return null;
    }

    /** @return false once the write-ahead log failed: the store answers FAILED until it is restarted. */
    public boolean journalHealthy()
    {
        return committer.journalHealthy();
    }

    /** @return true while new PUTs are refused because the filesystem is below the index's reserve (STATS). */
    public boolean refusingForLowDisk()
    {
        return disk.refusing();
    }

    /** @return the end of the reserved space zeroed ahead of the allocator (for tests). */
    long zeroedTo()
    {
        return dataSpace.zeroedTo();
    }

    /** @return bytes of reserved space zeroed ahead of the allocator since the store opened (STATS). */
    public long zeroedBytes()
    {
        return dataSpace.zeroedBytes();
    }

    /** @return bytes of the data file reserved so far (fallocated), at least what the allocator owns. */
    long reservedBytes()
    {
        return dataFile.size();
    }

    /** A consistent snapshot of the allocator's figures for STATS. */
    public void allocatorStats(final long[] usedPerClass, final long[] freePerClass, final long[] totals)
    {
        dataSpace.allocatorStats(usedPerClass, freePerClass, totals);
    }

    /**
     * Flushes the data file, then the log, without closing anything (the committer may still run): what a stop that
     * cannot close the store does, so that relaxed mode's acknowledged writes do not wait for kernel writeback.
     *
     * @return 0 or the first -errno.
     */
    public int flushFiles()
    {
        final int rc = dataFile.sync();
        return rc < 0 ? rc : log.sync();
    }

    /** Stops the committer after a final drain and commit, then closes the index and the data file. */
    @Override
    public void close()
    {
        try
        {
            if (scrubber != null)
            {
                scrubber.close(); // before the committer: it may still publish
            }
            runner.close(); // final drain, and a last checkpoint through the checkpointer
            checkpointRunner.close();
            if (committer.lastFlushSucceeded())
            {
                final String replaced = dataFileReplaced();
                if (replaced != null)
                {
                    // Marking a stale copy clean would defeat the check that refuses restored copies at the next start.
                    errors.onError("store", "data file " + dataPath + " was replaced while the store was open (" +
                        replaced + "): not marked clean, so the next start checks it as after a crash");
                }
                else
                {
                    index.putMetaLong(BlockIndex.CLEAN_SHUTDOWN, 1, true);
                    header = header.with(header.chunkSize(), index.count(), true);
                    header.write(dataPath, false);
                }
            }
        }
        finally
        {
            closeFiles(); // even when the final header write failed: the lock must not outlive the store
        }
    }

    /** @return why the file named {@code blocks.dat} is not the one this store opened and wrote, or null. */
    private String dataFileReplaced()
    {
        try
        {
            final Path open = Path.of("/proc/self/fd/" + dataFile.fd());
            // Without /proc (a bare container) only the header tells.
            if (Files.exists(open) &&
                (!Files.getAttribute(open, "unix:ino").equals(Files.getAttribute(dataPath, "unix:ino")) ||
                !Files.getAttribute(open, "unix:dev").equals(Files.getAttribute(dataPath, "unix:dev"))))
            {
                return "another file has its name now";
            }
            final DataHeader named = DataHeader.read(dataPath);
            if (named == null || !named.sameStore(header.storeId()) || named.openSequence() != openSequence)
            {
                return "its header is not the one this run wrote (open sequence " +
                    (named == null ? "none" : named.openSequence()) + ", not " + openSequence + ")";
            }
            return null;
        }
        catch (final IOException | RuntimeException e)
        {
            return "cannot compare it with the open file: " + e;
        }
    }

    private void closeFiles()
    {
        try
        {
            if (scrubber == null || !scrubber.isAlive())
            {
                index.close(); // never under a scrubber still inside a read transaction
            }
            dataFile.close();
            disk.close();
            log.close();
            if (overlay != null && (scrubber == null || !scrubber.isAlive()))
            {
                overlay.close();
            }
        }
        finally
        {
            lock.close();
        }
    }
}
