package io.ringblocks.bench;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import org.agrona.concurrent.UnsafeBuffer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;

import io.ringblocks.storage.ErrorHandler;
import io.ringblocks.storage.IndexReader;
import io.ringblocks.storage.Store;
import io.ringblocks.storage.StoreConfig;
import io.ringblocks.uring.Wakeup;

/**
 * LMDB lookups per thread the way workers do them: one read transaction per thread, renewed per batch of 64
 * lookups, over 200k random 32-byte keys.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class IndexLookupBenchmark
{
    static final int KEYS = 200_000;

    @State(Scope.Benchmark)
    public static class Shared
    {
        Path dir;
        Store store;
        Wakeup wakeup;
        UnsafeBuffer keys;

        @Setup(Level.Trial)
        public void setUp() throws Exception
        {
            dir = Files.createTempDirectory("ringblocks-lookup-bench");
            wakeup = new Wakeup();
            store = Store.open(StoreConfig.builder(dir).maxSize(1L << 30).durable(false).directIo(false).conclude(),
                new Wakeup[]{wakeup}, new ErrorHandler());
            keys = new UnsafeBuffer(ByteBuffer.allocateDirect(KEYS * 32));
            final SplittableRandom random = new SplittableRandom(3);
            for (int i = 0; i < KEYS * 4; i++)
            {
                keys.putInt(i * 8, random.nextInt());
                keys.putInt(i * 8 + 4, random.nextInt());
            }
            CommitterBenchmark.index(store, keys, KEYS);
        }

        @TearDown(Level.Trial)
        public void tearDown() throws Exception
        {
            store.close();
            wakeup.close();
            CommitterBenchmark.delete(dir);
        }
    }

    @State(Scope.Thread)
    public static class PerThread
    {
        IndexReader reader;
        SplittableRandom random = new SplittableRandom(Thread.currentThread().threadId());
        int sinceRenew;

        @Setup(Level.Trial)
        public void setUp(final Shared shared)
        {
            reader = shared.store.index().reader();
        }

        @TearDown(Level.Trial)
        public void tearDown()
        {
            reader.close();
        }
    }

    @Benchmark
    @Threads(1)
    public long lookupOneThread(final Shared shared, final PerThread t)
    {
        return lookup(shared, t);
    }

    @Benchmark
    @Threads(2)
    public long lookupTwoThreads(final Shared shared, final PerThread t)
    {
        return lookup(shared, t);
    }

    private static long lookup(final Shared shared, final PerThread t)
    {
        if (++t.sinceRenew == 64)
        {
            t.sinceRenew = 0;
            t.reader.release();
        }
        if (!t.reader.lookup(shared.keys, t.random.nextInt(KEYS) * 32))
        {
            throw new IllegalStateException("key missing");
        }
        return t.reader.offset();
    }
}
