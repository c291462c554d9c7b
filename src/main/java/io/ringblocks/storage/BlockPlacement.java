package io.ringblocks.storage;

import io.ringblocks.alloc.BuddyAllocator;

/**
 * Where the index may put a block: inside the data area (after the {@link DataHeader}), 4 KiB aligned and aligned
 * to its size class as the buddy allocator places it, with a length that belongs to its class, and wholly inside
 * the data file. A truncated data file or an index entry pointing past the end would otherwise be served as
 * zeros, or short, with status OK. Used at open and by {@code tools/rbcheck}.
 */
public final class BlockPlacement
{
    private BlockPlacement()
    {
    }

    /**
     * @param offset   the block's file offset as indexed.
     * @param maxClass the largest size class of the store (its chunk).
     * @param fileSize the data file's size in bytes.
     * @return what is wrong with the entry, or null when the data file can hold it.
     */
    public static String problem(final long offset, final int length, final int sizeClass, final int maxClass,
        final long fileSize)
    {
        final long relative = offset - DataHeader.LENGTH;
        if (relative < 0 || relative % BuddyAllocator.MIN_BLOCK_SIZE != 0)
        {
            return "offset " + offset + " is not a 4 KiB-aligned offset after the header";
        }
        if (sizeClass > maxClass)
        {
            return "size class " + sizeClass + " is larger than the chunk (class " + maxClass + ")";
        }
        final int size = BuddyAllocator.blockSize(sizeClass);
        if (length < 1 || length > size || (sizeClass > 0 && length <= size / 2))
        {
            return "length " + length + " does not belong to size class " + sizeClass;
        }
        if (relative % size != 0)
        {
            return "offset " + offset + " is not aligned to its " + size + "-byte class";
        }
        if (offset + length > fileSize)
        {
            return "it ends at byte " + (offset + length) + ", past the end of the data file (" + fileSize + " bytes)";
        }
        return null;
    }
}
