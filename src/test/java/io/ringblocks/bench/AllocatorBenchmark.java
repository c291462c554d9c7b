package io.ringblocks.bench;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

import io.ringblocks.alloc.BuddyAllocator;

/** Buddy allocator: one allocate + one free of a random class (4 KiB … 1 MiB) over a 16 GiB file, half full. */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class AllocatorBenchmark
{
    private static final int LIVE = 1 << 16;

    private BuddyAllocator allocator;
    private final long[] offsets = new long[LIVE];
    private final int[] classes = new int[LIVE];
    private SplittableRandom random;

    @Setup(Level.Trial)
    public void setUp()
    {
        allocator = new BuddyAllocator(16L << 30);
        allocator.grow(16 << 10);
        random = new SplittableRandom(1);
        for (int i = 0; i < LIVE; i++)
        {
            classes[i] = skewedClass();
            offsets[i] = allocator.allocate(classes[i]);
        }
    }

    /** Mostly small blocks, as a block store sees them. */
    private int skewedClass()
    {
        final int r = random.nextInt(100);
        return r < 60 ? 0 : r < 80 ? 1 + random.nextInt(2) : r < 95 ? 3 + random.nextInt(3) : 6 + random.nextInt(3);
    }

    @Benchmark
    public long allocateAndFree()
    {
        final int i = random.nextInt(LIVE);
        allocator.free(offsets[i], classes[i]);
        classes[i] = skewedClass();
        offsets[i] = allocator.allocate(classes[i]);
        return offsets[i];
    }
}
