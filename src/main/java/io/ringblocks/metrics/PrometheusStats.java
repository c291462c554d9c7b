package io.ringblocks.metrics;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.ClassicHistogramBuckets;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot.HistogramDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;

import io.ringblocks.server.RingblocksServer;
import io.ringblocks.server.StatsVisitor;

/**
 * The server's report ({@link RingblocksServer#report}) as Prometheus families, built at each scrape: every STATS
 * figure under {@code ringblocks_<name>} with its help text, counters with {@code _total}, microseconds and
 * milliseconds converted to seconds, labelled families ({@code op}, {@code status}, {@code size}) instead of one
 * name per member, and per-opcode latency as the histogram {@code ringblocks_request_duration_seconds}.
 */
final class PrometheusStats implements MultiCollector
{
    static final String PREFIX = "ringblocks_";
    static final String LATENCY = PREFIX + "request_duration_seconds";
    /** Latency buckets: powers of two from 8 µs to 2^24 µs (~16.8 s), then +Inf. */
    private static final int FIRST_EXPONENT = 3;
    private static final int LAST_EXPONENT = 24;

    private final AtomicReference<RingblocksServer> server;

    /** @param server the server once it is up: until then (recovery) there is nothing to report. */
    PrometheusStats(final AtomicReference<RingblocksServer> server)
    {
        this.server = server;
    }

    @Override
    public MetricSnapshots collect()
    {
        final RingblocksServer s = server.get();
        if (s == null || !s.serving())
        {
            return MetricSnapshots.of(); // recovering, or closing: the store's figures are going away
        }
        final Families families = new Families();
        try
        {
            s.report(families);
        }
        catch (final IllegalStateException e)
        {
            if (s.serving())
            {
                throw e;
            }
            return MetricSnapshots.of(); // the store closed while this scrape read it
        }
        final MetricSnapshots.Builder snapshots = MetricSnapshots.builder();
        for (final MetricSnapshot family : families.build())
        {
            snapshots.metricSnapshot(family);
        }
        return snapshots.build();
    }

    /** A STATS name in Prometheus's conventions: base unit seconds, no {@code _total} (the format adds it). */
    static String name(final String stats)
    {
        String n = stats.endsWith("_total") ? stats.substring(0, stats.length() - "_total".length()) : stats;
        if (n.endsWith("_us") || n.endsWith("_ms"))
        {
            n = n.substring(0, n.length() - 3) + "_seconds";
        }
        return PREFIX + n;
    }

    /** @return the factor turning a STATS value into the Prometheus one (µs and ms become seconds). */
    static double scale(final String stats)
    {
        final String n = stats.endsWith("_total") ? stats.substring(0, stats.length() - "_total".length()) : stats;
        return n.endsWith("_us") ? 1e-6 : n.endsWith("_ms") ? 1e-3 : 1.0;
    }

    /** Upper bounds, in seconds, of the exported latency buckets (the last is +Inf). */
    static double[] latencyBounds()
    {
        final double[] bounds = new double[LAST_EXPONENT - FIRST_EXPONENT + 2];
        for (int k = FIRST_EXPONENT; k <= LAST_EXPONENT; k++)
        {
            bounds[k - FIRST_EXPONENT] = (1L << k) / 1e6;
        }
        bounds[bounds.length - 1] = Double.POSITIVE_INFINITY;
        return bounds;
    }

    /**
     * Folds the server's fine buckets (integer µs, see {@link StatsVisitor#latency}) into the exported ones: a fine
     * bucket whose largest value is at most 2^k − 1 µs holds latencies below 2^k µs, so it counts under le = 2^k µs.
     */
    static long[] latencyCounts(final long[] buckets, final int offset)
    {
        final long[] counts = new long[LAST_EXPONENT - FIRST_EXPONENT + 2];
        for (int b = 0; b < StatsVisitor.LATENCY_BUCKETS; b++)
        {
            final long largest = StatsVisitor.latencyBucketUpperBound(b);
            int k = FIRST_EXPONENT;
            while (k <= LAST_EXPONENT && largest > (1L << k) - 1)
            {
                k++;
            }
            counts[k - FIRST_EXPONENT] += buckets[offset + b];
        }
        return counts;
    }

    /** Gathers the report's figures into families (one per name, members told apart by labels). */
    private static final class Families implements StatsVisitor
    {
        private final Map<String, Family> byName = new LinkedHashMap<>();
        private final List<HistogramDataPointSnapshot> latencies = new ArrayList<>();

        @Override
        public void counter(final String name, final String help, final long value)
        {
            family(name(name), help, true).add(Labels.EMPTY, value * scale(name));
        }

        @Override
        public void gauge(final String name, final String help, final long value)
        {
            family(name(name), help, false).add(Labels.EMPTY, value * scale(name));
        }

        @Override
        public void counter(final String stem, final String family, final String help, final String label,
            final String labelValue, final long value)
        {
            family(name(family), help, true).add(Labels.of(label, labelValue), value * scale(family));
        }

        @Override
        public void gauge(final String stem, final String family, final String help, final String label,
            final String labelValue, final long value)
        {
            family(name(family), help, false).add(Labels.of(label, labelValue), value * scale(family));
        }

        @Override
        public void latency(final String op, final long[] buckets, final int offset, final long count,
            final long sumMicros)
        {
            latencies.add(HistogramDataPointSnapshot.builder()
                .labels(Labels.of("op", op))
                .classicHistogramBuckets(ClassicHistogramBuckets.of(latencyBounds(), latencyCounts(buckets, offset)))
                .sum(sumMicros / 1e6)
                .build());
        }

        private Family family(final String name, final String help, final boolean counter)
        {
            final Family f = byName.computeIfAbsent(name, n -> new Family(n, help, counter));
            if (f.counter != counter)
            {
                throw new IllegalStateException(name + " is reported both as a counter and as a gauge");
            }
            return f;
        }

        List<MetricSnapshot> build()
        {
            final List<MetricSnapshot> out = new ArrayList<>(byName.size() + 1);
            for (final Family f : byName.values())
            {
                out.add(f.build());
            }
            final HistogramSnapshot.Builder histogram = HistogramSnapshot.builder().name(LATENCY)
                .help("Server-side request latency, from the request's frame taken to its answer sent, by opcode.");
            for (final HistogramDataPointSnapshot point : latencies)
            {
                histogram.dataPoint(point);
            }
            out.add(histogram.build());
            return out;
        }
    }

    /** One metric family being gathered. */
    private static final class Family
    {
        private final String name;
        private final String help;
        private final boolean counter;
        private final List<Labels> labels = new ArrayList<>();
        private final List<Double> values = new ArrayList<>();

        Family(final String name, final String help, final boolean counter)
        {
            this.name = name;
            this.help = help;
            this.counter = counter;
        }

        void add(final Labels l, final double value)
        {
            labels.add(l);
            values.add(value);
        }

        MetricSnapshot build()
        {
            if (counter)
            {
                final CounterSnapshot.Builder b = CounterSnapshot.builder().name(name).help(help);
                for (int i = 0; i < values.size(); i++)
                {
                    b.dataPoint(CounterDataPointSnapshot.builder().labels(labels.get(i)).value(values.get(i)).build());
                }
                return b.build();
            }
            final GaugeSnapshot.Builder b = GaugeSnapshot.builder().name(name).help(help);
            for (int i = 0; i < values.size(); i++)
            {
                b.dataPoint(GaugeDataPointSnapshot.builder().labels(labels.get(i)).value(values.get(i)).build());
            }
            return b.build();
        }
    }
}
