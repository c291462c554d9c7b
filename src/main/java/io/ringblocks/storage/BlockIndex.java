package io.ringblocks.storage;

import java.io.File;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.lmdbjava.Cursor;
import org.lmdbjava.Dbi;
import org.lmdbjava.DbiFlags;
import org.lmdbjava.DirectBufferProxy;
import org.lmdbjava.Env;
import org.lmdbjava.EnvFlags;
import org.lmdbjava.PutFlags;
import org.lmdbjava.Txn;

/**
 * The LMDB index: SHA-256 → where the block lives. Two named databases keep key spaces that must never collide
 * apart: {@code blocks} (32-byte hash keys only) and {@code meta} (ASCII keys such as {@code schema_version}).
 * The committer thread is the only writer; every worker thread reads through its own {@link IndexReader}, whose
 * read transaction is reset and renewed rather than reopened.
 * Each blocks value is an {@link IndexValue}.
 */
public final class BlockIndex implements AutoCloseable
{
    public static final int KEY_LENGTH = 32;
    /** Meta key: 1 after a graceful close, 0 while open. */
    public static final String CLEAN_SHUTDOWN = "clean_shutdown";
    /** Meta key: the 16-byte id of the store, the same as in the data file's header ({@link DataHeader}). */
    public static final String STORE_ID = "store_id";
    /** Meta key: how many times the store was opened, the same as in the data file's header ({@link DataHeader}). */
    public static final String OPEN_SEQUENCE = "open_sequence";
    /**
     * Meta key: 1 from when an open raised {@link #OPEN_SEQUENCE} until the data file's header carries it too, 0
     * after (absent: a store from before the key). Only while it is 1 may the index be one open ahead of the header.
     */
    public static final String HEADER_PENDING = "header_pending";
    /** Meta key: sequence of the last write-ahead-log record whose effects this index holds (0: none yet). */
    public static final String WAL_SEQUENCE = "wal_sequence";
    /** Meta key: where in the log the record after {@link #WAL_SEQUENCE} starts. */
    public static final String WAL_POSITION = "wal_position";
    /** Meta key: CRC32C of the record {@link #WAL_SEQUENCE} (the next record chains to it). */
    public static final String WAL_CRC = "wal_crc";
    /**
     * 4: changes go through the write-ahead log ({@link WriteAheadLog}) and {@code meta} records its checkpoint
     * ({@link #WAL_SEQUENCE}); a version-3 index (no log yet) is upgraded when opened, since it holds every change.
     * 3: the data file starts with a {@link DataHeader}, {@code meta} holds {@link #STORE_ID}, and each blocks value
     * carries the block's CRC32C and flags.
     */
    public static final int SCHEMA_VERSION = 4;
    private static final int UPGRADABLE_SCHEMA_VERSION = 3;

    private static final ByteOrder ORDER = ByteOrder.LITTLE_ENDIAN;
    /** Null, not empty: lmdbjava 0.9.x builds a stream to mask any non-null flags array, on every put. */
    private static final PutFlags[] NO_FLAGS = null;
    private static final byte[] SCHEMA_KEY = "schema_version".getBytes(StandardCharsets.US_ASCII);

    private final Env<DirectBuffer> env;
    private final Dbi<DirectBuffer> blocks;
    private final Dbi<DirectBuffer> meta;
    private final UnsafeBuffer[] checkpointKeys = {metaKey(WAL_SEQUENCE), metaKey(WAL_POSITION), metaKey(WAL_CRC)};
    private final UnsafeBuffer checkpointValue = new UnsafeBuffer(ByteBuffer.allocateDirect(8));
    private Overlay overlay;

    /**
     * Opens (creating if needed) the index in {@code dir}.
     *
     * @param durable false adds MDB_NOMETASYNC: one flush per commit instead of two; a power loss may undo the last
     *                commits but never breaks the database's integrity (LMDB's guarantee for this flag, unlike
     *                MDB_NOSYNC). The store always opens it durable: only checkpoints write it, and they are synced.
     */
    public BlockIndex(final File dir, final long mapSize, final int maxReaders, final boolean durable)
    {
        if (!dir.isDirectory() && !dir.mkdirs())
        {
            throw new IllegalArgumentException("cannot create index directory " + dir);
        }
        final EnvFlags[] flags = durable ?
            new EnvFlags[]{EnvFlags.MDB_NOTLS} : new EnvFlags[]{EnvFlags.MDB_NOTLS, EnvFlags.MDB_NOMETASYNC};
        env = Env.create(DirectBufferProxy.PROXY_DB)
            .setMapSize(mapSize)
            .setMaxDbs(4)
            .setMaxReaders(maxReaders)
            .open(dir, flags);
        blocks = env.openDbi("blocks", DbiFlags.MDB_CREATE);
        meta = env.openDbi("meta", DbiFlags.MDB_CREATE);
        checkSchema(dir);
    }

