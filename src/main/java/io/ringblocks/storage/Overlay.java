package io.ringblocks.storage;

import java.lang.invoke.VarHandle;
import java.security.SecureRandom;

import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import io.ringblocks.sys.Errno;
import io.ringblocks.sys.LibC;

/**
 * Index changes not yet applied to LMDB: two off-heap open-addressing tables (linear probing) of 64-byte slots
 * keyed by the 32-byte SHA-256. One writer thread (the committer) inserts into the <em>active</em> table; the
 * checkpointer applies the <em>frozen</em> one to LMDB while readers still find it; any number of reader threads
 * look a hash up here before LMDB, lock-free and allocation-free.
 * <pre>
 * slot, 64 bytes, one cache line (native byte order):
 *  0                                32         40        44        48                  52        56           64
 *  +--------------------------------+----------+---------+---------+-------------------+---------+------------+
 *  | key: the block's SHA-256       | offset   | length  | crc32c  | word: class bits  | zero    | sequence   |
 *  | 32 bytes                       | u64      | i32     | i32     | 0-7, flags 8-15,  |         | u64        |
 *  |                                |          |         |         | state 16-23       |         | (seqlock)  |
 *  +--------------------------------+----------+---------+---------+-------------------+---------+------------+
 * </pre>
 * state: 0 empty (an all-zero page), {@link #LIVE}, {@link #DELETED} (a tombstone, value fields zero). A slot is
 * never emptied again and its key never changes: tables are only cleared whole ({@link #reclaimUnlinked()}), so a
 * probe that reaches an empty slot has proven the key absent, and an all-zero key never matches an empty slot
 * because the state is compared, not the key alone.
 * <p>
 * Home slot: murmur3's fmix64 of (the key's first 8 bytes XOR a random per-instance seed), masked. The keys are
 * hashes of client content, so without the seed a client could grind hashes that all land in one probe cluster.
 * (Keys that share their first 8 bytes share a home slot whatever the seed, but finding many such SHA-256 hashes
 * takes a multi-collision on 64 bits.)
 * <p>
 * Table life cycle (the two tables swap roles; {@code phase} records which is active and what the other one is):
 * <pre>
 *   clear --freeze()--&gt; active --freeze()--&gt; frozen --unlinkFrozen()--&gt; unlinked --reclaimUnlinked()--&gt; clear
 *          (other one)            (this one)   readers look   readers no longer       madvise(DONTNEED):
 *                                              after active   look; may be inside     zero pages, no RSS
 * </pre>
 * {@code freeze()} needs the other table clear; it then makes the active table frozen and the clear one active in
 * a single volatile write of {@code phase}. The writer calls {@code unlinkFrozen()} once LMDB holds the frozen
 * entries and every reader's LMDB snapshot is newer, and {@code reclaimUnlinked()} once no reader can still be in
 * the unlinked table (a grace period the caller provides, e.g. reader epochs). Readers read {@code phase} with a
 * volatile read, so a grace period built on a volatile "I am inside" write by the reader and a volatile read of it by
 * the writer after {@code unlinkFrozen()} is sequentially consistent with it (no store-load reordering).
 * <p>
 * Reader protocol, a seqlock per slot: the writer makes the slot's sequence odd (opaque store, then a store-store
 * fence so no field write moves above it), writes the fields, then makes it even with a release store. A reader
 * reads the sequence with acquire, reads the fields, issues a load-load fence and re-reads the sequence; it uses
 * what it read only when both reads are the same even number. An even sequence read with acquire means every field
 * write of that version happened before; the fence keeps the field reads before the second read, so an unchanged
 * sequence means no writer store came between them: the fields are one version, never a mix of two puts. Why per
 * slot rather than per table: a table-wide sequence is a cache line written by every put and read by every lookup
 * (it would bounce between the committer's core and every worker's), and a writer preempted while it is odd would
 * stall every lookup; per slot, the sequence shares the line the put writes anyway and a stalled writer delays only
 * lookups probing through that one slot. Such a reader spins with {@link Thread#onSpinWait()} and yields after
 * {@link #SPINS_BEFORE_YIELD} tries. The frozen table is immutable; readers use the same protocol there (it always
 * succeeds at once) and the checkpointer ({@link #forEachFrozen}) none.
 * <p>
 * Clearing a table resets its sequences to 0, so a reader stalled inside a slot across an unlink, a reclaim, a
 * freeze and a new put of that slot could see equal sequences around a mix of the old and the new entry. Two
 * defences: {@link #reclaimUnlinked()} is only called once no reader can still be inside the table (the caller's
 * grace period), and a fresh slot's sequence starts at the table's clear count shifted left by 32, never at a
 * value a reader could have read before the clear. A reader that reads a table while it is cleared sees empty
 * slots, which are misses; the unlink condition makes LMDB answer those correctly.
 * <p>
 * Memory: one private anonymous mapping for both tables; pages are only touched as slots fill, and a reclaimed table
 * gives its pages back. {@link #close()} unmaps it and must only be called when no thread uses the overlay any more.
 */
