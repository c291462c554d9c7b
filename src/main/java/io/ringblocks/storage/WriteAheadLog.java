package io.ringblocks.storage;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import io.ringblocks.sys.Errno;
import io.ringblocks.sys.LibC;

/**
 * The write-ahead log: one {@link WalRecord} per committer batch, appended to a preallocated, pre-zeroed, circular
 * file behind a {@link WalHeader} page. A checkpointer applies records to the index and remembers (sequence,
 * position, CRC) of the last one applied; {@link #replay} continues from there after a restart.
 * <p>
 * Circular space: records live in {@code [PAGE, size)}. The append position (head) chases the checkpoint position
 * (tail, where the oldest record still needed starts). A record that does not fit between the head and the end of
 * the file starts at {@link #PAGE} instead, wasting the tail of the file until the checkpoint passes it. A record
 * never ends exactly at the tail, so head == tail always means an empty log. An empty log may place a wrapped
 * record over its old checkpoint position: nothing there is needed, and replay, which looks there first, finds the
 * middle of that record, which is no record of the chain, and goes on at {@link #PAGE}.
 * <p>
 * Chaining is what makes the circular file safe to read back: each record carries the next sequence and the CRC of
 * the record before it, so replay never takes a record from an earlier lap, nor one from an earlier life's
 * unfinished tail (a new life's records chain to the tail replay found; for that its first record must differ from
 * the one it replaces, which the open sequence in every record ensures).
 * <p>
 * Appending is single-threaded and allocation-free; open and replay are startup chores.
 */
public final class WriteAheadLog implements AutoCloseable
{
    public static final String FILE = "wal.log";
    /** Header page size and record alignment. */
    public static final int PAGE = 4096;
    public static final int PUT = 1;
    public static final int DELETE = 2;

    private static final int MAX_WRITE_RETRIES = 1000;

    private final Path file;
    private final long size;
    private final boolean direct;
    private final boolean created;
    private long run;
    private final Arena arena;
    private final MemorySegment segment;
    private final WalRecord record;
    private int fd;
    private final StickySync syncs = new StickySync();
    private boolean closed;

    private boolean appending;
    private int count = -1;
    private long lastSequence;
    private int lastCrc;
    private long head;
    private long tail;
    private volatile long publishedUsedBytes;
    private volatile long publishedLastSequence;

    private WriteAheadLog(final Path file, final int fd, final boolean direct, final WalHeader.Found header,
        final boolean created)
    {
        this.file = file;
        this.fd = fd;
        this.direct = direct;
        this.size = header.size();
        this.run = header.run();
        this.created = created;
        arena = Arena.ofShared();
        segment = arena.allocate(WalRecord.paddedLength(WalRecord.MAX_EFFECTS), PAGE);
        record = new WalRecord(segment.asByteBuffer().order(ByteOrder.LITTLE_ENDIAN));
    }

    /**
     * Opens {@code dir/wal.log}, creating it when absent.
     *
     * @param size       bytes of a new log (a multiple of {@link #PAGE}, at least 16 pages); an existing log keeps
     *                   the size its header records.
     * @param storeId16  the store's 16-byte id; a log of another store is refused.
     * @param wantDirect open with O_DIRECT where the filesystem allows it.
     * @throws IllegalStateException naming the file and {@code tools/rbcheck} when its header is not a ringblocks
     *                               WAL header or names another store, or when it cannot be created or opened.
     */
    public static WriteAheadLog open(final Path dir, final long size, final byte[] storeId16, final boolean wantDirect)
    {
        WalHeader.checkSize(size);
        if (storeId16.length != WalHeader.STORE_ID_LENGTH)
        {
            throw new IllegalArgumentException("store id must be 16 bytes: " + storeId16.length);
        }
        final Path file = dir.resolve(FILE);
        final boolean created = !Files.exists(file);
        if (created)
        {
            WalHeader.create(file, size, storeId16);
        }
        final WalHeader.Found found = WalHeader.read(file, storeId16);
        WalHeader.restoreSize(file, found.size());

        final DataFile.Opened opened = DataFile.open(file, LibC.O_RDWR | LibC.O_CLOEXEC, 0, wantDirect,
            "write-ahead log");
        return new WriteAheadLog(file, opened.fd(), opened.direct(), found, created);
    }

    /**
     * Opens an existing {@code dir/wal.log} for {@link #replay} only: read-only and buffered, its size as its header
     * records (a log cut short is not restored), so that a store on a read-only filesystem can be checked.
     *
     * @throws IllegalStateException as {@link #open} does, and when the file does not exist.
     */
    public static WriteAheadLog openToRead(final Path dir, final byte[] storeId16)
    {
        final Path file = dir.resolve(FILE);
        final WalHeader.Found header = WalHeader.read(file, storeId16); // before the open: a refusal leaks no fd
        final DataFile.Opened opened = DataFile.open(file, LibC.O_RDONLY | LibC.O_CLOEXEC, 0, false,
            "write-ahead log");
        return new WriteAheadLog(file, opened.fd(), false, header, false);
    }

