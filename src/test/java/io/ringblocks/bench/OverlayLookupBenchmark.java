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
 * Overlay lookups from one reader thread, the active table half full: a hit, a miss with only the active table, and
 * a miss through the active and a linked frozen table (a worker's usual case: the block is in LMDB). As in a worker,
 * the key is hot (it was just received) and the table is not: each operation derives a random key into a 32-byte
 * scratch buffer (a few ns, included) rather than reading it from a key array as large as the table.
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
    private final UnsafeBuffer key = new UnsafeBuffer(ByteBuffer.allocateDirect(Overlay.KEY_LENGTH));
    private int count;
    private final SplittableRandom random = new SplittableRandom(17);

    @Setup(Level.Trial)
    public void setUp()
    {
        count = slots / 2;
        activeOnly = new Overlay(slots);
        withFrozen = new Overlay(slots);
        for (int i = 0; i < count; i++)
        {
            key(i);
            activeOnly.put(key, 0, i * 4096L, 4096, 0, i, 0);
            withFrozen.put(key, 0, i * 4096L, 4096, 0, i, 0);
        }
        withFrozen.freeze();
        for (int i = 0; i < count; i++)
        {
            key(i);
            withFrozen.put(key, 0, i * 8192L, 4096, 0, i, 0);
        }
        activeReader = activeOnly.reader();
        frozenReader = withFrozen.reader();
    }

    /** Key {@code i}: four mixed longs; keys {@code 0 .. count - 1} are in the tables, the others are not. */
    private void key(final int i)
    {
        long x = i * 0x9E3779B97F4A7C15L;
        for (int j = 0; j < Overlay.KEY_LENGTH; j += 8)
        {
            x += 0x9E3779B97F4A7C15L;
            long z = x;
            z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
            z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
            key.putLong(j, z ^ (z >>> 31));
        }
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
        key(random.nextInt(count));
        if (activeReader.lookup(key, 0) != Overlay.LIVE)
        {
            throw new IllegalStateException("key missing");
        }
        return activeReader.offset();
    }

    @Benchmark
    public int miss()
    {
        key(count + random.nextInt(count));
        return activeReader.lookup(key, 0);
    }

    @Benchmark
    public int missActiveAndFrozen()
    {
        key(count + random.nextInt(count));
        return frozenReader.lookup(key, 0);
    }
}
