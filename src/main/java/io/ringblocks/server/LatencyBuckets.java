package io.ringblocks.server;

/**
 * Request latencies per opcode in fixed log-linear buckets of microseconds (exact below 8 µs, then four buckets per
 * power of two: at most 25% wide), counted by a worker without allocation and merged across workers when STATS
 * reads them. A value's percentile is reported as the upper bound of its bucket, so it errs high.
 */
final class LatencyBuckets
{
    /** Buckets per opcode: the last ends at 2^41 − 1 µs (25 days), and anything longer is counted there too. */
    static final int BUCKETS = 8 + (40 - 3 + 1) * 4;
    private static final int MAX_MSB = 40;

    private LatencyBuckets()
    {
    }

    /** @return the bucket of a latency of {@code micros} (>= 0). */
    static int bucket(final long micros)
    {
        if (micros < 8)
        {
            return (int)Math.max(0, micros);
        }
        final int msb = Math.min(MAX_MSB, 63 - Long.numberOfLeadingZeros(micros));
        final int sub = msb == MAX_MSB && micros >= 1L << (MAX_MSB + 1) ? 3 : (int)((micros >>> (msb - 2)) & 3);
        return 8 + (msb - 3) * 4 + sub;
    }

    /** @return the largest latency, in µs, that falls into bucket {@code b}. */
    static long upperBound(final int b)
    {
        if (b < 8)
        {
            return b;
        }
        final int msb = 3 + (b - 8) / 4;
        final int sub = (b - 8) % 4;
        return ((4L + sub) << (msb - 2)) + (1L << (msb - 2)) - 1;
    }

    /**
     * @param counts     merged counts of one opcode ({@link #BUCKETS} long, from {@code offset}).
     * @param total      their sum.
     * @param perMille   the percentile in thousandths, 1..1000 (500 = p50, 999 = p99.9, 1000 = max): integers,
     *                   so that no rounding of a double moves the rank.
     * @return the upper bound of the bucket holding that percentile, 0 when there are no values.
     */
    static long percentile(final long[] counts, final int offset, final long total, final int perMille)
    {
        if (total == 0)
        {
            return 0;
        }
        final long rank = Math.max(1, (total * perMille + 999) / 1000);
        long seen = 0;
        for (int b = 0; b < BUCKETS; b++)
        {
            seen += counts[offset + b];
            if (seen >= rank)
            {
                return upperBound(b);
            }
        }
        return upperBound(BUCKETS - 1);
    }
}