    /** @return the open sequence of the store's run that last opened the log ({@link #stamp}), 0 when none did. */
    public long run()
    {
        return run;
    }

    /**
     * Records that run {@code openSequence} of the store uses the log from now on, flushed: before the index's open
     * sequence is raised, so that a log restored from an earlier run can be told apart at the next open.
     */
    public void stamp(final long openSequence)
    {
        WalHeader.stamp(file, openSequence);
        run = openSequence;
    }

    /** @return true when this open created the file. */
    public boolean created()
    {
        return created;
    }

    public long size()
    {
        return size;
    }

    public boolean isDirect()
    {
        return direct;
    }

    public int fd()
    {
        return fd;
    }

    public Path file()
    {
        return file;
    }

    /** Bytes a record of {@code effects} effects takes in the log, padded to {@link #PAGE}. */
    public static int recordBytes(final int effects)
    {
        return WalRecord.paddedLength(effects);
    }

    public int maxEffectsPerRecord()
    {
        return WalRecord.MAX_EFFECTS;
    }

    // ---- recovery ----

    /**
     * What replay found. lastSequence, nextPosition, lastCrc: of the last good record (the checkpoint's when none);
     * durableSequence: the largest durableSequence field among the replayed records (checkpointSeq when none);
     * records and effects: how many were delivered; newestOpenSequence: the largest open sequence among them (0 when
     * none), which names the run of the store that wrote the record.
     */
    public record Replay(long lastSequence, long nextPosition, int lastCrc, long durableSequence, int records,
        long effects, long newestOpenSequence)
    {
    }

    /** Receives each effect of each replayed record, in log order; {@code hash} is valid only during the call. */
    @FunctionalInterface
    public interface EffectVisitor
    {
        /** For a DELETE, offset, length, sizeClass, crc and flags are 0. */
        void effect(long sequence, int type, DirectBuffer hash, int hashOffset,
            long offset, int length, int sizeClass, int crc, int flags);

        /**
         * The record {@code sequence}, whose effects were all just visited, ends: a checkpoint after it is
         * ({@code sequence}, {@code nextPosition}, {@code crc}); {@code durableSequence} is the newest flush any record
         * so far says completed.
         */
        default void recordEnd(long sequence, long nextPosition, int crc, long durableSequence)
        {
        }
    }

