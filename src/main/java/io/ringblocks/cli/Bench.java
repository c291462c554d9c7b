package io.ringblocks.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.HdrHistogram.Histogram;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code tools/rbbench}: loopback throughput and latency of a ringblocks server. Starts its own server (a child
 * process on a temporary data directory) unless {@code --server} is given, pre-populates the blocks GETs ask for,
 * then runs every combination of size × concurrency × pipeline × mix and prints one row per workload, including
 * the CPU the client and the server spent per request (the client must never be the bottleneck: compare them).
 * With {@code --redis} the same workload goes to a Redis server as SET/GET of the blocks under their hex SHA-256
 * ({@link RespWire}): same client, same content, same measurement, for a comparison that only the server changes.
 */
@Command(name = "rbbench", versionProvider = VersionProvider.class, mixinStandardHelpOptions = true,
    sortOptions = false,
    description = "Loopback benchmark for ringblocks.")
public final class Bench implements Callable<Integer>
{
    /** What the distinct blocks of one run may add up to at most. */
    private static final long MAX_BLOCK_BYTES = 256L << 20;

    @Option(names = {"-size", "--size"}, split = ",", description = "block sizes (default: ${DEFAULT-VALUE})")
    List<String> sizes = List.of("4k");

    @Option(names = {"-blocks", "--blocks"}, description = "distinct blocks GETs choose from (default: ${DEFAULT-VALUE}; capped at 256 MiB)")
    int blocks = 1000;

    @Option(names = {"-concurrency", "--concurrency"}, split = ",", description = "connections (default: ${DEFAULT-VALUE})")
    List<Integer> concurrency = List.of(16);

    @Option(names = {"-pipeline", "--pipeline"}, split = ",", description = "requests in flight per connection (default: ${DEFAULT-VALUE})")
    List<Integer> pipeline = List.of(1);

    @Option(names = {"-rate", "--rate"}, split = ",", description = "open loop: requests per second in all, sent " +
        "on schedule whatever the answers; latency counts from the scheduled time (0 = closed loop, the default)")
    List<Long> rates = List.of(0L);

    @Option(names = {"-duration", "--duration"}, description = "measured time per workload, e.g. 5s (default: ${DEFAULT-VALUE})")
    String duration = "5s";

    @Option(names = {"-requests", "--requests"}, description = "stop after N requests instead of a duration")
    long requests;

    @Option(names = {"-mix", "--mix"}, split = ",", description = "put:get:del weights, several allowed (default: ${DEFAULT-VALUE})")
    List<String> mixes = List.of("0:1:0");

    @Option(names = {"-warmup", "--warmup"}, description = "unmeasured time before each workload (default: ${DEFAULT-VALUE})")
    String warmup = "1s";

    @Option(names = {"-threads", "--threads"}, description = "client threads (default: ${DEFAULT-VALUE})")
    int threads = 1;

    @Option(names = {"-verify", "--verify"}, description = "verify every Nth GET byte for byte, 0 = never (default: ${DEFAULT-VALUE})")
    int verifyEvery = 64;

    @Option(names = "--server", paramLabel = "HOST:PORT", description = "use a running server instead of starting one")
    String server;

    @Option(names = "--redis", paramLabel = "HOST:PORT", description = "run the same workload against a running " +
        "Redis server: PUT = SET <hex sha-256> <block>, GET = GET <hex sha-256>; with --server too, each workload " +
        "runs against ringblocks then Redis, back to back")
    String redis;

    @Option(names = "--server-pid", paramLabel = "PID", description = "process whose CPU time (/proc/PID/stat) " +
        "counts as server CPU with --server (default: the process listening on its port)")
    long serverPid;

    @Option(names = "--redis-pid", paramLabel = "PID", description = "the same for --redis")
    long redisPid;

    @Option(names = "--server-args", description = "extra flags for the server rbbench starts, e.g. '--sync relaxed'")
    String serverArgs = "";

    @Option(names = "--json", description = "print JSON lines instead of a table")
    boolean json;

    @Option(names = "--cluster", paramLabel = "LIST", description = "run the workload through the cluster client " +
        "over these members, host:port[=weight],... (closed loop; docs/cluster.md)")
    String cluster;

    @Option(names = "--replicas", paramLabel = "R", description = "with --cluster: owners per block (default: " +
        "${DEFAULT-VALUE})")
    int replicas = 2;

