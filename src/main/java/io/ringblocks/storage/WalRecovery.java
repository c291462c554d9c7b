package io.ringblocks.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

import org.agrona.DirectBuffer;
import org.agrona.ExpandableDirectByteBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.lmdbjava.Txn;

/**
 * Opening a store replays the write-ahead log records after the index's checkpoint into LMDB, in synced
 * transactions of at most {@link #CHUNK_EFFECTS} changes (whole records), each of which also moves the checkpoint
 * to its last record: a crash during replay leaves the index at the last chunk committed, and the next open replays
 * from there. So replay holds at most one chunk in memory (64 bytes per change), however large the log. Replay stops
 * at the first record that is missing, torn, corrupt or out of chain ({@link WriteAheadLog#replay}): nothing after
 * damage is applied.
 * <p>
 * A record newer than the last one a completed flush is known to have covered (each record carries that sequence)
 * may be on disk while its blocks are not: a power loss between the record's write and the flush. Every block such a
 * record stores is read back and hashed, and a block whose bytes do not match its SHA-256 is not indexed: so the
 * index never names bytes that are not the block's. The newest flush any record names is learnt from a first pass
 * over the log that applies nothing, so the chunks judge every record by all of them. Startup-only code: it may
 * allocate.
 */
final class WalRecovery implements WriteAheadLog.EffectVisitor
{
    private static final System.Logger LOG = System.getLogger("ringblocks");
    private static final int EFFECT = 64;
    private static final int SEQUENCE = 0;
    private static final int TYPE = 8;
    private static final int SIZE_CLASS = 9;
    private static final int FLAGS = 10;
    private static final int LENGTH = 12;
    private static final int OFFSET = 16;
    private static final int CRC = 24;
    private static final int HASH = 32;

    /** Changes applied per transaction: 16 MiB of them in memory at most (plus one record's). */
    static final int CHUNK_EFFECTS = 1 << 18;

    private static final WriteAheadLog.EffectVisitor NOTHING =
        (sequence, type, hash, hashOffset, offset, length, sizeClass, crc, flags) ->
        {
        };

    private final ExpandableDirectByteBuffer effects = new ExpandableDirectByteBuffer(1 << 16);
    private final BlockIndex index;
    private final Path dataFile;
    private final Committer.DataSync dataSync;
    private final int chunkEffects;
    private int count;
    private boolean dataSynced;
    private long lastSequence;
    private long nextPosition;
    private int lastCrc;
    /** The newest flush any record of the log names: stores of records up to it need no check. */
    private final long durable;
    private int verified;
    private int dropped;

    /** What the replay did, for logs, STATS and tests. */
    record Result(WriteAheadLog.Replay replay, int verified, int dropped, long millis)
    {
    }

    private WalRecovery(final BlockIndex index, final Path dataFile, final Committer.DataSync dataSync,
        final int chunkEffects, final long durable)
    {
        this.durable = durable;
        this.index = index;
        this.dataFile = dataFile;
        this.dataSync = dataSync;
        this.chunkEffects = chunkEffects;
    }

    /**
     * Replays {@code log} into {@code index} after the index's checkpoint; {@code dataFile} is where blocks are
     * verified, and {@code dataSync} makes them durable before the index names them.
     *
     * @param dataRun the open sequence the data file's header carries (0: unknown, not checked): records of a later
     *                run are refused ({@link #refuseIfNewer}).
     */
    static Result recover(final BlockIndex index, final WriteAheadLog log, final Path dataFile, final long dataRun,
        final Committer.DataSync dataSync)
    {
        return recover(index, log, dataFile, dataRun, dataSync, CHUNK_EFFECTS);
    }

