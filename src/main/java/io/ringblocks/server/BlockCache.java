package io.ringblocks.server;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;

import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import io.ringblocks.alloc.BuddyAllocator;
import io.ringblocks.storage.KeyMix;
import io.ringblocks.sys.LibC;

/**
 * A worker's cache of small hot blocks, so that a GET of one answers from memory: no file read, and the body is
 * sent straight from the cache entry. Blocks are immutable (content-addressed), so an entry keyed by its SHA-256
 * is never stale in content; whether the block still exists is the index's answer, asked again whenever a commit
 * since the entry's last lookup may have deleted it ({@link #validAt}). A hit is checked against the CRC32C the
 * index recorded (kept with the entry) before it is sent, like a read from the file.
 * <pre>
 *  region (anonymous mmap, backed only where entries are):  | entry | free | entry | entry | ...
 *    carved by a buddy allocator, 4 KiB .. {@link #MAX_BLOCK} per entry
 *  entries (struct of arrays, index e):  hash (32 bytes) | offset | length | size class | CRC32C | validAt | pins
 *                                         | referenced | used | listed   (on the heap: about 2 % of the region)
 *  table: open addressing over the first 8 bytes of the hash, linear probing, value e + 1 (0 = empty)
 * </pre>
 * Admission: a block is cached the second time it is read within a window (a one-bit-per-hash doorkeeper
 * cleared every few thousand first sightings), so one scan over many blocks does not flush the hot ones; once
 * the cache is full, only one in {@link #ADMIT_WHEN_FULL} such blocks displaces others, so a working set larger
 * than the cache costs few copies (it converges to the same hit rate, more slowly) instead of one per miss.
 * Eviction: CLOCK over the entries, skipping pinned ones (a response being sent from them); bounded steps per
 * admission, and a block that finds no room is simply not cached. Worker thread only; nothing allocates.
 */
final class BlockCache implements AutoCloseable
{
    /** Largest block cached: above this a GET's cost is its copies, not its per-request overhead. */
    static final int MAX_BLOCK = (int)ServerConfig.BLOCK_CACHE_UNIT;
    private static final int HASH = Operations.HASH;
    /** CLOCK steps one admission may take before it gives up. */
    private static final int MAX_STEPS = 256;
    /** A full cache takes one in this many blocks offered (each displacing others). */
    private static final int ADMIT_WHEN_FULL = 8;
    /** Entries one admission may evict before it gives up. */
    private static final int MAX_EVICTIONS = 8;
    private static final int DOORKEEPER_BITS = 1 << 16;

    private final long capacity;
    private final long base;
    private final UnsafeBuffer region;
    private final ByteBuffer view;
    private final BuddyAllocator space;
    private final UnsafeBuffer hashes;
    private final long[] offset;
    private final int[] length;
    private final int[] crc;
    /** The invalidating-commit count read before the last lookup that found the block (see {@link #validAt}). */
    private final long[] validAt;
    private final byte[] sizeClass;
    private final int[] pins;
    private final boolean[] referenced;
    private final boolean[] used;
    /** In the table (findable); a removed entry that is still pinned is used but no longer listed. */
    private final boolean[] listed;
    private final int[] freeEntries;
    private int freeCount;
    private final int[] table;
    private final int mask;
    private final long[] doorkeeper = new long[DOORKEEPER_BITS / 64];
    /** Mixed into every key: clients choose the content, so without it they could grind hashes into one probe run. */
    private final long seed = new java.security.SecureRandom().nextLong();
    private int sightings;
    private int hand;
    private long fullOffers;
    private int pinnedEntries;
    private boolean closed;
    private long bytes;

    /** @param capacity bytes of blocks: 0 (no cache) or a positive multiple of {@link #MAX_BLOCK}. */
    BlockCache(final long capacity)
    {
        if (capacity < 0 || capacity % MAX_BLOCK != 0 || capacity > Integer.MAX_VALUE)
        {
            throw new IllegalArgumentException("block cache size must be a multiple of " + MAX_BLOCK +
                " below 2 GiB: " + capacity);
        }
        this.capacity = capacity;
        final int entries = (int)(capacity / BuddyAllocator.MIN_BLOCK_SIZE);
        hashes = new UnsafeBuffer(new byte[Math.max(1, entries) * HASH]);
        offset = new long[entries];
        length = new int[entries];
        crc = new int[entries];
        validAt = new long[entries];
        sizeClass = new byte[entries];
        pins = new int[entries];
        referenced = new boolean[entries];
        used = new boolean[entries];
        listed = new boolean[entries];
        freeEntries = new int[entries];
        for (int e = 0; e < entries; e++)
        {
            freeEntries[e] = entries - 1 - e;
        }
        freeCount = entries;
        final int slots = entries == 0 ? 1 : Integer.highestOneBit(entries * 2 - 1) << 1;
        table = new int[slots];
        mask = slots - 1;
        space = capacity > 0 ? new BuddyAllocator(MAX_BLOCK, capacity) : null;
        if (space != null)
        {
            space.grow((int)(capacity / MAX_BLOCK));
        }
        // Last: nothing after it can fail and leave the mapping behind.
        base = capacity > 0 ? LibC.mapAnonymous(capacity, "block cache") : 0;
        region = capacity > 0 ? new UnsafeBuffer(base, (int)capacity) : new UnsafeBuffer(new byte[0]);
        view = capacity > 0 ? MemorySegment.ofAddress(base).reinterpret(capacity).asByteBuffer() : null;
    }

