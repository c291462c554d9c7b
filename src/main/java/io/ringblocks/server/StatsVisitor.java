package io.ringblocks.server;

/**
 * Receives every server statistic once per report, with its kind and help text: the one definition of what the
 * server measures. STATS renders the report as {@code name value} lines ({@link StatsText}); the metrics endpoint
 * renders the same report as Prometheus families. Units are in the name: {@code _bytes}, {@code _us}, {@code _ms}.
 */
public interface StatsVisitor
{
    /** A value that only grows while the server runs. */
    void counter(String name, String help, long value);

    /** A value that goes up and down. */
    void gauge(String name, String help, long value);

    /**
     * One member of a family of counters told apart by one label. STATS names it {@code stem + "_" + labelValue}
     * (for example {@code requests_get}); metrics name the family {@code family} with {@code label="labelValue"}.
     */
    void counter(String stem, String family, String help, String label, String labelValue, long value);

    /** As {@link #counter(String, String, String, String, String, long)}, for gauges. */
    void gauge(String stem, String family, String help, String label, String labelValue, long value);

    /**
     * Server-side latencies of one opcode (from its frame taken to its answer sent), for opcodes asked at least once.
     *
     * @param op        the opcode's name in lower case.
     * @param buckets   counts in {@link LatencyBuckets} buckets of microseconds, {@link LatencyBuckets#BUCKETS} from
     *                  {@code offset}.
     * @param count     their sum.
     * @param sumMicros the latencies' sum in µs.
     */
    void latency(String op, long[] buckets, int offset, long count, long sumMicros);

    /** @return the largest latency in µs that bucket {@code b} of {@link #latency} holds. */
    static long latencyBucketUpperBound(final int b)
    {
        return LatencyBuckets.upperBound(b);
    }

    /** Buckets per opcode in {@link #latency}. */
    int LATENCY_BUCKETS = LatencyBuckets.BUCKETS;
}
