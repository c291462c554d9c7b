package io.ringblocks.alloc;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

import io.ringblocks.sys.LibC;

/**
 * A binary buddy allocator over the byte offsets of one data file. Blocks are powers of two from 4 KiB
 * (size class 0) up to {@code maxBlockSize} (the max class, 1 MiB = class 8 by default), and every block is
 * aligned to its own size, so O_DIRECT I/O on a block never straddles an alignment boundary and a block's buddy
 * is found by flipping one bit of its offset. The file is a row of chunks of {@code maxBlockSize} each; chunks
 * are the top-level blocks and never merge with each other, which is what lets the file grow by appending
 * chunks. Only the caller extends the file: {@link #allocate} never grows; when nothing fits the caller extends
 * the file and then hands the new chunks over with {@link #grow}.
 * <pre>
 *  chunk 0                                                         chunk 1          chunk 2 ...
 * +---------------------------------------------------------------+----------------+------
 * |                     class 8 (1 MiB)                           |    class 8     |
 * +-------------------------------+-------------------------------+----------------+------
 * |        class 7 (512 KiB)      |  class 7, buddy = off ^ 512K  |
 * +---------------+---------------+-------------------------------+
 * | class 6       | class 6       |            . . .
 * +-------+-------+---------------+
 *   . . . down to class 0 (4 KiB), buddy = off ^ 4K
 *
 *  after allocate(0) on an empty chunk, one free buddy remains per class (A = allocated, F = free):
 *  0    4K   8K      16K             32K                  512K                                  1M
 * +----+----+-------+---------------+-------- . . . ------+-------------------------------------+
 * |A c0|F c0|  F c1 |     F c2      |                     |                F c7                 |
 * +----+----+-------+---------------+-------- . . . ------+-------------------------------------+
 * </pre>
 * Freeing merges a block with its buddy while the buddy is a free block of the same class, so the free blocks
 * are always the coarsest possible cover of the free space: a free region aligned to a block size always
 * satisfies an allocation of that size, and the free set is a function of the live set alone (which is why
 * {@link #markAllocated} can rebuild the exact state after a crash).
 * <p>
 * State is kept per 4 KiB unit so that the hot path allocates nothing and every operation is O(classes):
 * a tag byte on the first unit of every free or allocated block (its class and whether it is free; catches
 * double, misaligned and wrong-class frees) and an intrusive doubly linked free list per class threaded through
 * an array of ints: a free block keeps its next link in its first unit's slot and its prev link in the slot of
 * unit {@code first ^ 1}, which is its own second unit, or, for a free 4 KiB block, its buddy, which is then
 * necessarily allocated and has no use for the slot. That is about 5 bytes per 4 KiB of file (80 MiB for a
 * 64 GiB file). Both live in address space reserved once for the whole capacity, outside the Java heap, and opened
 * as the file grows: memory is committed only for the grown file, growing never copies, and a large
 * {@code --max-size} cannot run the heap out of memory at some later growth.
 * <p>
 * Not thread-safe: callers serialise all calls (a short {@code synchronized} around each call is the plan).
 */
public final class BuddyAllocator
{
    public static final int MIN_BLOCK_SIZE = 4096;
    public static final int DEFAULT_MAX_BLOCK_SIZE = 1 << 20;
    /** The largest class any allocator accepts: 4 KiB << 18 = 1 GiB keeps a block size in an int. */
    public static final int MAX_SIZE_CLASS = 18;

    private static final int UNIT_SHIFT = 12;
    private static final int NONE = -1;
    private static final int FREE = 0x20;
    private static final int ALLOCATED = 0x40;

    private final int maxClass;
    private final int capacityUnits;
    private final int linkShift;
    private final int[] heads;
    private final long[] freeCounts;
    private final long[] allocatedCounts;
    private final MemorySegment tags;
    private final MemorySegment links;
    private int fileUnits;
    private long usedBytes;

    /** An allocator with 1 MiB chunks; see {@link #BuddyAllocator(int, long)}. */
    public BuddyAllocator(final long capacityBytes)
    {
        this(DEFAULT_MAX_BLOCK_SIZE, capacityBytes);
    }

