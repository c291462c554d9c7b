package io.ringblocks.cli;

import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;

import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;

import io.ringblocks.client.ClientOptions;
import io.ringblocks.client.ClusterClient;
import io.ringblocks.client.ClusterOptions;
import io.ringblocks.client.Hash;
import io.ringblocks.client.MemberList;

/**
 * {@code rbbench --cluster}: the workload through {@link ClusterClient} (placement, R copies per PUT, fallback), so
 * what is measured is what an application on the cluster client sees. Closed loop only: {@code connections ×
 * pipeline} virtual threads each issue one blocking operation after the other. The client library costs more CPU
 * per request than rbbench's own io_uring load loop; the {@code cli us/op} column shows how much.
 */
final class ClusterBench
{
    /** One workload's shape. */
    record Workload(String sizeText, int size, String mix, int connections, int pipeline, long warmupNanos,
        long measureNanos, boolean json)
    {
    }

    private final MemberList members;
    private final int replicas;
    private final PrintStream out;

    ClusterBench(final MemberList members, final int replicas, final PrintStream out)
    {
        this.members = members;
        this.replicas = replicas;
        this.out = out;
    }

    /** @return 1 if any request failed, else 0. */
    int run(final Workload w, final byte[][] content) throws InterruptedException
    {
        final String[] weights = w.mix().split(":");
        if (weights.length != 3)
        {
            throw new IllegalArgumentException("-mix must be put:get:del, got " + w.mix());
        }
        final int put = Integer.parseInt(weights[0]);
        final int get = Integer.parseInt(weights[1]);
        final int del = Integer.parseInt(weights[2]);
        if (put < 0 || get < 0 || del < 0 || put + get + del == 0)
        {
            throw new IllegalArgumentException("-mix weights must be >= 0 with a positive sum, got " + w.mix());
        }
        final ClusterOptions options = ClusterOptions.builder().members(members).replicas(replicas)
            .client(ClientOptions.builder().port(1).poolSize(Math.max(1, w.connections()))
                .maxInFlight(Math.max(1, w.pipeline())).maxBlockSize(Math.max(w.size(), 1 << 20))
                .requestTimeout(Duration.ofSeconds(30)).build())
            .build();
        try (ClusterClient cluster = ClusterClient.connect(options))
        {
            final Hash[] hashes = get > 0 ? populate(cluster, content) : new Hash[0];
            final int loops = w.connections() * w.pipeline();
            // One histogram for all loops: thousands of per-thread ones would take hundreds of MiB.
            final Histogram all = new ConcurrentHistogram(3_600_000_000_000L, 3);
            final AtomicLong ops = new AtomicLong();
            final AtomicLong completedAll = new AtomicLong();
            final AtomicLong bytes = new AtomicLong();
            final AtomicLong errors = new AtomicLong();
            final StringBuilder firstError = new StringBuilder();
            final long start = System.nanoTime();
            final long measureFrom = start + w.warmupNanos();
            final long end = measureFrom + w.measureNanos();
            final long cpuBefore = Bench.processCpuNanos();
            final List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < loops; t++)
            {
                final long seed = 17L * t + 3;
                threads.add(Thread.ofVirtual().name("rbbench-cluster-" + t).start(() ->
                {
                    final SplittableRandom random = new SplittableRandom(seed);
                    final List<Hash> own = new ArrayList<>();
                    long counter = seed << 32;
                    while (true)
                    {
                        final long begin = System.nanoTime();
                        if (begin >= end)
                        {
                            break;
                        }
                        final int pick = random.nextInt(put + get + del);
                        if (pick >= put + get && own.isEmpty())
                        {
                            continue; // nothing of this loop's to delete yet: not an operation
                        }
                        long moved = 0;
                        try
                        {
                            if (pick < put)
                            {
                                final byte[] block = content[random.nextInt(content.length)].clone();
                                counter++;
                                for (int i = 0; i < 8 && i < block.length; i++)
                                {
                                    block[i] = (byte)(counter >>> (8 * i)); // new content: no dedup hits
                                }
                                own.add(cluster.put(block));
                                moved = block.length;
                            }
                            else if (pick < put + get)
                            {
                                moved = cluster.get(hashes[random.nextInt(hashes.length)]).length;
                            }
                            else
                            {
                                cluster.delete(own.removeLast());
                            }
                        }
                        catch (final RuntimeException e)
                        {
                            errors.incrementAndGet();
                            synchronized (firstError)
                            {
                                if (firstError.isEmpty())
                                {
                                    firstError.append(e.getMessage());
                                }
                            }
                        }
                        final long done = System.nanoTime();
                        completedAll.incrementAndGet();
                        // Latency of what was sent in the window however late its answer; throughput of what
                        // was answered in it (as rbbench's own load loop counts).
                        if (begin >= measureFrom)
                        {
                            all.recordValue(Math.max(1, done - begin));
                        }
                        if (done >= measureFrom && done <= end)
                        {
                            ops.incrementAndGet();
                            bytes.addAndGet(moved);
                        }
                    }
                }));
            }
            for (final Thread t : threads)
            {
                t.join();
            }
            final double seconds = w.measureNanos() / 1e9;
            final double cliPerOp = completedAll.get() == 0 ? 0 :
                (Bench.processCpuNanos() - cpuBefore) / 1000.0 / completedAll.get();
            print(w, ops.get() / seconds, bytes.get() / seconds / 1e6, all, errors.get(), cliPerOp);
            if (!firstError.isEmpty() && !w.json())
            {
                out.println("#   first error: " + firstError);
            }
            return errors.get() > 0 ? 1 : 0;
        }
    }

    /** Stores the blocks GETs choose from, pipelined. */
    private static Hash[] populate(final ClusterClient cluster, final byte[][] content)
    {
        final List<CompletableFuture<Hash>> stored = new ArrayList<>();
        for (final byte[] block : content)
        {
            stored.add(cluster.async().put(block));
        }
        final Hash[] hashes = new Hash[content.length];
        for (int i = 0; i < hashes.length; i++)
        {
            hashes[i] = stored.get(i).join();
        }
        return hashes;
    }

    private void print(final Workload w, final double opsPerSecond, final double mbPerSecond, final Histogram h,
        final long errors, final double cliPerOp)
    {
        final String name = Bench.label(w.mix()) + " " + w.sizeText() + " cluster";
        if (w.json())
        {
            out.printf(Locale.ROOT, "{\"server\":\"cluster\",\"workload\":\"%s\",\"size\":%d,\"mix\":\"%s\"," +
                    "\"connections\":%d,\"pipeline\":%d,\"ops_per_s\":%.1f,\"mb_per_s\":%.1f,\"p50_us\":%.1f," +
                    "\"p90_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,\"max_us\":%.1f,\"errors\":%d," +
                    "\"client_cpu_us_per_op\":%.2f,\"replicas\":%d,\"members\":%d}%n",
                name, w.size(), w.mix(), w.connections(), w.pipeline(), opsPerSecond, mbPerSecond, Bench.us(h, 50),
                Bench.us(h, 90), Bench.us(h, 99), Bench.us(h, 99.9), h.getMaxValue() / 1000.0, errors, cliPerOp, replicas,
                members.size());
            return;
        }
        Bench.row(out, name, w.connections(), w.pipeline(), opsPerSecond, mbPerSecond, h, errors, cliPerOp, -1);
    }
}