    /** {@link #recover(BlockIndex, WriteAheadLog, Path, long, Committer.DataSync)} in chunks of the given size. */
    static Result recover(final BlockIndex index, final WriteAheadLog log, final Path dataFile, final long dataRun,
        final Committer.DataSync dataSync, final int chunkEffects)
    {
        if (chunkEffects <= 0)
        {
            throw new IllegalArgumentException("chunkEffects must be positive: " + chunkEffects);
        }
        final long start = System.nanoTime();
        final long[] checkpoint = index.checkpoint();
        final long position = replayStart(checkpoint, log);
        final WriteAheadLog.Replay scan = log.replay(checkpoint[0], position, (int)checkpoint[2], NOTHING);
        if (scan.records() == 0)
        {
            return new Result(scan, 0, 0, (System.nanoTime() - start) / 1_000_000L);
        }
        refuseIfNewer(scan, log, dataRun);
        final WalRecovery recovery = new WalRecovery(index, dataFile, dataSync, chunkEffects, scan.durableSequence());
        final WriteAheadLog.Replay replay = log.replay(checkpoint[0], position, (int)checkpoint[2], recovery);
        if (!replay.equals(scan))
        {
            throw new IllegalStateException("the write-ahead log changed between two reads: " + scan + ", then " +
                replay);
        }
        if (recovery.count > 0)
        {
            recovery.apply();
        }
        final long millis = (System.nanoTime() - start) / 1_000_000L;
        LOG.log(System.Logger.Level.INFO, "replayed " + replay.records() + " write-ahead log records (" +
            replay.effects() + " index changes, sequences " + (checkpoint[0] + 1) + ".." + replay.lastSequence() +
            ") in " + millis + " ms; " + recovery.verified + " blocks of records newer than the last known flush " +
            "verified" + (recovery.dropped > 0 ?
            ", " + recovery.dropped + " of them dropped: their bytes did not reach the disk" : ""));
        return new Result(replay, recovery.verified, recovery.dropped, millis);
    }

    @Override
    public void effect(final long sequence, final int type, final DirectBuffer hash, final int hashOffset,
        final long offset, final int length, final int sizeClass, final int crc, final int flags)
    {
        final int at = count * EFFECT;
        effects.checkLimit(at + EFFECT);
        effects.putLong(at + SEQUENCE, sequence);
        effects.putByte(at + TYPE, (byte)type);
        effects.putByte(at + SIZE_CLASS, (byte)sizeClass);
        effects.putByte(at + FLAGS, (byte)flags);
        effects.putInt(at + LENGTH, length);
        effects.putLong(at + OFFSET, offset);
        effects.putInt(at + CRC, crc);
        effects.putBytes(at + HASH, hash, hashOffset, BlockIndex.KEY_LENGTH);
        count++;
    }

    @Override
    public void recordEnd(final long sequence, final long nextPosition, final int crc, final long durableSequence)
    {
        lastSequence = sequence;
        this.nextPosition = nextPosition;
        lastCrc = crc;
        if (count >= chunkEffects)
        {
            apply();
        }
    }

    /** Applies the changes gathered so far, whole records, in one transaction that checkpoints after the last. */
    private void apply()
    {
        final boolean[] keep = new boolean[count];
        verify(keep);
        if (!dataSynced)
        {
            // Everything the index is about to name must be on disk first, the verified blocks included; one flush
            // covers every chunk, as nothing writes the data file meanwhile.
            final int rc = dataSync.syncData();
            if (rc < 0)
            {
                throw new IllegalStateException("cannot flush data file " + dataFile + " before replaying the " +
                    "write-ahead log: " + io.ringblocks.sys.Errno.describe(rc));
            }
            dataSynced = true;
        }
        final UnsafeBuffer key = new UnsafeBuffer(ByteBuffer.allocateDirect(BlockIndex.KEY_LENGTH));
        final UnsafeBuffer value = new UnsafeBuffer(ByteBuffer.allocateDirect(IndexValue.VALUE_LENGTH));
        try (Txn<DirectBuffer> txn = index.writeTxn())
        {
            for (int i = 0; i < count; i++)
            {
                if (!keep[i])
                {
                    continue;
                }
                final int at = i * EFFECT;
                key.putBytes(0, effects, at + HASH, BlockIndex.KEY_LENGTH);
                if (effects.getByte(at + TYPE) == WriteAheadLog.PUT)
                {
                    IndexValue.encode(value, effects.getLong(at + OFFSET), effects.getInt(at + LENGTH),
                        effects.getByte(at + SIZE_CLASS) & 0xFF, 0, effects.getInt(at + CRC),
                        effects.getByte(at + FLAGS) & 0xFF);
                    index.put(txn, key, value);
                }
                else
                {
                    index.delete(txn, key);
                }
            }
            index.putCheckpoint(txn, lastSequence, nextPosition, lastCrc);
            txn.commit();
        }
        count = 0;
    }

    /** The refusal of {@link #refuseIfNewer}, whose remedy (the older copy or the log) differs from a bad log's. */
    static final class NewerLogException extends IllegalStateException
    {
        private static final long serialVersionUID = 1L;

        NewerLogException(final String message)
        {
            super(message);
        }
    }