    boolean enabled()
    {
        return capacity > 0;
    }

    /** @return the entry holding the block with the 32-byte hash at {@code hashOffset}, or -1. */
    int find(final DirectBuffer hash, final int hashOffset)
    {
        final int e = probe(hash, hashOffset);
        if (e >= 0)
        {
            referenced[e] = true;
        }
        return e;
    }

    private int probe(final DirectBuffer hash, final int hashOffset)
    {
        if (capacity == 0)
        {
            return -1;
        }
        final long k = hash.getLong(hashOffset);
        for (int i = home(k); table[i] != 0; i = (i + 1) & mask)
        {
            final int e = table[i] - 1;
            if (sameHash(e, hash, hashOffset))
            {
                return e;
            }
        }
        return -1;
    }

    /** @return the native address of the entry's first byte. */
    long address(final int e)
    {
        return base + offset[e];
    }

    int length(final int e)
    {
        return length[e];
    }

    /** @return the block's CRC32C as the index recorded it. */
    int crc(final int e)
    {
        return crc[e];
    }

    /**
     * @return the count of invalidating commits read before the snapshot of the last index lookup that found this
     * block: while the count is still this, the block has not been deleted since.
     */
    long validAt(final int e)
    {
        return validAt[e];
    }

    /** An index lookup under a snapshot pinned after {@code invalidatingCommits} were counted found the block again. */
    void validate(final int e, final long invalidatingCommits)
    {
        validAt[e] = invalidatingCommits;
    }

    /** @return a view of the entry's bytes (reused: valid until the next call). */
    ByteBuffer view(final int e)
    {
        view.clear();
        view.position((int)offset[e]);
        view.limit((int)offset[e] + length[e]);
        return view;
    }

    /** A response is being sent from {@code e}: it stays until {@link #unpin}. */
    void pin(final int e)
    {
        if (pins[e]++ == 0)
        {
            pinnedEntries++;
        }
    }

    /** @return true when this freed the entry (it had been removed while a response was sent from it). */
    boolean unpin(final int e)
    {
        if (pins[e] <= 0)
        {
            throw new IllegalStateException("block cache entry " + e + " unpinned more often than pinned");
        }
        if (--pins[e] > 0)
        {
            return false;
        }
        pinnedEntries--;
        if (!listed[e])
        {
            release(e);
            return true;
        }
        return false;
    }

    /** @return entries that responses are being sent from. */
    int pinnedEntries()
    {
        return pinnedEntries;
    }

    /** Drops {@code e} (gone from the index, or bad bytes); if pinned, it is unlisted now, freed at its last unpin. */
    void remove(final int e)
    {
        unlist(e);
        referenced[e] = false;
        if (pins[e] == 0)
        {
            release(e);
        }
    }

    /**
     * A block was read and checked: cache a copy if it has been seen recently and there is room.
     *
     * @param blockCrc            its CRC32C as recorded in the index.
     * @param invalidatingCommits the count read before the lookup that found it ({@link #validAt}); odd: never
     *                            trusted without asking the index.
     * @return true when it was cached now.
     */
    boolean offer(final DirectBuffer hash, final int hashOffset, final DirectBuffer src, final int srcOffset,
        final int blockLength, final int blockCrc, final long invalidatingCommits)
    {
        if (capacity == 0 || blockLength > MAX_BLOCK || blockLength <= 0 || probe(hash, hashOffset) >= 0 ||
            firstSighting(mix(hash.getLong(hashOffset))))
        {
            return false;
        }
        final int cls = BuddyAllocator.sizeClassFor(blockLength, MAX_BLOCK);
        long at = space.allocate(cls);
        if (at < 0 && ++fullOffers % ADMIT_WHEN_FULL != 0)
        {
            return false; // full: when the blocks read outnumber the room, copying each miss in would only churn
        }
        // Entries are at least as many as 4 KiB units, so room for the bytes means a free entry too. Eviction stops
        // after a few victims: with mixed sizes the freed ones need not merge into a block of this class.
        for (int tries = 0; at < 0 && tries < MAX_EVICTIONS && evictOne(); tries++)
        {
            at = space.allocate(cls);
        }
        if (at < 0)
        {
            return false;
        }
        final int e = freeEntries[--freeCount];
        used[e] = true;
        hashes.putBytes(e * HASH, hash, hashOffset, HASH);
        offset[e] = at;
        length[e] = blockLength;
        crc[e] = blockCrc;
        validAt[e] = invalidatingCommits;
        sizeClass[e] = (byte)cls;
        pins[e] = 0;
        referenced[e] = false;
        region.putBytes((int)at, src, srcOffset, blockLength);
        bytes += BuddyAllocator.blockSize(cls);
        int i = home(keyOf(e));
        while (table[i] != 0)
        {
            i = (i + 1) & mask;
        }
        table[i] = e + 1;
        listed[e] = true;
        return true;
    }