    private BlockIndex(final File dir)
    {
        // MDB_NOLOCK: no lock.mdb is written (a read-only filesystem has none to write); the caller's shared
        // DirectoryLock is what keeps a writer out meanwhile.
        env = Env.create(DirectBufferProxy.PROXY_DB)
            .setMaxDbs(4)
            .setMaxReaders(1)
            .open(dir, EnvFlags.MDB_RDONLY_ENV, EnvFlags.MDB_NOLOCK, EnvFlags.MDB_NOTLS);
        try
        {
            blocks = env.openDbi("blocks");
            meta = env.openDbi("meta");
            final int version = schemaVersion();
            if (version != SCHEMA_VERSION && version != UPGRADABLE_SCHEMA_VERSION)
            {
                throw new IllegalStateException("index " + dir + " has schema version " + version + ", this " +
                    "version reads only " + SCHEMA_VERSION);
            }
            try (Txn<DirectBuffer> txn = env.txnRead())
            {
                if (version == UPGRADABLE_SCHEMA_VERSION && !wasClosedCleanly(txn))
                {
                    throw notUpgradable(dir); // as the server would say
                }
            }
        }
        catch (final RuntimeException e)
        {
            env.close();
            throw e;
        }
    }

    /**
     * Opens an existing index for reading only: nothing in {@code dir} is written, so that a store on a read-only
     * filesystem (a snapshot) can be checked. Hold the directory's lock, shared at least, meanwhile.
     *
     * @throws IllegalStateException when it has another schema version; lmdbjava's exceptions when it is no index.
     */
    public static BlockIndex openReadOnly(final File dir)
    {
        return new BlockIndex(dir);
    }

    private int schemaVersion()
    {
        final UnsafeBuffer key = new UnsafeBuffer(ByteBuffer.allocateDirect(SCHEMA_KEY.length));
        key.putBytes(0, SCHEMA_KEY);
        try (Txn<DirectBuffer> txn = env.txnRead())
        {
            final DirectBuffer found = meta.get(txn, key);
            return found == null || found.capacity() != 4 ? -1 : found.getInt(0, ORDER);
        }
    }

    private void checkSchema(final File dir)
    {
        final UnsafeBuffer key = new UnsafeBuffer(ByteBuffer.allocateDirect(SCHEMA_KEY.length));
        key.putBytes(0, SCHEMA_KEY);
        int version = SCHEMA_VERSION;
        try (Txn<DirectBuffer> txn = env.txnWrite())
        {
            final DirectBuffer found = meta.get(txn, key);
            if (found == null)
            {
                final UnsafeBuffer value = new UnsafeBuffer(ByteBuffer.allocateDirect(4));
                value.putInt(0, SCHEMA_VERSION, ORDER);
                meta.put(txn, key, value);
                txn.commit();
            }
            else
            {
                version = found.capacity() == 4 ? found.getInt(0, ORDER) : -1;
                if (version == UPGRADABLE_SCHEMA_VERSION && !wasClosedCleanly(txn))
                {
                    version = -UPGRADABLE_SCHEMA_VERSION;
                }
                else if (version == UPGRADABLE_SCHEMA_VERSION)
                {
                    // Written before the log existed: LMDB holds every change, so no checkpoint means no replay.
                    final UnsafeBuffer value = new UnsafeBuffer(ByteBuffer.allocateDirect(4));
                    value.putInt(0, SCHEMA_VERSION, ORDER);
                    meta.put(txn, key, value);
                    txn.commit();
                    version = SCHEMA_VERSION;
                }
            }
        }
        if (version == -UPGRADABLE_SCHEMA_VERSION)
        {
            env.close();
            throw notUpgradable(dir);
        }
        if (version != SCHEMA_VERSION)
        {
            env.close();
            throw new IllegalStateException("index " + dir + " has schema version " + version + ", this server " +
                "reads only version " + SCHEMA_VERSION + ": the store was written by another ringblocks version; " +
                "start on a new --data directory and copy the blocks over with a client");
        }
    }

    /**
     * Makes every {@link IndexReader} created after this call, and {@link #scan}, consult {@code changes} before LMDB: it
     * holds the logged changes not yet checkpointed into LMDB. Call once, before any reader is created.
     */
    public void attach(final Overlay changes)
    {
        overlay = changes;
    }

    /**
     * Records, in {@code txn}, the last write-ahead-log record whose effects the transaction completes.
     * Committer or checkpointer thread only (the value buffer is shared).
     */
    void putCheckpoint(final Txn<DirectBuffer> txn, final long sequence, final long position, final int crc)
    {
        final long[] values = {sequence, position, crc & 0xFFFF_FFFFL};
        for (int i = 0; i < values.length; i++)
        {
            checkpointValue.putLong(0, values[i], ORDER);
            meta.put(txn, checkpointKeys[i], checkpointValue, NO_FLAGS);
        }
    }

