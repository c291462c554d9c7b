package io.ringblocks.bench;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * What checking a block on every read costs: CRC32C (what GETs verify) against SHA-256 (what verifying the block's
 * address would cost) over a direct buffer, as the workers do it on their I/O arena. Per operation = per block.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@State(Scope.Thread)
public class ChecksumBenchmark
{
    @Param({"4096", "524288"})
    int size;

    private ByteBuffer block;
    private final CRC32C crc = new CRC32C();
    private MessageDigest sha;
    private final byte[] digest = new byte[32];

    @Setup
    public void setUp() throws Exception
    {
        block = ByteBuffer.allocateDirect(size);
        final SplittableRandom random = new SplittableRandom(7);
        while (block.remaining() >= 8)
        {
            block.putLong(random.nextLong());
        }
        block.clear();
        sha = MessageDigest.getInstance("SHA-256");
    }

    @Benchmark
    public long crc32c()
    {
        block.clear();
        crc.reset();
        crc.update(block);
        return crc.getValue();
    }

    @Benchmark
    public byte[] sha256() throws Exception
    {
        block.clear();
        sha.update(block);
        sha.digest(digest, 0, 32);
        return digest;
    }
}
