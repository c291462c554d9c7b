package io.ringblocks.server;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LatencyBucketsTest
{
    @Property(tries = 2000)
    void shouldPutEveryLatencyInABucketAtMostAQuarterWide(@ForAll @LongRange(min = 0, max = 1L << 40) final long us)
    {
        final int b = LatencyBuckets.bucket(us);
        assertTrue(b >= 0 && b < LatencyBuckets.BUCKETS, "bucket " + b);
        final long upper = LatencyBuckets.upperBound(b);
        final long lower = b == 0 ? 0 : LatencyBuckets.upperBound(b - 1) + 1;
        assertTrue(lower <= us && us <= upper, us + " in [" + lower + ", " + upper + "]");
        assertTrue(upper - lower <= Math.max(0, upper / 4), "width of [" + lower + ", " + upper + "]");
    }

    @Test
    void shouldReportPercentilesAsBucketUpperBounds()
    {
        final long[] counts = new long[LatencyBuckets.BUCKETS];
        for (int i = 1; i <= 100; i++)
        {
            counts[LatencyBuckets.bucket(i)]++; // 1..100 µs
        }
        assertEquals(0, LatencyBuckets.percentile(new long[LatencyBuckets.BUCKETS], 0, 0, 500));
        final long p50 = LatencyBuckets.percentile(counts, 0, 100, 500);
        assertTrue(p50 >= 50 && p50 <= 63, "p50 " + p50);
        final long p99 = LatencyBuckets.percentile(counts, 0, 100, 990);
        assertTrue(p99 >= 99 && p99 <= 127, "p99 " + p99);
        assertEquals(LatencyBuckets.upperBound(LatencyBuckets.bucket(100)), LatencyBuckets.percentile(counts, 0, 100,
            1000));
        // 1000 values, 999 of 1 µs and one of 5000 µs: p99.9 is the 999th value, not the max.
        final long[] tail = new long[LatencyBuckets.BUCKETS];
        tail[LatencyBuckets.bucket(1)] = 999;
        tail[LatencyBuckets.bucket(5000)] = 1;
        assertEquals(1, LatencyBuckets.percentile(tail, 0, 1000, 999));
        assertEquals(LatencyBuckets.upperBound(LatencyBuckets.bucket(5000)), LatencyBuckets.percentile(tail, 0, 1000,
            1000));
        assertEquals(LatencyBuckets.BUCKETS - 1, LatencyBuckets.bucket(Long.MAX_VALUE / 2));
    }
}
