package io.ringblocks.storage;

import java.io.File;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

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
 * The committer thread is the only writer; every worker thread reads through its own {@link Reader}, whose
 * read transaction is reset and renewed rather than reopened.
 * <pre>
 * blocks value, 28 bytes, little-endian:
 *  0               8           12     13     14       16                  24          28
 *  +---------------+-----------+------+------+--------+-------------------+-----------+
 *  |  file offset  |  length   |class |flags |reserved| sync generation   |  crc32c   |
 *  |     u64       |   u32     |  u8  |  u8  | (zero) |       u64         |    u32    |
 *  +---------------+-----------+------+------+--------+-------------------+-----------+
 * </pre>
 * The sync generation is 0 for blocks committed in {@code sync} mode (durable when acknowledged) and the relaxed
 * mode's flush generation otherwise: after an unclean shutdown, blocks newer than the last completed flush
 * ({@code meta/durable_generation}) are verified against their hash (see {@link Store}). The CRC32C covers the
 * block's {@code length} bytes (not the zero padding of its last page) and is checked on every read; flag
 * {@link #CORRUPT} is set by the committer when a read failed that check, until a PUT of the same content
 * replaces the entry.
 */
public final class BlockIndex implements AutoCloseable
{
    public static final int KEY_LENGTH = 32;
    public static final int VALUE_LENGTH = 28;
    public static final int OFFSET_OFFSET = 0;
    public static final int LENGTH_OFFSET = 8;
    public static final int CLASS_OFFSET = 12;
    public static final int FLAGS_OFFSET = 13;
    public static final int GENERATION_OFFSET = 16;
    public static final int CRC_OFFSET = 24;
    /** Flag bit: a read of this block failed its CRC32C check; GETs answer CORRUPT until a PUT heals it. */
    public static final int CORRUPT = 1;
    /** Meta key: 1 after a graceful close, 0 while open. */
    public static final String CLEAN_SHUTDOWN = "clean_shutdown";
    /** Meta key: the newest relaxed-mode generation whose blocks and index entries were flushed. */
    public static final String DURABLE_GENERATION = "durable_generation";
    /** Meta key: the 16-byte id of the store, the same as in the data file's header ({@link DataHeader}). */
    public static final String STORE_ID = "store_id";
    /** Meta key: how many times the store was opened, the same as in the data file's header ({@link DataHeader}). */
    public static final String OPEN_SEQUENCE = "open_sequence";
    /**
     * 3: the data file starts with a {@link DataHeader}, {@code meta} holds {@link #STORE_ID}, and each blocks value
     * carries the block's CRC32C and flags.
     */
    public static final int SCHEMA_VERSION = 3;

    private static final ByteOrder ORDER = ByteOrder.LITTLE_ENDIAN;
    private static final PutFlags[] NO_FLAGS = new PutFlags[0];
    private static final byte[] SCHEMA_KEY = "schema_version".getBytes(StandardCharsets.US_ASCII);

    private final Env<DirectBuffer> env;
    private final Dbi<DirectBuffer> blocks;
    private final Dbi<DirectBuffer> meta;

    /**
     * Opens (creating if needed) the index in {@code dir}.
     *
     * @param durable false adds MDB_NOMETASYNC (relaxed mode): one flush per commit instead of two; a power loss
     *                may undo the last commits but never breaks the database's integrity (LMDB's guarantee for this
     *                flag, unlike MDB_NOSYNC). The committer also syncs periodically with {@link #sync()}.
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

    private void checkSchema(final File dir)
    {
        final UnsafeBuffer key = new UnsafeBuffer(java.nio.ByteBuffer.allocateDirect(SCHEMA_KEY.length));
        key.putBytes(0, SCHEMA_KEY);
        int version = SCHEMA_VERSION;
        try (Txn<DirectBuffer> txn = env.txnWrite())
        {
            final DirectBuffer found = meta.get(txn, key);
            if (found == null)
            {
                final UnsafeBuffer value = new UnsafeBuffer(java.nio.ByteBuffer.allocateDirect(4));
                value.putInt(0, SCHEMA_VERSION, ORDER);
                meta.put(txn, key, value);
                txn.commit();
            }
            else
            {
                version = found.capacity() == 4 ? found.getInt(0, ORDER) : -1;
            }
        }
        if (version != SCHEMA_VERSION)
        {
            env.close();
            throw new IllegalStateException("index " + dir + " has schema version " + version + ", this server " +
                "reads only version " + SCHEMA_VERSION + ": the store was written by another ringblocks version; " +
                "start on a new --data directory and copy the blocks over with a client");
        }
    }

    /** @return a new reader for one thread; close it on that thread. */
    public Reader reader()
    {
        return new Reader();
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

    /** Flushes commits made under MDB_NOMETASYNC (relaxed mode). */
    public void sync()
    {
        env.sync(true);
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
                visitor.visit(cursor.key(), offset(value), length(value), sizeClass(value), generation(value),
                    crc(value));
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

    static void encode(
        final MutableDirectBuffer value,
        final long offset,
        final int length,
        final int sizeClass,
        final long generation,
        final int crc,
        final int flags)
    {
        value.putLong(OFFSET_OFFSET, offset, ORDER);
        value.putInt(LENGTH_OFFSET, length, ORDER);
        value.putInt(CLASS_OFFSET, (sizeClass & 0xFF) | (flags & 0xFF) << 8, ORDER); // reserved bytes zeroed too
        value.putLong(GENERATION_OFFSET, generation, ORDER);
        value.putInt(CRC_OFFSET, crc, ORDER);
    }

    static int crc(final DirectBuffer value)
    {
        return value.getInt(CRC_OFFSET, ORDER);
    }

    static int flags(final DirectBuffer value)
    {
        return value.getByte(FLAGS_OFFSET) & 0xFF;
    }

    /**
     * Visits, in one read transaction, up to {@code max} entries in hash order starting after {@code after} (from
     * the first entry when null). The scrubber walks the index this way so that no snapshot is held for long.
     *
     * @return entries visited; fewer than {@code max} means the end of the index was reached.
     */
    public int scan(final DirectBuffer after, final int max, final EntryVisitor visitor)
    {
        int visited = 0;
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
                visitor.visit(cursor.key(), offset(value), length(value), sizeClass(value), crc(value), flags(value));
                visited++;
                more = visited < max && cursor.next();
            }
        }
        return visited;
    }

    static long generation(final DirectBuffer value)
    {
        return value.getLong(GENERATION_OFFSET, ORDER);
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
        final UnsafeBuffer key = metaKey(name);
        final UnsafeBuffer v = new UnsafeBuffer(java.nio.ByteBuffer.allocateDirect(8));
        v.putLong(0, value, ORDER);
        try (Txn<DirectBuffer> txn = env.txnWrite())
        {
            meta.put(txn, key, v);
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
        final UnsafeBuffer v = new UnsafeBuffer(java.nio.ByteBuffer.allocateDirect(value.length));
        v.putBytes(0, value);
        try (Txn<DirectBuffer> txn = env.txnWrite())
        {
            meta.put(txn, key, v);
            txn.commit();
        }
        env.sync(true);
    }

    /** Removes the blocks entries of {@code hashes} in one transaction (recovery drops blocks it cannot trust). */
    public void deleteAll(final java.util.List<byte[]> hashes)
    {
        final UnsafeBuffer key = new UnsafeBuffer(java.nio.ByteBuffer.allocateDirect(KEY_LENGTH));
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
        final UnsafeBuffer key = new UnsafeBuffer(java.nio.ByteBuffer.allocateDirect(bytes.length));
        key.putBytes(0, bytes);
        return key;
    }

    static long offset(final DirectBuffer value)
    {
        return value.getLong(OFFSET_OFFSET, ORDER);
    }

    static int length(final DirectBuffer value)
    {
        return value.getInt(LENGTH_OFFSET, ORDER);
    }

    static int sizeClass(final DirectBuffer value)
    {
        return value.getByte(CLASS_OFFSET) & 0xFF;
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

    /**
     * One thread's view of the index: {@link #lookup} renews the read transaction lazily so each batch of lookups
     * sees the latest committed snapshot, and {@link #release()} resets it so LMDB can reuse pages.
     */
    public final class Reader implements AutoCloseable
    {
        private final Txn<DirectBuffer> txn = env.txnRead();
        private final UnsafeBuffer key = new UnsafeBuffer(java.nio.ByteBuffer.allocateDirect(KEY_LENGTH));
        private boolean active = true;
        private long offset;
        private int length;
        private int sizeClass;
        private int crc;
        private int flags;

        private Reader()
        {
        }

        /**
         * Looks {@code hash} up in a fresh snapshot unless one is already active (call {@link #release()} to end
         * it). On success, {@link #offset()}, {@link #length()} and {@link #sizeClass()} describe the block.
         */
        public boolean lookup(final DirectBuffer hash, final int hashOffset)
        {
            if (!active)
            {
                txn.renew();
                active = true;
            }
            key.putBytes(0, hash, hashOffset, KEY_LENGTH);
            final DirectBuffer value = blocks.get(txn, key);
            if (value == null)
            {
                return false;
            }
            offset = BlockIndex.offset(value);
            length = BlockIndex.length(value);
            sizeClass = BlockIndex.sizeClass(value);
            crc = BlockIndex.crc(value);
            flags = BlockIndex.flags(value);
            return true;
        }

        /** Ends the current snapshot; the next lookup renews it. */
        public void release()
        {
            if (active)
            {
                txn.reset();
                active = false;
            }
        }

        public long offset()
        {
            return offset;
        }

        public int length()
        {
            return length;
        }

        public int sizeClass()
        {
            return sizeClass;
        }

        /** @return the block's CRC32C, recorded at PUT time. */
        public int crc()
        {
            return crc;
        }

        /** @return true when a read of the block failed its CRC32C check (flag {@link BlockIndex#CORRUPT}). */
        public boolean corrupt()
        {
            return (flags & CORRUPT) != 0;
        }

        @Override
        public void close()
        {
            txn.close();
        }
    }
}
