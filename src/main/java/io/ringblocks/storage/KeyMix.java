package io.ringblocks.storage;

/**
 * Spreads the first 8 bytes of a block hash over a table's slots. The hashes are of content clients choose, so a
 * table keyed on their raw bits could be ground into one probe run; mixed with a per-table random seed (murmur3's
 * fmix64), they cannot be aimed at a slot without knowing it.
 */
public final class KeyMix
{
    private KeyMix()
    {
    }

    /** @return fmix64 of {@code key ^ seed}. */
    public static long mix(final long key, final long seed)
    {
        long h = key ^ seed;
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        h ^= h >>> 33;
        h *= 0xc4ceb9fe1a85ec53L;
        h ^= h >>> 33;
        return h;
    }
}
