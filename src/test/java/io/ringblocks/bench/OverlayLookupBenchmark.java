package io.ringblocks.bench;

import java.nio.ByteBuffer;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import org.agrona.concurrent.UnsafeBuffer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import io.ringblocks.storage.Overlay;

/**
 * Overlay lookups from one reader thread over random 32-byte keys, the active table half full: a hit, a miss with
 * only the active table, and a miss through the active and a linked frozen table (a worker's usual case: the block
 * is in LMDB). Per operation = one lookup, including picking a random key.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class OverlayLookupBenchmark
{
    @Param({"65536", "1048576"})
    int slots;

    private Overlay activeOnly;
    private Overlay withFrozen;
    private Overlay.Reader activeReader;
    private Overlay.Reader frozenReader;
    private UnsafeBuffer present;
    private UnsafeBuffer absent;
    private int count;
    private final SplittableRandom random = new SplittableRandom(17);

    @Setup(Level.Trial)
    public void setUp()
    {
        count = slots / 2;
        present = keys(count, 1);
        absent = keys(count, 2);
        activeOnly = new Overlay(slots);
        withFrozen = new Overlay(slots);
        for (int i = 0; i < count; i++)
        {
            activeOnly.put(present, i * 32, i * 4096L, 4096, 0, i, 0);
            withFrozen.put(present, i * 32, i * 4096L, 4096, 0, i, 0);
        }
        withFrozen.freeze();
        for (int i = 0; i < count; i++)
        {
            withFrozen.put(present, i * 32, i * 8192L, 4096, 0, i, 0);
        }
        activeReader = activeOnly.reader();
        frozenReader = withFrozen.reader();
    }

    private static UnsafeBuffer keys(final int count, final long seed)
    {
        final UnsafeBuffer keys = new UnsafeBuffer(ByteBuffer.allocateDirect(count * 32));
        final SplittableRandom random = new SplittableRandom(seed);
        for (int i = 0; i < count * 4; i++)
        {
            keys.putLong(i * 8, random.nextLong());
        }
        return keys;
    }

    @TearDown(Level.Trial)
    public void tearDown()
    {
        activeOnly.close();
        withFrozen.close();
    }

    @Benchmark
    public long hit()
    {
        if (activeReader.lookup(present, random.nextInt(count) * 32) != Overlay.LIVE)
        {
            throw new IllegalStateException("key missing");
        }
        return activeReader.offset();
    }

    @Benchmark
    public int miss()
    {
        return activeReader.lookup(absent, random.nextInt(count) * 32);
    }

    @Benchmark
    public int missActiveAndFrozen()
    {
        return frozenReader.lookup(absent, random.nextInt(count) * 32);
    }
}