    /**
     * Creates an allocator over an empty file; call {@link #grow} to add chunks.
     *
     * @param maxBlockSize  the largest block and the chunk size: a power of two in 4 KiB..1 GiB.
     * @param capacityBytes the most the file may grow to: a positive multiple of {@code maxBlockSize}, at most
     *                      4 TiB (2 TiB with 4 KiB chunks) so unit indexes and link slots stay ints.
     */
    public BuddyAllocator(final int maxBlockSize, final long capacityBytes)
    {
        if (maxBlockSize < MIN_BLOCK_SIZE || Integer.bitCount(maxBlockSize) != 1 ||
            maxBlockSize > MIN_BLOCK_SIZE << MAX_SIZE_CLASS)
        {
            throw new IllegalArgumentException("maxBlockSize must be a power of two in 4096..1 GiB: " + maxBlockSize);
        }
        maxClass = Integer.numberOfTrailingZeros(maxBlockSize) - UNIT_SHIFT;
        // With 4 KiB chunks a free block has no buddy to lend its prev slot, so links get two slots per unit.
        linkShift = maxClass == 0 ? 1 : 0;
        if (capacityBytes <= 0 || capacityBytes % maxBlockSize != 0 ||
            capacityBytes >>> UNIT_SHIFT > 1L << (30 - linkShift))
        {
            throw new IllegalArgumentException(
                "capacityBytes must be a positive multiple of " + maxBlockSize + " up to 4 TiB: " + capacityBytes);
        }
        capacityUnits = (int)(capacityBytes >>> UNIT_SHIFT);
        heads = new int[maxClass + 1];
        Arrays.fill(heads, NONE);
        freeCounts = new long[maxClass + 1];
        allocatedCounts = new long[maxClass + 1];
        tags = reserve(capacityUnits);
        links = reserve((long)capacityUnits << linkShift << 2);
    }

    /**
     * Address space for the whole capacity, inaccessible until {@link #grow} opens the part the file covers (so no
     * memory is committed beyond it, even where the kernel does not overcommit); unmapped once the allocator is
     * unreachable.
     */
    private static MemorySegment reserve(final long bytes)
    {
        final long length = pageUp(bytes);
        final long address = LibC.reserveAddressSpace(length, "allocator state");
        return MemorySegment.ofAddress(address).reinterpret(length, Arena.ofAuto(),
            segment -> LibC.munmap(address, length));
    }

    private static long pageUp(final long bytes)
    {
        return (bytes + 4095) & ~4095L;
    }

    /** Makes the first {@code bytes} of {@code region} readable and writable (zeroed pages on first touch). */
    private static void open(final MemorySegment region, final long bytes)
    {
        final int rc = LibC.mprotect(region.address(), Math.min(region.byteSize(), pageUp(bytes)),
            LibC.PROT_READ | LibC.PROT_WRITE);
        if (rc < 0)
        {
            throw new IllegalStateException("cannot commit " + pageUp(bytes) + " bytes of allocator state: " +
                io.ringblocks.sys.Errno.describe(rc) + " (no memory left to commit?)");
        }
    }

    /** @return the smallest size class of the default 1 MiB allocator that holds {@code length} bytes. */
    public static int sizeClassFor(final int length)
    {
        return sizeClassFor(length, DEFAULT_MAX_BLOCK_SIZE);
    }

    /**
     * @param length       bytes to store, 1..{@code maxBlockSize}.
     * @param maxBlockSize the allocator's largest block.
     * @return the smallest size class whose block holds {@code length} bytes.
     */
    public static int sizeClassFor(final int length, final int maxBlockSize)
    {
        if (length <= 0 || length > maxBlockSize)
        {
            throw new IllegalArgumentException("length must be in 1.." + maxBlockSize + ": " + length);
        }
        return length <= MIN_BLOCK_SIZE ? 0 : 32 - Integer.numberOfLeadingZeros(length - 1) - UNIT_SHIFT;
    }