public final class Overlay implements AutoCloseable
{
    public static final int MISS = 0;
    public static final int LIVE = 1;
    public static final int DELETED = 2;

    public static final int KEY_LENGTH = 32;
    public static final int SLOT_LENGTH = 64;
    public static final int MIN_SLOTS = 1024;
    /** Keeps one table within an {@link UnsafeBuffer}'s int capacity: 2^24 slots of 64 bytes = 1 GiB. */
    public static final int MAX_SLOTS = 1 << 24;
    static final int OFFSET_OFFSET = 32;
    static final int LENGTH_OFFSET = 40;
    static final int CRC_OFFSET = 44;
    static final int WORD_OFFSET = 48;
    static final int SEQUENCE_OFFSET = 56;
    static final int SPINS_BEFORE_YIELD = 64;

    private static final int SLOT_SHIFT = 6;
    private static final int EMPTY = 0;
    private static final int STATE_SHIFT = 16;
    private static final int ACTIVE_MASK = 1;
    private static final int OTHER_MASK = 6;
    private static final int OTHER_CLEAR = 0;
    private static final int OTHER_FROZEN = 2;
    private static final int OTHER_UNLINKED = 4;
    private static final int CLOSED = -1;

    /** Visits one entry of the frozen table; {@code hash} is a view of the table, valid during the call only. */
    @FunctionalInterface
    public interface FrozenVisitor
    {
        void visit(
            DirectBuffer hash,
            int hashOffset,
            boolean live,
            long offset,
            int length,
            int sizeClass,
            int crc,
            int flags);
    }

    private final int slots;
    private final int mask;
    private final int maxEntries;
    private final long seed;
    private final long address;
    private final long mappingLength;
    private final UnsafeBuffer table0;
    private final UnsafeBuffer table1;
    // Written by the writer only; other threads read them after reading phase, which was written after them.
    private int entries0;
    private int entries1;
    // Writer only: how many times each table was cleared.
    private long generation0;
    private long generation1;
    /** Bit 0: index of the active table; bits 1-2: the other table's state; {@link #CLOSED} after close. */
    private volatile int phase;

    /** @param slotsPerTable power of two, >= 1024; two tables of this many 64-byte slots. */
    public Overlay(final int slotsPerTable)
    {
        this(slotsPerTable, new SecureRandom().nextLong());
    }

    Overlay(final int slotsPerTable, final long seed)
    {
        if (slotsPerTable < MIN_SLOTS || slotsPerTable > MAX_SLOTS || Integer.bitCount(slotsPerTable) != 1)
        {
            throw new IllegalArgumentException("slots per table must be a power of two in " + MIN_SLOTS + ".." +
                MAX_SLOTS + ": " + slotsPerTable);
        }
        slots = slotsPerTable;
        mask = slotsPerTable - 1;
        maxEntries = slotsPerTable / 4 * 3;
        this.seed = seed;
        final int tableLength = slotsPerTable * SLOT_LENGTH;
        mappingLength = 2L * tableLength;
        address = LibC.mmap(mappingLength, LibC.PROT_READ | LibC.PROT_WRITE, LibC.MAP_PRIVATE | LibC.MAP_ANONYMOUS,
            -1, 0);
        if (address < 0)
        {
            throw new IllegalStateException("cannot map " + mappingLength + " bytes for the index overlay: " +
                Errno.describe((int)address));
        }
        table0 = new UnsafeBuffer(address, tableLength);
        table1 = new UnsafeBuffer(address + tableLength, tableLength);
        phase = 0;
    }

    public int slotsPerTable()
    {
        return slots;
    }

    /** @return keys one table may hold: three quarters of its slots, so every probe meets an empty slot soon. */
    public int maxEntries()
    {
        return maxEntries;
    }

