package io.ringblocks.cli;

import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.DecimalFormat;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberTickUnit;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * Charts of benchmark results ({@code rbbench --json} lines; {@code make bench} writes them): throughput against
 * block size for PUT and for GET, one line per connection count, and latency percentiles against the offered load
 * of the open-loop ({@code -rate}) GET runs (one workload: they all go into one chart). Runs against another
 * server ({@code rbbench --redis}) are left out. Also prints the runs as one Markdown table, for docs/benchmarks.md.
 */
@Command(name = "rbplot", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
    description = "Charts rbbench --json results as PNG files.")
public final class BenchPlots implements Callable<Integer>
{
    static final int WIDTH = 900;
    static final int HEIGHT = 520;
    private static final Pattern FIELD = Pattern.compile("\"(\\w+)\":(\"([^\"]*)\"|-?[0-9.eE+]+)");

    @Option(names = "--out", paramLabel = "DIR", description = "where the PNG files go (default: ${DEFAULT-VALUE})")
    Path out = Path.of("docs/img");

    @Parameters(paramLabel = "FILE", arity = "1..*", description = "rbbench --json output")
    List<Path> files;

    /** One rbbench result line. */
    record Run(String mix, int size, int connections, int pipeline, long rate, double opsPerSecond,
        double mbPerSecond, double p50, double p99, double p999)
    {
        static Run parse(final String line)
        {
            final Map<String, String> f = new HashMap<>();
            final Matcher m = FIELD.matcher(line);
            while (m.find())
            {
                f.put(m.group(1), m.group(3) != null ? m.group(3) : m.group(2));
            }
            for (final String key : List.of("mix", "size", "connections", "pipeline", "ops_per_s", "mb_per_s",
                "p50_us", "p99_us", "p999_us"))
            {
                if (!f.containsKey(key))
                {
                    throw new IllegalArgumentException("not an rbbench --json line (no " + key + "): " + line);
                }
            }
            return new Run(f.get("mix"), Integer.parseInt(f.get("size")), Integer.parseInt(f.get("connections")),
                Integer.parseInt(f.get("pipeline")), Long.parseLong(f.getOrDefault("rate", "0")),
                Double.parseDouble(f.get("ops_per_s")), Double.parseDouble(f.get("mb_per_s")),
                Double.parseDouble(f.get("p50_us")), Double.parseDouble(f.get("p99_us")),
                Double.parseDouble(f.get("p999_us")));
        }
    }

    public static void main(final String[] args)
    {
        System.setProperty("java.awt.headless", "true");
        System.exit(Cli.commandLine(new BenchPlots(), "rbplot").execute(args));
    }

    @Override
    public Integer call() throws IOException
    {
        final List<Run> runs = new ArrayList<>();
        for (final Path file : files)
        {
            if (!Files.isRegularFile(file))
            {
                throw new IllegalArgumentException("no such file: " + file);
            }
            for (final String line : Files.readAllLines(file))
            {
                // ringblocks' own runs only: rbbench --redis lines would mix another server into the same lines.
                if (line.startsWith("{") && !line.contains("\"server\":") ||
                    line.startsWith("{") && line.contains("\"server\":\"ringblocks\""))
                {
                    runs.add(Run.parse(line));
                }
            }
        }
        Files.createDirectories(out);
        final List<Path> written = new ArrayList<>();
        for (final String mix : List.of("1:0:0", "0:1:0"))
        {
            final JFreeChart chart = throughput(runs, mix);
            if (chart != null)
            {
                written.add(save(chart, "throughput-" + Bench.label(mix).toLowerCase(Locale.ROOT) + ".png"));
            }
        }
        final JFreeChart latency = latencyAgainstLoad(runs);
        if (latency != null)
        {
            written.add(save(latency, "latency-vs-load.png"));
        }
        System.out.print(markdown(runs));
        for (final Path p : written)
        {
            System.out.println("rbplot: wrote " + p);
        }
        return 0;
    }