    /** @return the bytes in a block of {@code sizeClass}, 0..{@link #MAX_SIZE_CLASS}. */
    public static int blockSize(final int sizeClass)
    {
        if (sizeClass < 0 || sizeClass > MAX_SIZE_CLASS)
        {
            throw new IllegalArgumentException("sizeClass must be in 0.." + MAX_SIZE_CLASS + ": " + sizeClass);
        }
        return MIN_BLOCK_SIZE << sizeClass;
    }

    /**
     * Appends {@code chunks} free chunks at the end of the file; the caller extends the file to the new
     * {@link #fileSize()}. Commits the per-unit state the new chunks need (no copy, no Java allocation).
     *
     * @throws IllegalArgumentException when {@code chunks} is negative or would exceed the capacity.
     * @throws IllegalStateException    when the kernel refuses to commit memory for that state (nothing changed).
     */
    public void grow(final int chunks)
    {
        final int chunkUnits = 1 << maxClass;
        if (chunks < 0 || (long)chunks * chunkUnits > capacityUnits - fileUnits)
        {
            throw new IllegalArgumentException("cannot grow by " + chunks + " chunks: file " + fileSize() +
                " bytes, capacity " + capacity());
        }
        final int newUnits = fileUnits + chunks * chunkUnits;
        open(tags, newUnits);
        open(links, (long)newUnits << linkShift << 2);
        // Pushed high to low so the lowest new chunk is handed out first and the file stays dense.
        for (int unit = newUnits - chunkUnits; unit >= fileUnits; unit -= chunkUnits)
        {
            push(unit, maxClass);
        }
        fileUnits = newUnits;
    }

    /**
     * Takes a free block of {@code sizeClass}, splitting a larger free block when none of that class is free.
     * Never grows the file and allocates no objects.
     *
     * @return the block's byte offset, aligned to its size, or -1 when no block that large is free.
     */
    public long allocate(final int sizeClass)
    {
        checkClass(sizeClass);
        int level = sizeClass;
        while (heads[level] == NONE)
        {
            if (++level > maxClass)
            {
                return -1;
            }
        }
        final int unit = heads[level];
        unlink(unit, level);
        while (level > sizeClass)
        {
            level--;
            push(unit + (1 << level), level);
        }
        markUnit(unit, sizeClass);
        return (long)unit << UNIT_SHIFT;
    }

    /**
     * Returns an allocated block, merging it with its free buddy, and the result with its buddy, up to a chunk.
     *
     * @throws IllegalArgumentException unless {@code offset} starts a block of exactly {@code sizeClass} that is
     *                                  allocated: double free, wrong class, misaligned or beyond the file.
     */
    public void free(final long offset, final int sizeClass)
    {
        int unit = checkedUnit(offset, sizeClass);
        if (tag(unit) != (ALLOCATED | sizeClass))
        {
            throw new IllegalArgumentException(
                "no allocated block of class " + sizeClass + " at offset " + offset + " (double or wrong free)");
        }
        setTag(unit, 0);
        allocatedCounts[sizeClass]--;
        usedBytes -= MIN_BLOCK_SIZE << sizeClass;
        int level = sizeClass;
        while (level < maxClass)
        {
            final int buddy = unit ^ (1 << level);
            if (tag(buddy) != (FREE | level))
            {
                break;
            }
            unlink(buddy, level);
            unit &= ~(1 << level);
            level++;
        }
        push(unit, level);
    }

    /**
     * Crash recovery: carves a known live block out of free space, splitting the free block that contains it.
     * Blocks may come in any order; after {@link #grow} to the file's chunk count and a call per live block the
     * state is the same as if the blocks had been allocated normally.
     *
     * @throws IllegalArgumentException when the block is misaligned, lies beyond {@link #fileSize()} or
     *                                  overlaps an allocated block.
     */
    public void markAllocated(final long offset, final int sizeClass)
    {
        final int unit = checkedUnit(offset, sizeClass);
        // The free block containing the target, if any, starts at the target's offset rounded down to its class.
        int level = sizeClass;
        int start = unit;
        while (tag(start) != (FREE | level))
        {
            if (level == maxClass)
            {
                throw new IllegalArgumentException(
                    "block of class " + sizeClass + " at offset " + offset + " overlaps an allocated block");
            }
            level++;
            start = unit & -(1 << level);
        }
        unlink(start, level);
        while (level > sizeClass)
        {
            level--;
            final int half = start + (1 << level);
            if (unit >= half)
            {
                push(start, level);
                start = half;
            }
            else
            {
                push(half, level);
            }
        }
        markUnit(unit, sizeClass);
    }

