package io.ringblocks.server;

/** Renders a stats report as the STATS body: one {@code name value} line per figure, latencies as percentiles. */
final class StatsText implements StatsVisitor
{
    private final StringBuilder sb = new StringBuilder(4096);

    @Override
    public void counter(final String name, final String help, final long value)
    {
        line(name, value);
    }

    @Override
    public void gauge(final String name, final String help, final long value)
    {
        line(name, value);
    }

    @Override
    public void counter(final String stem, final String family, final String help, final String label,
        final String labelValue, final long value)
    {
        line(stem + "_" + labelValue, value);
    }

    @Override
    public void gauge(final String stem, final String family, final String help, final String label,
        final String labelValue, final long value)
    {
        line(stem + "_" + labelValue, value);
    }

    @Override
    public void latency(final String op, final long[] buckets, final int offset, final long count,
        final long sumMicros)
    {
        final String name = "latency_" + op;
        line(name + "_count", count);
        line(name + "_p50_us", LatencyBuckets.percentile(buckets, offset, count, 500));
        line(name + "_p99_us", LatencyBuckets.percentile(buckets, offset, count, 990));
        line(name + "_p999_us", LatencyBuckets.percentile(buckets, offset, count, 999));
        line(name + "_max_us", LatencyBuckets.percentile(buckets, offset, count, 1000));
    }

    private void line(final String name, final long value)
    {
        sb.append(name).append(' ').append(value).append('\n');
    }

    @Override
    public String toString()
    {
        return sb.toString();
    }
}