    /**
     * Inserts or overwrites a live entry in the active table (writer thread only).
     *
     * @throws IllegalStateException    when the key is not in the active table and {@link #room()} is 0.
     * @throws IllegalArgumentException when {@code sizeClass} or {@code flags} do not fit in a byte.
     */
    public void put(
        final DirectBuffer hash,
        final int hashOffset,
        final long offset,
        final int length,
        final int sizeClass,
        final int crc,
        final int flags)
    {
        if ((sizeClass & ~0xFF) != 0 || (flags & ~0xFF) != 0)
        {
            throw new IllegalArgumentException("size class and flags must fit in a byte: " + sizeClass + ", " + flags);
        }
        write(hash, hashOffset, LIVE, offset, length, sizeClass | flags << 8, crc);
    }

    /** Inserts or overwrites a tombstone in the active table (writer thread only); throws as {@link #put} does. */
    public void delete(final DirectBuffer hash, final int hashOffset)
    {
        write(hash, hashOffset, DELETED, 0, 0, 0, 0);
    }

    private void write(
        final DirectBuffer hash,
        final int hashOffset,
        final int state,
        final long offset,
        final int length,
        final int classAndFlags,
        final int crc)
    {
        final int active = openPhase() & ACTIVE_MASK;
        final UnsafeBuffer table = active == 0 ? table0 : table1;
        hash.boundsCheck(hashOffset, KEY_LENGTH);
        final long k0 = hash.getLong(hashOffset);
        final long k1 = hash.getLong(hashOffset + 8);
        final long k2 = hash.getLong(hashOffset + 16);
        final long k3 = hash.getLong(hashOffset + 24);
        final int at = writerSlot(table, k0, k1, k2, k3) << SLOT_SHIFT;
        final boolean fresh = table.getInt(at + WORD_OFFSET) >>> STATE_SHIFT == EMPTY;
        final int entries = active == 0 ? entries0 : entries1;
        if (fresh && entries == maxEntries)
        {
            throw new IllegalStateException("the active overlay table is full (" + maxEntries +
                " keys): freeze it before adding a new key");
        }

        // A clear table's sequences read 0: a fresh slot starts at its table's generation instead, so a reader that
        // read the slot before the clear cannot see the same sequence again after it (no ABA).
        final long sequence = fresh ?
            (active == 0 ? generation0 : generation1) << 32 : table.getLong(at + SEQUENCE_OFFSET);
        table.putLongOpaque(at + SEQUENCE_OFFSET, sequence + 1);
        VarHandle.storeStoreFence();
        if (fresh)
        {
            table.putLong(at, k0);
            table.putLong(at + 8, k1);
            table.putLong(at + 16, k2);
            table.putLong(at + 24, k3);
        }
        table.putLong(at + OFFSET_OFFSET, offset);
        table.putInt(at + LENGTH_OFFSET, length);
        table.putInt(at + CRC_OFFSET, crc);
        table.putInt(at + WORD_OFFSET, classAndFlags | state << STATE_SHIFT);
        if (fresh)
        {
            // Counted before the slot is published: a reader that sees the slot (a dedup hit acknowledges a PUT
            // before any epoch moves) must also see a count that lets its later lookups probe the table.
            if (active == 0)
            {
                entries0 = entries + 1;
            }
            else
            {
                entries1 = entries + 1;
            }
        }
        table.putLongRelease(at + SEQUENCE_OFFSET, sequence + 2);
    }

    /** The writer's probe: nobody else writes, so no seqlock. @return the slot holding the key, or the empty one. */
    private int writerSlot(final UnsafeBuffer table, final long k0, final long k1, final long k2, final long k3)
    {
        int slot = home(k0);
        for (int probes = 0; probes < slots; probes++)
        {
            final int at = slot << SLOT_SHIFT;
            if (table.getInt(at + WORD_OFFSET) >>> STATE_SHIFT == EMPTY ||
                (table.getLong(at) == k0 && table.getLong(at + 8) == k1 &&
                    table.getLong(at + 16) == k2 && table.getLong(at + 24) == k3))
            {
                return slot;
            }
            slot = (slot + 1) & mask;
        }
        throw new IllegalStateException("overlay table has no empty slot, which its load limit rules out");
    }

