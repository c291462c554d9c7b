package io.ringblocks.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import org.agrona.concurrent.UnsafeBuffer;

import io.ringblocks.storage.WriteAheadLog;
import io.ringblocks.sys.Errno;
import io.ringblocks.sys.LibC;

/**
 * Throwaway measurement (not a test, not JMH: a flush is a device round trip, not a CPU loop): what one 4 KiB
 * durable WAL append costs on the filesystem of the given directory, written four ways. Run with
 * {@code java -cp target/classes:target/test-classes:<agrona> io.ringblocks.bench.WalFlushCost DIR [iterations]}.
 */
public final class WalFlushCost
{
    private static final int O_DSYNC = 0x1000;
    private static final int O_SYNC = 0x101000;

    private WalFlushCost()
    {
    }

    public static void main(final String[] args) throws Exception
    {
        final Path dir = Files.createTempDirectory(Path.of(args.length > 0 ? args[0] : "/work"), "walcost");
        final int iterations = args.length > 1 ? Integer.parseInt(args[1]) : 2000;
        final String[] names =
            {
                "WriteAheadLog.append + sync (O_DIRECT pwrite, fdatasync)",
                "  of which the pwrite",
                "pwrite O_DIRECT|O_DSYNC (0x1000) on a second fd",
                "pwrite O_DIRECT|O_SYNC (0x101000) on a second fd",
                "pwrite buffered + fdatasync on a second fd",
            };
        final long[][] nanos = new long[names.length][iterations];
        try (WriteAheadLog wal = WriteAheadLog.open(dir, 64L << 20, new byte[16], true))
        {
            System.out.println("log " + wal.file() + " direct=" + wal.isDirect() + "; variants interleaved per iteration");
            final String file = wal.file().toString();
            final int dsync = LibC.open(file, LibC.O_RDWR | LibC.O_CLOEXEC | LibC.O_DIRECT | O_DSYNC, 0);
            final int sync = LibC.open(file, LibC.O_RDWR | LibC.O_CLOEXEC | LibC.O_DIRECT | O_SYNC, 0);
            final int buffered = LibC.open(file, LibC.O_RDWR | LibC.O_CLOEXEC, 0);
            check(dsync);
            check(sync);
            check(buffered);
            final MemorySegment page = Arena.global().allocate(4096, 4096);
            wal.startAppending(1, WriteAheadLog.PAGE, 0, WriteAheadLog.PAGE);
            final UnsafeBuffer hash = new UnsafeBuffer(new byte[32]);
            for (int i = -200; i < iterations; i++)
            {
                wal.begin();
                wal.addPut(hash, 0, 4096L * (i + 200), 4096, 0, i, 0);
                long start = System.nanoTime();
                check(wal.append(wal.lastSequence(), 1));
                final long written = System.nanoTime();
                check(wal.sync());
                record(nanos, 0, i, System.nanoTime() - start);
                record(nanos, 1, i, written - start);
                wal.checkpointed(wal.nextPosition());

                // The other descriptors write zero pages ahead of the log's append position, which it overwrites later.
                final long offset = wal.nextPosition() + 4096L * (1 + (i & 7));
                page.set(java.lang.foreign.ValueLayout.JAVA_INT, 0, i);
                start = System.nanoTime();
                check((int)Math.min(0, LibC.pwrite(dsync, page, 4096, offset)));
                record(nanos, 2, i, System.nanoTime() - start);
                start = System.nanoTime();
                check((int)Math.min(0, LibC.pwrite(sync, page, 4096, offset + 4096 * 8)));
                record(nanos, 3, i, System.nanoTime() - start);
                start = System.nanoTime();
                check((int)Math.min(0, LibC.pwrite(buffered, page, 4096, offset + 4096 * 16)));
                check(LibC.fdatasync(buffered));
                record(nanos, 4, i, System.nanoTime() - start);
            }
            LibC.close(dsync);
            LibC.close(sync);
            LibC.close(buffered);
        }
        for (int v = 0; v < names.length; v++)
        {
            report(names[v], nanos[v]);
        }
        Files.delete(dir.resolve(WriteAheadLog.FILE));
        Files.delete(dir);
    }

    private static void record(final long[][] nanos, final int variant, final int iteration, final long value)
    {
        if (iteration >= 0)
        {
            nanos[variant][iteration] = value;
        }
    }

    private static void check(final int rc)
    {
        if (rc < 0)
        {
            throw new IllegalStateException(Errno.describe(rc));
        }
    }

    private static void report(final String what, final long[] nanos)
    {
        final long[] sorted = nanos.clone();
        Arrays.sort(sorted);
        System.out.printf("%-60s median %7.1f µs  p90 %7.1f  p99 %7.1f  (n=%d)%n", what,
            sorted[sorted.length / 2] / 1e3, sorted[sorted.length * 9 / 10] / 1e3, sorted[sorted.length * 99 / 100] / 1e3,
            sorted.length);
    }
}