    /** @return true while the file is below its capacity. */
    public boolean canGrow()
    {
        return fileUnits < capacityUnits;
    }

    /** @return the bytes under management: the number of chunks times {@link #maxBlockSize()}. */
    public long fileSize()
    {
        return (long)fileUnits << UNIT_SHIFT;
    }

    /** @return the size the file may grow to. */
    public long capacity()
    {
        return (long)capacityUnits << UNIT_SHIFT;
    }

    /** @return the number of chunks the file has. */
    public int chunks()
    {
        return fileUnits >>> maxClass;
    }

    public int maxSizeClass()
    {
        return maxClass;
    }

    public int maxBlockSize()
    {
        return MIN_BLOCK_SIZE << maxClass;
    }

    /** @return bytes in allocated blocks. */
    public long usedBytes()
    {
        return usedBytes;
    }

    /** @return bytes in free blocks, within {@link #fileSize()}. */
    public long freeBytes()
    {
        return fileSize() - usedBytes;
    }

    /** @return live blocks of {@code sizeClass}. */
    public long allocatedBlocks(final int sizeClass)
    {
        checkClass(sizeClass);
        return allocatedCounts[sizeClass];
    }

    /** @return free blocks of exactly {@code sizeClass} (a free larger block is not counted here). */
    public long freeBlocks(final int sizeClass)
    {
        checkClass(sizeClass);
        return freeCounts[sizeClass];
    }

    private void checkClass(final int sizeClass)
    {
        if (sizeClass < 0 || sizeClass > maxClass)
        {
            throw new IllegalArgumentException("sizeClass must be in 0.." + maxClass + ": " + sizeClass);
        }
    }

    private int checkedUnit(final long offset, final int sizeClass)
    {
        checkClass(sizeClass);
        final long size = (long)MIN_BLOCK_SIZE << sizeClass;
        if (offset < 0 || (offset & (size - 1)) != 0 || offset > fileSize() - size)
        {
            throw new IllegalArgumentException("block of class " + sizeClass + " at offset " + offset +
                " is misaligned or beyond the file size " + fileSize());
        }
        return (int)(offset >>> UNIT_SHIFT);
    }

    private void markUnit(final int unit, final int sizeClass)
    {
        setTag(unit, ALLOCATED | sizeClass);
        allocatedCounts[sizeClass]++;
        usedBytes += MIN_BLOCK_SIZE << sizeClass;
    }

    private void push(final int unit, final int level)
    {
        final int next = heads[level];
        final int slot = unit << linkShift;
        setLink(slot, next);
        setLink(slot ^ 1, NONE);
        if (next != NONE)
        {
            setLink((next << linkShift) ^ 1, unit);
        }
        heads[level] = unit;
        setTag(unit, FREE | level);
        freeCounts[level]++;
    }

    private void unlink(final int unit, final int level)
    {
        final int slot = unit << linkShift;
        final int next = link(slot);
        final int prev = link(slot ^ 1);
        if (prev == NONE)
        {
            heads[level] = next;
        }
        else
        {
            setLink(prev << linkShift, next);
        }
        if (next != NONE)
        {
            setLink((next << linkShift) ^ 1, prev);
        }
        setTag(unit, 0);
        freeCounts[level]--;
    }

    private int tag(final int unit)
    {
        return tags.get(ValueLayout.JAVA_BYTE, unit);
    }

    private void setTag(final int unit, final int tag)
    {
        tags.set(ValueLayout.JAVA_BYTE, unit, (byte)tag);
    }

    private int link(final int slot)
    {
        return links.getAtIndex(ValueLayout.JAVA_INT, slot);
    }

    private void setLink(final int slot, final int value)
    {
        links.setAtIndex(ValueLayout.JAVA_INT, slot, value);
    }
}