    /** For tests: the seqlock sequence of the key's slot in the active table (0 for a key not in it). */
    long activeSequence(final DirectBuffer hash, final int hashOffset)
    {
        final UnsafeBuffer table = (openPhase() & ACTIVE_MASK) == 0 ? table0 : table1;
        final int at = writerSlot(table, hash.getLong(hashOffset), hash.getLong(hashOffset + 8),
            hash.getLong(hashOffset + 16), hash.getLong(hashOffset + 24)) << SLOT_SHIFT;
        return table.getLong(at + SEQUENCE_OFFSET);
    }

    private int home(final long firstKeyBytes)
    {
        return (int)KeyMix.mix(firstKeyBytes, seed) & mask;
    }

    /** @return keys that can still be added to the active table (overwrites of a key already in it are free). */
    public int room()
    {
        return maxEntries - activeEntries();
    }

    public int activeEntries()
    {
        return (openPhase() & ACTIVE_MASK) == 0 ? entries0 : entries1;
    }

    /** @return true when the other table is clear (no frozen or unlinked table), so {@link #freeze()} may run. */
    public boolean canFreeze()
    {
        return (openPhase() & OTHER_MASK) == OTHER_CLEAR;
    }

    /** @return true when a frozen table exists that is not yet unlinked. */
    public boolean hasFrozen()
    {
        return (openPhase() & OTHER_MASK) == OTHER_FROZEN;
    }

    /**
     * The active table becomes frozen (readers look in it after the new active one) and the clear table becomes
     * active, in one volatile write, so every entry of the frozen table is visible to whoever sees it frozen.
     *
     * @throws IllegalStateException unless {@link #canFreeze()}.
     */
    public void freeze()
    {
        final int current = openPhase();
        if ((current & OTHER_MASK) != OTHER_CLEAR)
        {
            throw new IllegalStateException("cannot freeze: the other overlay table is " + otherName(current));
        }
        phase = ((current & ACTIVE_MASK) ^ 1) | OTHER_FROZEN;
    }

    /** Readers stop looking in the frozen table; it stays readable for those still inside it. */
    public void unlinkFrozen()
    {
        final int current = openPhase();
        if ((current & OTHER_MASK) != OTHER_FROZEN)
        {
            throw new IllegalStateException("cannot unlink: the other overlay table is " + otherName(current));
        }
        phase = (current & ACTIVE_MASK) | OTHER_UNLINKED;
    }

    /** Clears the unlinked table (its pages go back to the kernel) so a later freeze can use it. */
    public void reclaimUnlinked()
    {
        final int current = openPhase();
        if ((current & OTHER_MASK) != OTHER_UNLINKED)
        {
            throw new IllegalStateException("cannot reclaim: the other overlay table is " + otherName(current));
        }
        final int other = (current & ACTIVE_MASK) ^ 1;
        final UnsafeBuffer table = other == 0 ? table0 : table1;
        final int rc = LibC.madvise(table.addressOffset(), table.capacity(), LibC.MADV_DONTNEED);
        if (rc < 0)
        {
            throw new IllegalStateException("cannot clear an overlay table: madvise " + Errno.describe(rc));
        }
        if (other == 0)
        {
            entries0 = 0;
            generation0++;
        }
        else
        {
            entries1 = 0;
            generation1++;
        }
        phase = current & ACTIVE_MASK;
    }

    /** @return entries of the table frozen last, until it is reclaimed; 0 when the other table is clear. */
    public int frozenEntries()
    {
        final int current = openPhase();
        if ((current & OTHER_MASK) == OTHER_CLEAR)
        {
            return 0;
        }
        return (current & ACTIVE_MASK) == 0 ? entries1 : entries0;
    }

    /**
     * Visits every entry of the frozen table, in slot order; any thread, between freeze and reclaim (the table is
     * immutable then, so no seqlock).
     *
     * @return entries visited.
     * @throws IllegalStateException when there is no frozen or unlinked table.
     */
    public int forEachFrozen(final FrozenVisitor visitor)
    {
        final int current = openPhase();
        if ((current & OTHER_MASK) == OTHER_CLEAR)
        {
            throw new IllegalStateException("no frozen overlay table");
        }
        final UnsafeBuffer table = (current & ACTIVE_MASK) == 0 ? table1 : table0;
        int visited = 0;
        for (int slot = 0; slot < slots; slot++)
        {
            final int at = slot << SLOT_SHIFT;
            final int word = table.getInt(at + WORD_OFFSET);
            final int state = word >>> STATE_SHIFT;
            if (state != EMPTY)
            {
                visitor.visit(table, at, state == LIVE, table.getLong(at + OFFSET_OFFSET),
                    table.getInt(at + LENGTH_OFFSET), word & 0xFF, table.getInt(at + CRC_OFFSET), (word >>> 8) & 0xFF);
                visited++;
            }
        }
        return visited;
    }