    /** Records a checkpoint in its own transaction, flushed before returning (a new log after a clean close). */
    void putCheckpointNow(final long sequence, final long position, final int crc)
    {
        try (Txn<DirectBuffer> txn = env.txnWrite())
        {
            putCheckpoint(txn, sequence, position, crc);
            txn.commit();
        }
        env.sync(true);
    }

    /** @return the last checkpoint recorded by {@link #putCheckpoint}: {sequence, position, crc}, zeros when none. */
    public long[] checkpoint()
    {
        return new long[]{metaLong(WAL_SEQUENCE, 0), metaLong(WAL_POSITION, 0), metaLong(WAL_CRC, 0)};
    }

    private static IllegalStateException notUpgradable(final File dir)
    {
        return new IllegalStateException("index " + dir + " was written by a ringblocks version before the " +
            "write-ahead log and was not shut down cleanly: start that version once on it and stop it, so that " +
            "its relaxed-mode blocks are verified, then start this one");
    }

    private boolean wasClosedCleanly(final Txn<DirectBuffer> txn)
    {
        final DirectBuffer found = meta.get(txn, metaKey(CLEAN_SHUTDOWN));
        return found == null || found.capacity() != 8 || found.getLong(0, ORDER) == 1;
    }

    /** @return a new reader for one thread; close it on that thread. */
    public IndexReader reader()
    {
        return new IndexReader(env.txnRead(), blocks, overlay == null ? null : overlay.reader());
    }

    /** @return a write transaction (committer thread only). */
    Txn<DirectBuffer> writeTxn()
    {
        return env.txnWrite();
    }

    /** @return the value stored for {@code hash} in {@code txn}, or null. */
    DirectBuffer get(final Txn<DirectBuffer> txn, final DirectBuffer hash)
    {
        return blocks.get(txn, hash);
    }

    void put(final Txn<DirectBuffer> txn, final DirectBuffer hash, final DirectBuffer value)
    {
        blocks.put(txn, hash, value, NO_FLAGS);
    }

    boolean delete(final Txn<DirectBuffer> txn, final DirectBuffer hash)
    {
        return blocks.delete(txn, hash);
    }

    /** Calls {@code visitor} for every block in the index (recovery). */
    public long forEach(final BlockVisitor visitor)
    {
        long count = 0;
        try (Txn<DirectBuffer> txn = env.txnRead(); Cursor<DirectBuffer> cursor = blocks.openCursor(txn))
        {
            boolean more = cursor.first();
            while (more)
            {
                final DirectBuffer value = cursor.val();
                visitor.visit(cursor.key(), IndexValue.offset(value), IndexValue.length(value),
                    IndexValue.sizeClass(value), IndexValue.generation(value), IndexValue.crc(value));
                count++;
                more = cursor.next();
            }
        }
        return count;
    }

    /** @return entries in the blocks database. */
    public long count()
    {
        try (Txn<DirectBuffer> txn = env.txnRead())
        {
            return blocks.stat(txn).entries;
        }
    }

    /**
     * Visits, in one read transaction, up to {@code max} entries in hash order starting after {@code after} (from
     * the first entry when null). The scrubber walks the index this way so that no snapshot is held for long.
     *
     * @return entries visited; fewer than {@code max} means the end of the index was reached.
     */
    public int scan(final DirectBuffer after, final int max, final EntryVisitor visitor)
    {
        return scan(after, max, visitor, null);
    }

    /**
     * Like {@link #scan(DirectBuffer, int, EntryVisitor)}, and copies the last key visited (also one the overlay
     * deleted, which is not passed to the visitor) into {@code lastVisited} when not null: where the next scan
     * resumes, so that a page of deleted entries still moves on.
     */
    public int scan(final DirectBuffer after, final int max, final EntryVisitor visitor,
        final MutableDirectBuffer lastVisited)
    {
        int visited = 0;
        final Overlay.Reader changes = overlay == null ? null : overlay.reader();
        try (Txn<DirectBuffer> txn = env.txnRead(); Cursor<DirectBuffer> cursor = blocks.openCursor(txn))
        {
            boolean more = after == null ? cursor.first() : cursor.get(after, org.lmdbjava.GetOp.MDB_SET_RANGE);
            if (more && after != null && sameKey(cursor.key(), after))
            {
                more = cursor.next();
            }
            while (more && visited < max)
            {
                final DirectBuffer value = cursor.val();
                // A logged change not yet checkpointed is newer than the entry here; the key still counts as visited.
                final int changed = changes == null ? Overlay.MISS : changes.lookup(cursor.key(), 0);
                if (changed == Overlay.LIVE)
                {
                    visitor.visit(cursor.key(), changes.offset(), changes.length(), changes.sizeClass(), changes.crc(),
                        changes.flags());
                }
                else if (changed == Overlay.MISS)
                {
                    visitor.visit(cursor.key(), IndexValue.offset(value), IndexValue.length(value),
                        IndexValue.sizeClass(value), IndexValue.crc(value), IndexValue.flags(value));
                }
                visited++;
                if (lastVisited != null)
                {
                    lastVisited.putBytes(0, cursor.key(), 0, KEY_LENGTH);
                }
                more = visited < max && cursor.next();
            }
        }
        return visited;
    }

