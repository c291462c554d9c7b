package io.ringblocks.bench;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.concurrent.TimeUnit;

import org.agrona.concurrent.UnsafeBuffer;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import io.ringblocks.storage.CommitterClient;
import io.ringblocks.storage.ErrorHandler;
import io.ringblocks.storage.Store;
import io.ringblocks.storage.StoreConfig;
import io.ringblocks.uring.Wakeup;

/**
 * Committer throughput: one thread publishes {@code window} OCCUPY deltas at a time (as many PUTs in flight) and
 * waits for their acknowledgements; reports deltas/s and, as auxiliary counters, batches and deltas committed (their
 * ratio is the mean batch size). {@code sync}
 * includes fdatasync of the data file and a synced LMDB commit per batch.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class CommitterBenchmark
{
    private static final int ROUND = 1024;

    @Param({"64", "1024"})
    public int window;

    @Param({"relaxed", "sync"})
    public String mode;

    private Path dir;
    private Wakeup wakeup;
    private Store store;
    private CommitterClient client;
    private UnsafeBuffer hash;
    private long counter;
    private int acked;
    private final CommitterClient.AckHandler onAck = (token, result) -> acked++;

    @AuxCounters(AuxCounters.Type.EVENTS)
    @State(Scope.Thread)
    public static class Batches
    {
        public long batches;
        public long deltas;
    }

    @Setup(Level.Trial)
    public void setUp() throws Exception
    {
        dir = Files.createTempDirectory("ringblocks-committer-bench");
        wakeup = new Wakeup();
        store = Store.open(StoreConfig.builder(dir).maxSize(1L << 30).durable(mode.equals("sync")).directIo(true)
            .conclude(), new Wakeup[]{wakeup}, new ErrorHandler());
        client = store.client(0);
        hash = new UnsafeBuffer(ByteBuffer.allocateDirect(32));
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception
    {
        store.close();
        wakeup.close();
        delete(dir);
    }

    @Benchmark
    @OperationsPerInvocation(ROUND)
    public void occupy(final Batches batches)
    {
        final long batchesBefore = store.committer().batches();
        final long deltasBefore = store.committer().deltasCommitted();
        int published = 0;
        acked = 0;
        while (acked < ROUND)
        {
            while (published < ROUND && published - acked < window)
            {
                hash.putLong(0, ++counter);
                hash.putLong(8, System.identityHashCode(this));
                if (!client.publishOccupy(published, hash, 0, (counter % 200_000) * 4096L, 4096, 0, 0))
                {
                    break;
                }
                published++;
            }
            client.flush();
            if (client.pollAcks(onAck, 4096) == 0)
            {
                Thread.onSpinWait();
            }
        }
        batches.batches += store.committer().batches() - batchesBefore;
        batches.deltas += store.committer().deltasCommitted() - deltasBefore;
    }

    /** Indexes {@code count} 32-byte keys from {@code keys} through the committer (benchmark setup). */
    static void index(final Store store, final UnsafeBuffer keys, final int count)
    {
        final CommitterClient client = store.client(0);
        final int[] acked = {0};
        int published = 0;
        while (acked[0] < count)
        {
            while (published < count && client.publishOccupy(published, keys, published * 32, published * 4096L,
                4096, 0, 0))
            {
                published++;
            }
            client.flush();
            client.pollAcks((token, result) -> acked[0]++, 4096);
        }
    }

    static void delete(final Path dir) throws Exception
    {
        try (var files = Files.walk(dir))
        {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