    /** @return a reader for one thread. */
    public Reader reader()
    {
        openPhase();
        return new Reader();
    }

    private int openPhase()
    {
        final int current = phase;
        if (current == CLOSED)
        {
            throw new IllegalStateException("overlay is closed");
        }
        return current;
    }

    private static String otherName(final int phase)
    {
        return switch (phase & OTHER_MASK)
        {
            case OTHER_CLEAR -> "clear";
            case OTHER_FROZEN -> "frozen";
            default -> "unlinked";
        };
    }

    /** Unmaps both tables; only when no thread uses the overlay any more (a reader inside would fault). */
    @Override
    public void close()
    {
        if (phase != CLOSED)
        {
            phase = CLOSED;
            LibC.munmap(address, mappingLength);
        }
    }

    /** A thread's lookups: lock-free, allocation-free; the last LIVE entry found is kept in its fields. */
    public final class Reader
    {
        private long offset;
        private int length;
        private int sizeClass;
        private int crc;
        private int flags;

        private Reader()
        {
        }

        /**
         * Looks in the active table, then in the frozen one (if linked).
         *
         * @return {@link #MISS}, {@link #LIVE} or {@link #DELETED}. On LIVE the accessors describe the entry.
         */
        public int lookup(final DirectBuffer hash, final int hashOffset)
        {
            final int current = openPhase();
            hash.boundsCheck(hashOffset, KEY_LENGTH);
            final int active = current & ACTIVE_MASK;
            final boolean frozen = (current & OTHER_MASK) == OTHER_FROZEN;
            // Empty tables (no writes since the last checkpoint) answer without touching them: a probe is a cache
            // and TLB miss in a table of megabytes. The counts, like the slots, were written before the epoch that
            // published them, and readers look after pinning an epoch.
            if ((active == 0 ? entries0 : entries1) == 0 && (!frozen || (active == 0 ? entries1 : entries0) == 0))
            {
                return MISS;
            }
            final long k0 = hash.getLong(hashOffset);
            final long k1 = hash.getLong(hashOffset + 8);
            final long k2 = hash.getLong(hashOffset + 16);
            final long k3 = hash.getLong(hashOffset + 24);
            final int home = home(k0);
            final int result = find(active == 0 ? table0 : table1, home, k0, k1, k2, k3);
            if (result != MISS || !frozen)
            {
                return result;
            }
            return find(active == 0 ? table1 : table0, home, k0, k1, k2, k3);
        }

        private int find(
            final UnsafeBuffer table, final int home, final long k0, final long k1, final long k2, final long k3)
        {
            int slot = home;
            int spins = 0;
            int probes = 0;
            while (probes < slots)
            {
                final int at = slot << SLOT_SHIFT;
                final long before = table.getLongAcquire(at + SEQUENCE_OFFSET);
                final int word = table.getInt(at + WORD_OFFSET);
                final boolean match = table.getLong(at) == k0 && table.getLong(at + 8) == k1 &&
                    table.getLong(at + 16) == k2 && table.getLong(at + 24) == k3;
                final long foundOffset = table.getLong(at + OFFSET_OFFSET);
                final int foundLength = table.getInt(at + LENGTH_OFFSET);
                final int foundCrc = table.getInt(at + CRC_OFFSET);
                VarHandle.loadLoadFence();
                if ((before & 1) != 0 || before != table.getLongVolatile(at + SEQUENCE_OFFSET))
                {
                    // A put of this slot is in progress or came between the reads: read the same slot again.
                    if (++spins < SPINS_BEFORE_YIELD)
                    {
                        Thread.onSpinWait();
                    }
                    else
                    {
                        Thread.yield();
                    }
                    continue;
                }
                final int state = word >>> STATE_SHIFT;
                if (state == EMPTY)
                {
                    return MISS;
                }
                if (match)
                {
                    if (state == LIVE)
                    {
                        offset = foundOffset;
                        length = foundLength;
                        crc = foundCrc;
                        sizeClass = word & 0xFF;
                        flags = (word >>> 8) & 0xFF;
                    }
                    return state;
                }
                slot = (slot + 1) & mask;
                probes++;
            }
            return MISS;
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

        public int crc()
        {
            return crc;
        }

        public int flags()
        {
            return flags;
        }
    }
}