    /** @return bytes held by cached blocks (their buddy blocks). */
    long bytes()
    {
        return bytes;
    }

    /** @return cached blocks. */
    int entries()
    {
        return length.length - freeCount;
    }

    /**
     * Checks the structure (tests): every listed entry is findable under its hash, the entries in use are the listed
     * ones plus removed ones still pinned, and the bytes counted are the allocator's.
     */
    void checkInvariants()
    {
        int inUse = 0;
        int pinned = 0;
        for (int e = 0; e < length.length; e++)
        {
            if (!used[e])
            {
                continue;
            }
            inUse++;
            pinned += pins[e] > 0 ? 1 : 0;
            if (listed[e] ? probe(hashes, e * HASH) != e : pins[e] == 0)
            {
                throw new IllegalStateException("entry " + e + (listed[e] ? " is listed but not found" :
                    " is neither listed nor pinned"));
            }
        }
        if (inUse != entries() || pinned != pinnedEntries || capacity > 0 && bytes != space.usedBytes())
        {
            throw new IllegalStateException("entries " + inUse + "/" + entries() + ", pinned " + pinned + "/" +
                pinnedEntries + ", bytes " + bytes + "/" + (capacity > 0 ? space.usedBytes() : 0));
        }
    }

    /** @return true the first time {@code k} is seen in the current window (the block is not cached yet). */
    private boolean firstSighting(final long k)
    {
        final int bit = (int)(k >>> 40) & (DOORKEEPER_BITS - 1);
        final long m = 1L << (bit & 63);
        if ((doorkeeper[bit >>> 6] & m) != 0)
        {
            return false;
        }
        doorkeeper[bit >>> 6] |= m;
        if (++sightings >= DOORKEEPER_BITS / 8)
        {
            java.util.Arrays.fill(doorkeeper, 0L); // a window, so blocks read once long ago count as new
            sightings = 0;
        }
        return true;
    }

    /**
     * One CLOCK sweep over at most {@link #MAX_STEPS} cached entries (free slots are passed over without counting).
     * @return true when an entry was freed.
     */
    private boolean evictOne()
    {
        int steps = 0;
        // Two laps at most: the first may only clear reference bits.
        for (int visited = 0; visited < 2 * length.length && steps < MAX_STEPS; visited++)
        {
            final int e = hand;
            hand = hand + 1 == length.length ? 0 : hand + 1;
            if (!used[e])
            {
                continue;
            }
            steps++;
            if (pins[e] > 0)
            {
                continue;
            }
            if (referenced[e])
            {
                referenced[e] = false;
                continue;
            }
            unlist(e);
            release(e);
            return true;
        }
        return false;
    }

    private void release(final int e)
    {
        space.free(offset[e], sizeClass[e]);
        bytes -= BuddyAllocator.blockSize(sizeClass[e]);
        used[e] = false;
        freeEntries[freeCount++] = e;
    }

    /** Takes {@code e} out of the table, shifting later entries of its probe run back (no tombstones). */
    private void unlist(final int e)
    {
        if (!listed[e])
        {
            return;
        }
        listed[e] = false;
        int i = home(keyOf(e));
        while (table[i] != e + 1)
        {
            if (table[i] == 0)
            {
                return;
            }
            i = (i + 1) & mask;
        }
        int j = i;
        while (true)
        {
            j = (j + 1) & mask;
            if (table[j] == 0)
            {
                break;
            }
            final int h = home(keyOf(table[j] - 1));
            // Move table[j] into the hole at i unless its home lies cyclically in (i, j].
            final boolean stays = i <= j ? i < h && h <= j : i < h || h <= j;
            if (!stays)
            {
                table[i] = table[j];
                i = j;
            }
        }
        table[i] = 0;
    }

    /** @return the first 8 bytes of entry {@code e}'s hash: what the table is keyed on. */
    private long keyOf(final int e)
    {
        return hashes.getLong(e * HASH);
    }

    private int home(final long k)
    {
        return (int)mix(k) & mask;
    }

    private long mix(final long k)
    {
        return KeyMix.mix(k, seed);
    }

    private boolean sameHash(final int e, final DirectBuffer hash, final int hashOffset)
    {
        final int at = e * HASH;
        return hashes.getLong(at) == hash.getLong(hashOffset) &&
            hashes.getLong(at + 8) == hash.getLong(hashOffset + 8) &&
            hashes.getLong(at + 16) == hash.getLong(hashOffset + 16) &&
            hashes.getLong(at + 24) == hash.getLong(hashOffset + 24);
    }

    @Override
    public void close()
    {
        if (capacity > 0 && !closed)
        {
            closed = true;
            LibC.munmap(base, capacity);
        }
    }
}