    private Process child;

    public static void main(final String[] args)
    {
        System.exit(commandLine().execute(args));
    }

    /** The command with its error handling: bad input is one line and exit 2, never a stack trace. */
    static CommandLine commandLine()
    {
        return Cli.commandLine(new Bench(), "rbbench");
    }

    @Override
    public Integer call() throws Exception
    {
        checkArguments(); // before a server is started or a block generated: bad input costs one line, nothing else
        if (redis != null && mixes.stream().anyMatch(m -> m.split(":").length == 3 && !m.split(":")[2].equals("0")))
        {
            throw new IllegalArgumentException("--redis runs PUTs and GETs only: the mix must have no deletes");
        }
        if (cluster != null)
        {
            return clusterRuns();
        }
        final List<Target> targets = new ArrayList<>();
        if (server != null || redis == null)
        {
            final InetSocketAddress address = server != null ? parse(server) : startServer();
            targets.add(new Target("ringblocks", RingblocksWire.INSTANCE, address,
                child != null ? child.pid() : serverPid != 0 ? serverPid : ServerPid.listening(address.getPort())));
        }
        if (redis != null)
        {
            final InetSocketAddress address = parse(redis);
            targets.add(new Target("redis", RespWire.INSTANCE, address,
                redisPid != 0 ? redisPid : ServerPid.listening(address.getPort())));
            if (!json)
            {
                System.out.println("# redis at " + redis + (targets.getLast().pid() > 0 ?
                    " (pid " + targets.getLast().pid() + ")" : ""));
            }
        }
        final boolean gets = mixes.stream().anyMatch(m -> m.split(":").length == 3 && !m.split(":")[1].equals("0"));
        final boolean puts = mixes.stream().anyMatch(m -> !m.split(":")[0].equals("0"));
        try
        {
            if (!json)
            {
                header();
            }
            int failures = 0;
            for (final String sizeText : sizes)
            {
                final int size = (int)Sizes.parse(sizeText);
                final int count = blockCount(size);
                final byte[][] content = new byte[count][];
                final byte[][] hashes = new byte[count][];
                generate(size, content, hashes);
                int[][] midstates = null;
                for (final Target target : targets)
                {
                    if (gets)
                    {
                        populate(target.address(), target.wire(), content, hashes);
                    }
                    if (puts && midstates == null && target.wire().putNeedsKey())
                    {
                        midstates = midstates(content);
                    }
                }
                for (final String mix : mixes)
                {
                    for (final int conns : concurrency)
                    {
                        for (final int pipe : pipeline)
                        {
                            for (final long rate : rates)
                            {
                                for (final Target target : targets)
                                {
                                    failures += run(target, targets.size() > 1, sizeText, size, mix, conns, pipe,
                                        rate, content, hashes, midstates);
                                }
                            }
                        }
                    }
                }
            }
            return failures == 0 ? 0 : 1;
        }
        finally
        {
            if (child != null)
            {
                child.destroy();
                child.waitFor(30, TimeUnit.SECONDS);
            }
        }
    }

    /** {@code --cluster}: every workload through {@link ClusterBench}. */
    private int clusterRuns() throws Exception
    {
        if (server != null || redis != null || requests > 0 || rates.stream().anyMatch(r -> r != 0))
        {
            throw new IllegalArgumentException("--cluster runs closed-loop, timed workloads only: no --server, " +
                "--redis, -requests or -rate with it");
        }
        final ClusterBench bench = new ClusterBench(io.ringblocks.client.MemberList.parse(cluster), replicas,
            System.out);
        if (!json)
        {
            header();
        }
        int failures = 0;
        for (final String sizeText : sizes)
        {
            final int size = (int)Sizes.parse(sizeText);
            final int count = blockCount(size);
            final byte[][] content = new byte[count][];
            generate(size, content, new byte[count][]);
            for (final String mix : mixes)
            {
                for (final int conns : concurrency)
                {
                    for (final int pipe : pipeline)
                    {
                        failures += bench.run(new ClusterBench.Workload(sizeText, size, mix, conns, pipe,
                            Sizes.durationNanos(warmup), Sizes.durationNanos(duration), json), content);
                    }
                }
            }
        }
        return failures == 0 ? 0 : 1;
    }