    /** MB/s against block size (log 2 axis), one line per connection count, closed-loop pipeline-1 runs. */
    static JFreeChart throughput(final List<Run> runs, final String mix)
    {
        final Map<Integer, XYSeries> byConnections = new TreeMap<>();
        for (final Run r : runs)
        {
            if (r.mix().equals(mix) && r.pipeline() == 1 && r.rate() == 0)
            {
                byConnections.computeIfAbsent(r.connections(), c -> new XYSeries(c + (c == 1 ? " connection" :
                    " connections"))).add(r.size() / 1024.0, r.mbPerSecond());
            }
        }
        if (byConnections.isEmpty())
        {
            return null;
        }
        final XYSeriesCollection data = new XYSeriesCollection();
        byConnections.values().forEach(data::addSeries);
        final JFreeChart chart = ChartFactory.createXYLineChart(Bench.label(mix) + " throughput by block size",
            "block size (KiB)", "MB/s", data, PlotOrientation.VERTICAL, true, false, false);
        final LogAxis sizes = new LogAxis("block size (KiB)");
        sizes.setBase(2);
        sizes.setTickUnit(new NumberTickUnit(1.0)); // in powers of the base: one tick per doubling
        sizes.setNumberFormatOverride(new DecimalFormat("0"));
        style(chart).setDomainAxis(sizes);
        return chart;
    }

    /** p50, p99 and p99.9 (log axis) against the offered load of the open-loop GET runs (one workload). */
    static JFreeChart latencyAgainstLoad(final List<Run> runs)
    {
        final XYSeries p50 = new XYSeries("p50");
        final XYSeries p99 = new XYSeries("p99");
        final XYSeries p999 = new XYSeries("p99.9");
        String what = null;
        for (final Run r : runs)
        {
            if (r.rate() > 0 && r.mix().equals("0:1:0"))
            {
                what = Bench.label(r.mix()) + " " + Sizes.format(r.size()) + ", " + r.connections() + " connections";
                p50.add(r.rate(), r.p50());
                p99.add(r.rate(), r.p99());
                p999.add(r.rate(), r.p999());
            }
        }
        if (what == null)
        {
            return null;
        }
        final XYSeriesCollection data = new XYSeriesCollection();
        data.addSeries(p50);
        data.addSeries(p99);
        data.addSeries(p999);
        final JFreeChart chart = ChartFactory.createXYLineChart("Latency against offered load (" + what + ")",
            "offered requests per second", "latency (µs)", data, PlotOrientation.VERTICAL, true, false, false);
        final LogAxis latency = new LogAxis("latency (µs)");
        latency.setNumberFormatOverride(new DecimalFormat("#,##0"));
        style(chart).setRangeAxis(latency);
        return chart;
    }

    private static XYPlot style(final JFreeChart chart)
    {
        final XYPlot plot = chart.getXYPlot();
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(Color.LIGHT_GRAY);
        plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
        final XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(true, true);
        for (int i = 0; i < plot.getDataset().getSeriesCount(); i++)
        {
            renderer.setSeriesStroke(i, new BasicStroke(2f));
        }
        plot.setRenderer(renderer);
        return plot;
    }

    private Path save(final JFreeChart chart, final String name) throws IOException
    {
        final Path file = out.resolve(name);
        ChartUtils.saveChartAsPNG(file.toFile(), chart, WIDTH, HEIGHT);
        return file;
    }

    /** Every run as one row of a Markdown table. */
    static String markdown(final List<Run> runs)
    {
        final StringBuilder sb = new StringBuilder(
            "| workload | conns | pipe | rate | ops/s | MB/s | p50 µs | p99 µs | p99.9 µs |\n" +
            "|---|--:|--:|--:|--:|--:|--:|--:|--:|\n");
        for (final Run r : runs)
        {
            sb.append(String.format(Locale.ROOT, "| %s %s | %d | %d | %s | %.0f | %.1f | %.0f | %.0f | %.0f |%n",
                Bench.label(r.mix()), Sizes.format(r.size()), r.connections(), r.pipeline(),
                r.rate() == 0 ? "-" : Long.toString(r.rate()), r.opsPerSecond(), r.mbPerSecond(), r.p50(), r.p99(),
                r.p999()));
        }
        return sb.toString();
    }
}