    /** @return the meta value under {@code name} (a u64), or {@code otherwise} when absent. */
    public long metaLong(final String name, final long otherwise)
    {
        final UnsafeBuffer key = metaKey(name);
        try (Txn<DirectBuffer> txn = env.txnRead())
        {
            final DirectBuffer found = meta.get(txn, key);
            return found == null || found.capacity() != 8 ? otherwise : found.getLong(0, ORDER);
        }
    }

    /** Stores a u64 meta value in its own write transaction, flushed before returning when {@code flush}. */
    public void putMetaLong(final String name, final long value, final boolean flush)
    {
        putMetaLongs(new String[]{name}, new long[]{value}, flush);
    }

    /** Stores u64 meta values in one write transaction: all or none; flushed before returning when {@code flush}. */
    public void putMetaLongs(final String[] names, final long[] values, final boolean flush)
    {
        final UnsafeBuffer v = new UnsafeBuffer(ByteBuffer.allocateDirect(8));
        try (Txn<DirectBuffer> txn = env.txnWrite())
        {
            for (int i = 0; i < names.length; i++)
            {
                v.putLong(0, values[i], ORDER);
                meta.put(txn, metaKey(names[i]), v);
            }
            txn.commit();
        }
        if (flush)
        {
            env.sync(true);
        }
    }

    private static boolean sameKey(final DirectBuffer a, final DirectBuffer b)
    {
        for (int i = 0; i < KEY_LENGTH; i += 8)
        {
            if (a.getLong(i) != b.getLong(i))
            {
                return false;
            }
        }
        return true;
    }

    /** @return the meta value under {@code name} as bytes, or null when absent. */
    public byte[] metaBytes(final String name)
    {
        final UnsafeBuffer key = metaKey(name);
        try (Txn<DirectBuffer> txn = env.txnRead())
        {
            final DirectBuffer found = meta.get(txn, key);
            if (found == null)
            {
                return null;
            }
            final byte[] bytes = new byte[found.capacity()];
            found.getBytes(0, bytes);
            return bytes;
        }
    }

    /** Stores a meta value in its own write transaction and flushes it before returning. */
    public void putMetaBytes(final String name, final byte[] value)
    {
        final UnsafeBuffer key = metaKey(name);
        final UnsafeBuffer v = new UnsafeBuffer(ByteBuffer.allocateDirect(value.length));
        v.putBytes(0, value);
        try (Txn<DirectBuffer> txn = env.txnWrite())
        {
            meta.put(txn, key, v);
            txn.commit();
        }
        env.sync(true);
    }

    /** Removes the blocks entries of {@code hashes} in one transaction (recovery drops blocks it cannot trust). */
    public void deleteAll(final List<byte[]> hashes)
    {
        final UnsafeBuffer key = new UnsafeBuffer(ByteBuffer.allocateDirect(KEY_LENGTH));
        try (Txn<DirectBuffer> txn = env.txnWrite())
        {
            for (final byte[] hash : hashes)
            {
                key.putBytes(0, hash);
                blocks.delete(txn, key);
            }
            txn.commit();
        }
        env.sync(true);
    }

    private static UnsafeBuffer metaKey(final String name)
    {
        final byte[] bytes = name.getBytes(StandardCharsets.US_ASCII);
        final UnsafeBuffer key = new UnsafeBuffer(ByteBuffer.allocateDirect(bytes.length));
        key.putBytes(0, bytes);
        return key;
    }

    @Override
    public void close()
    {
        env.close();
    }

    /** Receives each indexed block during recovery. */
    @FunctionalInterface
    public interface BlockVisitor
    {
        void visit(DirectBuffer hash, long offset, int length, int sizeClass, long generation, int crc);
    }

    /** Receives each entry of a {@link #scan}; {@code hash} is valid only during the call. */
    @FunctionalInterface
    public interface EntryVisitor
    {
        void visit(DirectBuffer hash, long offset, int length, int sizeClass, int crc, int flags);
    }
}