    /** The table's column names (the rows are printed by the runs, in the same widths). */
    private static void header()
    {
        System.out.printf("%-22s %5s %4s %10s %10s %8s %8s %8s %9s %9s %6s %9s %9s%n", "workload", "conns", "pipe",
            "ops/s", "MB/s", "p50 us", "p90 us", "p99 us", "p99.9 us", "max us", "errors", "cli us/op", "srv us/op");
    }

    private static InetSocketAddress parse(final String hostPort)
    {
        final int colon = hostPort.lastIndexOf(':');
        return new InetSocketAddress(hostPort.substring(0, colon), Integer.parseInt(hostPort.substring(colon + 1)));
    }

    private InetSocketAddress startServer() throws Exception
    {
        final Path data = Files.createTempDirectory("rbbench-");
        final int port;
        try (ServerSocket s = new ServerSocket(0))
        {
            port = s.getLocalPort();
        }
        final List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        for (final String arg : ManagementFactory.getRuntimeMXBean().getInputArguments())
        {
            if (arg.startsWith("--") || arg.startsWith("-XX:") || arg.startsWith("-Xm"))
            {
                command.add(arg);
            }
        }
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), ServerMain.class.getName(),
            "--listen", "127.0.0.1:" + port, "--data", data.toString(), "--max-size", "64g"));
        if (!serverArgs.isBlank())
        {
            command.addAll(List.of(serverArgs.trim().split("\\s+")));
        }
        child = new ProcessBuilder(command).redirectErrorStream(true)
            .redirectOutput(data.resolve("server.log").toFile()).start();
        Runtime.getRuntime().addShutdownHook(new Thread(() ->
        {
            child.destroyForcibly();
            deleteQuietly(data);
        }));
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline)
        {
            try (Socket probe = new Socket("127.0.0.1", port))
            {
                if (!json)
                {
                    System.out.println("# server: " + Files.readString(data.resolve("server.log")).lines()
                        .filter(l -> l.startsWith("ringblocks listening")).findFirst().orElse("started"));
                }
                return new InetSocketAddress("127.0.0.1", port);
            }
            catch (final IOException notYet)
            {
                if (!child.isAlive())
                {
                    throw new IllegalStateException("server exited: " + Files.readString(data.resolve("server.log")));
                }
                Thread.sleep(50);
            }
        }
        throw new IllegalStateException("server did not start within 30 s");
    }

    private static void deleteQuietly(final Path dir)
    {
        try (var files = Files.walk(dir))
        {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
        catch (final IOException ignored)
        {
            // Best effort: it is a temporary directory.
        }
    }

    /** The blocks of one size: random content, the same for every run of that size, and their SHA-256. */
    /** @return how many distinct blocks of {@code size} a run uses: {@code -blocks}, capped at 256 MiB of them. */
    private int blockCount(final int size)
    {
        return (int)Math.max(1, Math.min(blocks, MAX_BLOCK_BYTES / size));
    }

    private static void generate(final int size, final byte[][] content, final byte[][] hashes) throws Exception
    {
        final MessageDigest sha = MessageDigest.getInstance("SHA-256");
        final Random random = new Random(size);
        for (int i = 0; i < content.length; i++)
        {
            content[i] = new byte[size];
            random.nextBytes(content[i]);
            hashes[i] = sha.digest(content[i]);
        }
    }

    private static int[][] midstates(final byte[][] content)
    {
        final TailSha256 sha = new TailSha256();
        final int[][] midstates = new int[content.length][];
        for (int i = 0; i < content.length; i++)
        {
            midstates[i] = sha.midstate(content[i]);
        }
        return midstates;
    }

    /** Stores the blocks GETs will ask for, one request at a time, checking each answer (and ringblocks' hash). */
    private static void populate(final InetSocketAddress address, final Wire wire, final byte[][] content,
        final byte[][] hashes) throws Exception
    {
        final int size = content[0].length;
        final ByteBuffer request = ByteBuffer.allocate(wire.maxRequestLength(size)).order(ByteOrder.LITTLE_ENDIAN);
        final ByteBuffer answer = ByteBuffer.allocate(Math.max(4096, 2 * wire.maxRequestLength(size)))
            .order(ByteOrder.LITTLE_ENDIAN);
        final Wire.Reply reply = new Wire.Reply();
        final int u = TailSha256.uniqueLength(size);
        final byte[] tail = new byte[u];
        try (Socket s = new Socket(address.getHostString(), address.getPort()))
        {
            s.setTcpNoDelay(true);
            final OutputStream out = s.getOutputStream();
            final InputStream in = s.getInputStream();
            for (int i = 0; i < content.length; i++)
            {
                System.arraycopy(content[i], size - u, tail, 0, u);
                request.clear();
                wire.put(request, i, content[i], tail, u, hashes[i]);
                out.write(request.array(), 0, request.position());
                answer.clear();
                answer.flip();
                while (!wire.decode(answer, reply))
                {
                    answer.compact();
                    final int n = in.read(answer.array(), answer.position(), answer.remaining());
                    if (n < 0)
                    {
                        throw new IOException("the server closed the connection while populating");
                    }
                    answer.position(answer.position() + n).flip();
                }
                final boolean hashOk = wire.putNeedsKey() || reply.bodyLength == hashes[i].length &&
                    Arrays.equals(answer.array(), reply.bodyOffset, reply.bodyOffset + reply.bodyLength, hashes[i], 0,
                        hashes[i].length);
                if (reply.status != Wire.Reply.OK || !hashOk || answer.remaining() != reply.length)
                {
                    final StringBuilder why = new StringBuilder("populate PUT failed: ");
                    wire.describe(answer, reply, why);
                    throw new IllegalStateException(why.toString());
                }
            }
        }
    }

    /** A server under test: how to speak to it, where, and whose CPU time is its cost (pid, or -1: unknown). */
    private record Target(String name, Wire wire, InetSocketAddress address, long pid)
    {
    }

    /** Every list argument, checked up front. */
    private void checkArguments()
    {
        for (final String mix : mixes)
        {
            final String[] weights = mix.split(":", -1);
            if (weights.length != 3)
            {
                throw new IllegalArgumentException("-mix must be put:get:del, got " + mix);
            }
            for (final String w : weights)
            {
                if (!w.matches("[0-9]{1,6}"))
                {
                    throw new IllegalArgumentException("-mix weights are whole numbers, got " + mix);
                }
            }
            if (mix.equals("0:0:0"))
            {
                throw new IllegalArgumentException("-mix needs a non-zero weight, got " + mix);
            }
        }
        for (final long rate : rates)
        {
            if (rate < 0)
            {
                throw new IllegalArgumentException("-rate must be >= 0, got " + rate);
            }
        }
    }

    private int run(final Target target, final boolean named, final String sizeText, final int size,
        final String mix, final int conns, final int pipe, final long rate, final byte[][] content,
        final byte[][] hashes, final int[][] midstates) throws Exception
    {
        if (rate < 0)
        {
            throw new IllegalArgumentException("-rate must be >= 0, got " + rate);
        }
        final String[] weights = mix.split(":");
        if (weights.length != 3)
        {
            throw new IllegalArgumentException("-mix must be put:get:del, got " + mix);
        }
        final long warm = Sizes.durationNanos(warmup);
        final long measure = requests > 0 ? TimeUnit.HOURS.toNanos(1) : Sizes.durationNanos(duration);
        final int clientThreads = Math.max(1, Math.min(threads, conns));
        final AtomicLong budget = requests > 0 ?
            new AtomicLong(requests) : null;
        final LoadGenerator[] generators = new LoadGenerator[clientThreads];
        final Thread[] running = new Thread[clientThreads];
        final LoadGenerator.Window window = new LoadGenerator.Window(clientThreads);
        for (int t = 0; t < clientThreads; t++)
        {
            final int share = conns / clientThreads + (t < conns % clientThreads ? 1 : 0);
            generators[t] = new LoadGenerator(new LoadGenerator.Plan(target.wire(), target.address(), share, pipe,
                size, Integer.parseInt(weights[0]), Integer.parseInt(weights[1]), Integer.parseInt(weights[2]),
                content, hashes, midstates, requests, verifyEvery, (double)rate * share / conns), window,
                31L * t + 7, budget);
            running[t] = new Thread(generators[t], "rbbench-" + t);
            running[t].start();
        }
        window.ready.await();
        final long clientCpuBefore = processCpuNanos();
        final long serverCpuBefore = ServerPid.cpuNanos(target.pid());
        final long start = System.nanoTime();
        final long measureFrom = start + warm;
        final long end = measureFrom + measure;
        window.open(requests > 0 ? start : measureFrom, end);
        for (final Thread t : running)
        {
            t.join();
        }
        final long elapsed = Math.min(System.nanoTime(), end) - (requests > 0 ? start : measureFrom);
        final long clientCpu = processCpuNanos() - clientCpuBefore;
        final long serverCpuAfter = ServerPid.cpuNanos(target.pid());
        final long serverCpu = serverCpuBefore < 0 || serverCpuAfter < 0 ? -1 : serverCpuAfter - serverCpuBefore;
        final Histogram all = new Histogram(3_600_000_000_000L, 3);
        long ops = 0;
        long bytes = 0;
        long errors = 0;
        long verified = 0;
        long verifyFailures = 0;
        long completed = 0;
        String firstError = "";
        for (final LoadGenerator g : generators)
        {
            all.add(g.histogram);
            ops += g.measured;
            bytes += g.bytesMoved;
            errors += g.errors;
            verified += g.verified;
            verifyFailures += g.verifyFailures;
            completed += g.completed.get();
            if (firstError.isEmpty())
            {
                firstError = g.firstError.toString();
            }
        }
        final double secondsMeasured = elapsed / 1e9;
        final double opsPerSecond = ops / secondsMeasured;
        final double mbPerSecond = bytes / secondsMeasured / 1e6;
        final String name = label(mix) + " " + sizeText + (rate > 0 ? " @" + rate + "/s" : "") +
            (named && !json ? " " + target.name() : "");
        final double cliPerOp = completed == 0 ? 0 : clientCpu / 1000.0 / completed;
        final double srvPerOp = completed == 0 || serverCpu < 0 ? -1 : serverCpu / 1000.0 / completed;
        if (json)
        {
            System.out.printf(Locale.ROOT, "{\"server\":\"%s\",\"workload\":\"%s\",\"size\":%d,\"mix\":\"%s\",\"connections\":%d," +
                    "\"pipeline\":%d,\"ops_per_s\":%.1f,\"mb_per_s\":%.1f,\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f," +
                    "\"p999_us\":%.1f,\"max_us\":%.1f,\"errors\":%d,\"verified_gets\":%d,\"verify_failures\":%d," +
                    "\"client_cpu_us_per_op\":%.2f,\"server_cpu_us_per_op\":%.2f,\"rate\":%d}%n",
                target.name(), name, size, mix, conns, pipe, opsPerSecond, mbPerSecond, us(all, 50), us(all, 90), us(all, 99),
                us(all, 99.9), all.getMaxValue() / 1000.0, errors, verified, verifyFailures, cliPerOp, srvPerOp, rate);
        }
        else
        {
            row(System.out, name, conns, pipe, opsPerSecond, mbPerSecond, all, errors + verifyFailures, cliPerOp,
                srvPerOp);
            if (!firstError.isEmpty())
            {
                System.out.println("#   first error: " + firstError);
            }
        }
        return errors + verifyFailures > 0 ? 1 : 0;
    }

    /** One table row, in the widths of {@link #header()}; {@code srvPerOp < 0}: unknown. */
    static void row(final PrintStream out, final String name, final int conns, final int pipe,
        final double opsPerSecond, final double mbPerSecond, final Histogram h, final long errors,
        final double cliPerOp, final double srvPerOp)
    {
        out.printf(Locale.ROOT, "%-22s %5d %4d %10.0f %10.1f %8.0f %8.0f %8.0f %9.0f %9.0f %6d %9.2f %9s%n", name,
            conns, pipe, opsPerSecond, mbPerSecond, us(h, 50), us(h, 90), us(h, 99), us(h, 99.9),
            h.getMaxValue() / 1000.0, errors, cliPerOp,
            srvPerOp < 0 ? "n/a" : String.format(Locale.ROOT, "%.2f", srvPerOp));
    }

    static String label(final String mix)
    {
        return switch (mix)
        {
            case "1:0:0" -> "PUT";
            case "0:1:0" -> "GET";
            case "0:0:1" -> "DEL";
            default -> "MIX " + mix;
        };
    }

    static double us(final Histogram h, final double percentile)
    {
        return h.getValueAtPercentile(percentile) / 1000.0;
    }

    static long processCpuNanos()
    {
        return ((com.sun.management.OperatingSystemMXBean)ManagementFactory.getOperatingSystemMXBean())
            .getProcessCpuTime();
    }
}