    /** @return where the record after the index's {@code checkpoint} starts in {@code log}. */
    static long replayStart(final long[] checkpoint, final WriteAheadLog log)
    {
        // Outside the log (none yet, or a log re-created smaller): the next record can only be at the start.
        return checkpoint[1] < WriteAheadLog.PAGE || checkpoint[1] >= log.size() ? WriteAheadLog.PAGE : checkpoint[1];
    }

    /**
     * Records of a later run of the store than the data file's: the data file (and the index, whose open sequence
     * matches it, or StoreFiles would have refused them) is a copy from before that run, and the log's changes would
     * land on an older data file, deleting blocks the copy was restored to bring back and naming space that holds
     * other bytes. Every record was written by a run whose open sequence the data file's header already carried,
     * since each open raises the header's before its first append. (An index restored alone, beside the current data
     * file, is what the log's later records do bring up to date: only rbcheck --repair goes on with that.)
     */
    static void refuseIfNewer(final WriteAheadLog.Replay scan, final WriteAheadLog log, final long dataRun)
    {
        if (dataRun > 0 && scan.newestOpenSequence() > dataRun)
        {
            throw new NewerLogException("write-ahead log " + log.file() + " holds records of run " +
                scan.newestOpenSequence() + " of this store after the index's checkpoint, but the data file was " +
                "last opened by run " + dataRun + ": index/ and blocks.dat are a copy older than the log. Put back " +
                "the index/ and blocks.dat that belong with this log, or, to keep the older copy as it is, move " +
                "wal.log away (then run tools/rbcheck --data " + log.file().getParent() + " --repair if the store " +
                "was not shut down cleanly)");
        }
    }

    /**
     * A block of a record known flushed lies past the end of the data file: the flush made the file's size durable
     * with the block, so the file was cut or replaced since. Refused before its changes are applied (dropping them as
     * unflushed would lose acknowledged blocks for good, even once the operator put the right file back).
     */
    private void refuseIfCut(final long sequence, final long offset, final int length, final long size)
    {
        if (offset + length > size)
        {
            throw new IllegalStateException("data file " + dataFile + " is " + size + " bytes, but write-ahead log " +
                "record " + sequence + ", flushed with its blocks, names a block of " + length + " bytes at offset " +
                offset + ": the file was cut short or replaced; put the right one back (without it, only moving " +
                "wal.log away and running tools/rbcheck --data " + dataFile.getParent() + " --repair, which " +
                "accepts the loss of the changes logged after the index's checkpoint, lets the store open)");
        }
    }

    /**
     * Marks the changes to apply: all but the stores of records after {@code durable} whose bytes do not hash to
     * their key. Changes flagging a block corrupt name a block stored earlier, so they are kept as they are.
     */
    private void verify(final boolean[] keep)
    {
        try (FileChannel channel = FileChannel.open(dataFile))
        {
            final MessageDigest sha = MessageDigest.getInstance("SHA-256");
            final long size = channel.size();
            final byte[] digest = new byte[BlockIndex.KEY_LENGTH];
            for (int i = 0; i < count; i++)
            {
                final int at = i * EFFECT;
                keep[i] = true;
                if (effects.getByte(at + TYPE) != WriteAheadLog.PUT ||
                    (effects.getByte(at + FLAGS) & IndexValue.CORRUPT) != 0)
                {
                    continue;
                }
                if (effects.getLong(at + SEQUENCE) <= durable)
                {
                    refuseIfCut(effects.getLong(at + SEQUENCE), effects.getLong(at + OFFSET), effects.getInt(at + LENGTH),
                        size);
                    continue;
                }
                verified++;
                final long offset = effects.getLong(at + OFFSET);
                final int length = effects.getInt(at + LENGTH);
                final ByteBuffer bytes = ByteBuffer.allocate(Math.max(0, length));
                if (offset >= Store.DATA_START && length > 0 && offset + length <= size)
                {
                    while (bytes.hasRemaining() && channel.read(bytes, offset + bytes.position()) > 0)
                    {
                        // until full or the end of the file
                    }
                }
                effects.getBytes(at + HASH, digest);
                if (bytes.hasRemaining() || length <= 0 || !MessageDigest.isEqual(sha.digest(bytes.array()), digest))
                {
                    keep[i] = false;
                    dropped++;
                }
            }
        }
        catch (final IOException | NoSuchAlgorithmException e)
        {
            throw new IllegalStateException("cannot verify the blocks of the write-ahead log's newest records in " +
                dataFile + ": " + (e instanceof IOException io ? IoErrors.describe(io) : e.toString()), e);
        }
    }
}
