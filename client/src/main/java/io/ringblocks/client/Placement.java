package io.ringblocks.client;

import java.util.Objects;

/**
 * Which members own a block: weighted rendezvous (highest random weight) hashing of the block's hash over a
 * {@link MemberList}. Every member gets a score for the block, {@code -weight / ln(u)} with {@code u} a uniform
 * number in (0, 1) drawn from the block hash and the member's address; the members with the highest scores own
 * it, the first one being its primary. The share of blocks whose primary is a member is its weight over the sum of
 * weights (the minimum of exponential variables of rates {@code w_i} is the {@code i}-th with probability
 * {@code w_i / Σw}), and a member's scores do not depend on who else is in the list, so:
 * <ul>
 *   <li>removing a member moves only blocks it owned (each to the member next in its order);</li>
 *   <li>adding one of weight {@code w} moves about {@code w / Σw} of the primaries, all to the new member;</li>
 *   <li>every client computes the same owners from the same list, whatever its order.</li>
 * </ul>
 * Immutable and thread-safe.
 */
public final class Placement
{
    private final MemberList members;
    private final long[] seeds;
    private final double[] weights;

    public Placement(final MemberList members)
    {
        this.members = Objects.requireNonNull(members, "members");
        seeds = new long[members.size()];
        weights = new double[members.size()];
        for (int i = 0; i < seeds.length; i++)
        {
            seeds[i] = members.get(i).seed();
            weights[i] = members.get(i).weight();
        }
    }

    public MemberList members()
    {
        return members;
    }

    /**
     * @param replicas how many owners, {@code >= 1}; fewer are returned when the list is shorter.
     * @return indexes into {@link #members()} of the block's owners, highest score first.
     */
    public int[] owners(final Hash hash, final int replicas)
    {
        Objects.requireNonNull(hash, "hash");
        if (replicas < 1)
        {
            throw new IllegalArgumentException("replicas must be >= 1: " + replicas);
        }
        final int n = Math.min(replicas, seeds.length);
        final byte[] h = hash.bytes();
        final long k0 = word(h, 0);
        final long k1 = word(h, 8);
        final int[] owners = new int[n];
        final double[] best = new double[n];
        int filled = 0;
        for (int m = 0; m < seeds.length; m++)
        {
            final double score = score(k0, k1, m);
            if (filled < n || score > best[filled - 1])
            {
                // Insertion into the short sorted prefix: replicas is small.
                int at = filled < n ? filled++ : n - 1;
                while (at > 0 && best[at - 1] < score)
                {
                    best[at] = best[at - 1];
                    owners[at] = owners[at - 1];
                    at--;
                }
                best[at] = score;
                owners[at] = m;
            }
        }
        return owners;
    }

    /** @return the index of the block's primary owner. */
    public int primary(final Hash hash)
    {
        return owners(hash, 1)[0];
    }

    private double score(final long k0, final long k1, final int member)
    {
        final long x = mix(mix(k0 ^ seeds[member]) ^ k1);
        final double u = ((x >>> 12) + 0.5) * 0x1.0p-52; // in (0, 1): 52 bits and a half, exact in a double
        return -weights[member] / Math.log(u);
    }

    /** The finaliser of SplitMix64 (Steele, Lea, Flood 2014): every input bit affects every output bit. */
    private static long mix(final long z)
    {
        long x = z;
        x = (x ^ (x >>> 30)) * 0xBF58476D1CE4E5B9L;
        x = (x ^ (x >>> 27)) * 0x94D049BB133111EBL;
        return x ^ (x >>> 31);
    }

    private static long word(final byte[] b, final int from)
    {
        long w = 0;
        for (int i = 0; i < 8; i++)
        {
            w = w << 8 | (b[from + i] & 0xFF);
        }
        return w;
    }
}