    /**
     * Reads, in order, the records after the checkpoint and hands their effects to {@code visitor}, each record's
     * only once all of it validated. The first must start at {@code checkpointPos} (or at {@link #PAGE}, when the
     * writer wrapped), have sequence {@code checkpointSeq + 1} and chain to {@code checkpointCrc}; each next one
     * follows the one before the same way. Stops at the first record missing, torn, malformed, out of chain or
     * past the end of the file: damage in the log is where it ends, never an exception.
     *
     * @param checkpointPos where the record after the checkpoint starts (the end of the last applied record).
     * @throws IllegalStateException when the file cannot be read (an I/O error is not taken for the log's end).
     */
    public Replay replay(
        final long checkpointSeq, final long checkpointPos, final int checkpointCrc, final EffectVisitor visitor)
    {
        if (appending)
        {
            throw new IllegalStateException("replay must come before startAppending");
        }
        checkPosition(checkpointPos);
        long position = checkpointPos;
        long sequence = checkpointSeq;
        int crc = checkpointCrc;
        long durable = checkpointSeq;
        long newestOpen = 0;
        int records = 0;
        long effects = 0;
        final UnsafeBuffer buffer = record.buffer();
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ))
        {
            while (true)
            {
                long at = position;
                boolean found = readRecord(channel, at, sequence + 1, crc);
                if (!found && at != PAGE)
                {
                    at = PAGE;
                    found = readRecord(channel, at, sequence + 1, crc);
                }
                if (!found)
                {
                    break;
                }
                sequence++;
                final int n = record.count();
                for (int i = 0; i < n; i++)
                {
                    visitor.effect(sequence, record.type(i), buffer, WalRecord.hashOffset(i), record.blockOffset(i),
                        record.blockLength(i), record.sizeClass(i), record.blockCrc(i), record.flags(i));
                }
                durable = records == 0 ? record.durableSequence() : Math.max(durable, record.durableSequence());
                newestOpen = Math.max(newestOpen, record.openSequence());
                crc = record.crc();
                position = at + WalRecord.paddedLength(n);
                records++;
                effects += n;
                visitor.recordEnd(sequence, position, crc, durable);
            }
        }
        catch (final IOException e)
        {
            throw new IllegalStateException("cannot read write-ahead log " + file + ": " + IoErrors.describe(e), e);
        }
        return new Replay(sequence, position, crc, durable, records, effects, newestOpen);
    }

    /** @return true when a whole, valid record with the expected sequence and prevCrc starts at {@code at}. */
    private boolean readRecord(final FileChannel channel, final long at, final long sequence, final int prevCrc)
        throws IOException
    {
        if (at + WalRecord.HEADER_LENGTH > size || !read(channel, at, 0, WalRecord.HEADER_LENGTH))
        {
            return false;
        }
        if (!record.wellFormed(size - at) || record.sequence() != sequence || record.prevCrc() != prevCrc)
        {
            return false;
        }
        return read(channel, at, WalRecord.HEADER_LENGTH, record.length()) && record.crcMatches();
    }

    /** Reads bytes [from, to) of the record at {@code at} into the buffer; false when the file ends first. */
    private boolean read(final FileChannel channel, final long at, final int from, final int to) throws IOException
    {
        final ByteBuffer view = record.view();
        view.limit(to).position(from);
        try
        {
            while (view.hasRemaining())
            {
                if (channel.read(view, at + view.position()) < 0)
                {
                    return false;
                }
            }
            return true;
        }
        finally
        {
            view.clear();
        }
    }

    // ---- appending ----

    /**
     * Sets where appending continues: after {@link #replay} (or on a new log) and before the first {@link #begin()}.
     *
     * @param nextSequence       the sequence of the next record.
     * @param position           where the next record starts (unless it has to wrap).
     * @param prevCrc            the CRC of the record before it ({@link Replay#lastCrc()}).
     * @param checkpointPosition where the oldest record still needed starts; {@code position} when there is none.
     */
    public void startAppending(
        final long nextSequence, final long position, final int prevCrc, final long checkpointPosition)
    {
        checkPosition(position);
        checkPosition(checkpointPosition);
        lastSequence = nextSequence - 1;
        lastCrc = prevCrc;
        head = position;
        tail = normalTail(checkpointPosition);
        appending = true;
        publish();
    }

    /** Starts a new record in the append buffer, dropping any effects added since the last append. */
    public void begin()
    {
        if (!appending)
        {
            throw new IllegalStateException("startAppending first");
        }
        count = 0;
    }

    public void addPut(
        final DirectBuffer hash,
        final int hashOffset,
        final long offset,
        final int length,
        final int sizeClass,
        final int crc,
        final int flags)
    {
        if (offset < 0 || length < 0 || (sizeClass & ~0xFF) != 0 || (flags & ~0xFF) != 0)
        {
            throw new IllegalArgumentException("bad PUT effect: offset " + offset + ", length " + length +
                ", size class " + sizeClass + ", flags " + flags);
        }
        record.putEffect(nextEffect(), PUT, hash, hashOffset, offset, length, sizeClass, crc, flags);
        count++;
    }

    public void addDelete(final DirectBuffer hash, final int hashOffset)
    {
        record.putEffect(nextEffect(), DELETE, hash, hashOffset, 0, 0, 0, 0, 0);
        count++;
    }

    private int nextEffect()
    {
        if (count < 0)
        {
            throw new IllegalStateException("begin() a record first");
        }
        if (count == WalRecord.MAX_EFFECTS)
        {
            throw new IllegalStateException("a record holds at most " + WalRecord.MAX_EFFECTS + " effects");
        }
        return count;
    }

    /** @return effects added to the record begun with {@link #begin()}, 0 when none is begun. */
    public int effectsInRecord()
    {
        return Math.max(0, count);
    }

    /**
     * @return true when a record of {@code effects} effects fits (counting a wrap's wasted tail) without
     * overwriting anything at or after the checkpoint position.
     */
    public boolean hasRoom(final int effects)
    {
        return placement(WalRecord.paddedLength(effects)) >= 0;
    }

    /** @return where a record of {@code bytes} would start, or -1 when it does not fit. */
    private long placement(final long bytes)
    {
        if (head == tail)
        {
            if (head + bytes <= size)
            {
                return head;
            }
            return PAGE + bytes <= size ? PAGE : -1;
        }
        if (head > tail)
        {
            if (head + bytes <= size)
            {
                return head;
            }
            return PAGE + bytes < tail ? PAGE : -1;
        }
        return head + bytes < tail ? head : -1;
    }

    /**
     * Writes the record begun with {@link #begin()} at the append position (or at {@link #PAGE} when it wraps),
     * with the next sequence, chained to the last record's CRC. Does not flush: see {@link #sync()}.
     *
     * @param durableSequence the newest sequence known flushed when this record was built (kept for replay).
     * @param openSequence    the store's open sequence: a record of this life never equals one of an earlier life.
     * @return 0, or -errno: then nothing counts as appended, and the next attempt reuses sequence and position
     * (the record and its effects stay in the buffer).
     * @throws IllegalStateException when no record with effects is begun or it has no room ({@link #hasRoom}).
     */
    public int append(final long durableSequence, final long openSequence)
    {
        if (count <= 0)
        {
            throw new IllegalStateException("append needs a begun record with at least one effect");
        }
        final int bytes = WalRecord.paddedLength(count);
        final long start = placement(bytes);
        if (start < 0)
        {
            throw new IllegalStateException("no room in write-ahead log " + file + " for " + bytes +
                " bytes (used " + usedBytes() + " of " + size + "): check hasRoom first");
        }
        final int crc = record.seal(count, lastSequence + 1, lastCrc, durableSequence, openSequence);
        final int rc = writeFully(bytes, start);
        if (rc < 0)
        {
            return rc;
        }
        if (head == tail && start != head)
        {
            tail = PAGE; // an empty log wrapped: its oldest needed record is now this one
        }
        head = start + bytes;
        lastSequence++;
        lastCrc = crc;
        count = -1;
        publish();
        return 0;
    }

    private int writeFully(final int bytes, final long start)
    {
        long done = 0;
        int retries = 0;
        while (done < bytes)
        {
            // The slice is taken only after a short write, which a regular file hardly ever gives.
            final MemorySegment from = done == 0 ? segment : segment.asSlice(done);
            final long n = LibC.pwrite(fd, from, bytes - done, start + done);
            if (n == -Errno.EINTR || n == -Errno.EAGAIN)
            {
                if (++retries > MAX_WRITE_RETRIES)
                {
                    return (int)n;
                }
                continue;
            }
            if (n < 0)
            {
                return (int)n;
            }
            if (n == 0)
            {
                return -Errno.EIO; // no progress on a regular file: never loop on it
            }
            done += n;
            if (direct && done < bytes)
            {
                done &= -PAGE; // O_DIRECT needs aligned writes: write the partial page again
            }
        }
        return 0;
    }

    /**
     * @return the sequence of the last appended record (the one before {@code nextSequence} until then); the
     * appending thread's view ({@link #publishedLastSequence()} for others).
     */
    public long lastSequence()
    {
        return lastSequence;
    }

    /** @return where the record after the last appended one would start, if it does not wrap. */
    public long nextPosition()
    {
        return head;
    }

    /** @return the CRC of the last appended record: the next record's prevCrc. */
    public int lastCrc()
    {
        return lastCrc;
    }

    /**
     * Frees the space of the records before {@code position}: they are applied to the index.
     *
     * @param position a record's start or a {@link #nextPosition()} returned earlier, not before the current
     *                 checkpoint position.
     */
    public void checkpointed(final long position)
    {
        checkPosition(position);
        final long p = normalTail(position);
        final boolean inUse = head >= tail ? p >= tail && p <= head : p >= tail || p <= head;
        if (!inUse)
        {
            throw new IllegalArgumentException("checkpoint position " + position + " is outside the records in use [" +
                tail + ", " + head + ") of " + file);
        }
        tail = p;
        publish();
    }

    /** Head, tail and sequence change on the appending thread: other threads read what this published (STATS). */
    private void publish()
    {
        publishedUsedBytes = usedBytes();
        publishedLastSequence = lastSequence;
    }

    /** @return {@link #usedBytes()} as of the last append or checkpoint (any thread). */
    public long publishedUsedBytes()
    {
        return publishedUsedBytes;
    }

    /** @return {@link #lastSequence()} as of the last append (any thread). */
    public long publishedLastSequence()
    {
        return publishedLastSequence;
    }

    /** A tail at the very end of a wrapped log is the same as one at the first record. */
    private long normalTail(final long position)
    {
        return position == size && head != size ? PAGE : position;
    }

    /**
     * @return bytes between the checkpoint position and the append position, a wrap's wasted tail included; the
     * appending thread's view ({@link #publishedUsedBytes()} for others).
     */
    public long usedBytes()
    {
        if (head >= tail)
        {
            return head - tail;
        }
        return size - tail + head - PAGE;
    }

    private void checkPosition(final long position)
    {
        if (position < PAGE || position > size || (position & (PAGE - 1)) != 0)
        {
            throw new IllegalArgumentException("position " + position + " is not a page boundary within " +
                "[" + PAGE + ", " + size + "] of " + file);
        }
    }

    /** fdatasync: makes appended records durable. @return 0 or -errno. */
    public int sync()
    {
        return syncs.sync(fd); // the committer's and the checkpointer's flushes take turns; a failure sticks
    }

    /** Test hook: appends go to {@code newFd} (e.g. a read-only descriptor, to see a real failure). */
    int swapFd(final int newFd)
    {
        final int old = fd;
        fd = newFd;
        return old;
    }

    @Override
    public void close()
    {
        if (!closed)
        {
            closed = true;
            LibC.close(fd);
            arena.close();
        }
    }
}
