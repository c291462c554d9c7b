package io.ringblocks.uring;

import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.ringblocks.sys.Errno;
import io.ringblocks.sys.LibC;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RingFileIoTest
{
    private static final int[] SIZES = {4096, 8192, 16384, 65536, 131072, 524288, 1048576};

    @TempDir
    Path dir;

    /** Waits until {@code expected} completions arrived; returns them in order of arrival. */
    static CompletionBatch awaitCompletions(final Ring ring, final int expected)
    {
        final CompletionBatch all = new CompletionBatch(Math.max(expected, 1));
        final CompletionBatch batch = new CompletionBatch(64);
        final long deadline = System.nanoTime() + 10_000_000_000L;
        while (all.size() < expected)
        {
            if (System.nanoTime() > deadline)
            {
                throw new AssertionError("timed out with " + all.size() + " of " + expected + " completions");
            }
            ring.submitAndWait(1, 100_000_000L);
            ring.reap(batch);
            for (int i = 0; i < batch.size(); i++)
            {
                all.add(batch.userData(i), batch.result(i), batch.flags(i));
            }
        }
        return all;
    }

    static int openDirect(final Path file)
    {
        int fd = LibC.open(file.toString(), LibC.O_RDWR | LibC.O_CREAT | LibC.O_DIRECT | LibC.O_CLOEXEC, 0644);
        if (fd == -Errno.EINVAL)
        {
            // tmpfs and some overlay filesystems refuse O_DIRECT; the ring path is the same without it.
            fd = LibC.open(file.toString(), LibC.O_RDWR | LibC.O_CREAT | LibC.O_CLOEXEC, 0644);
        }
        final int opened = fd;
        assertTrue(opened >= 0, () -> "open failed: " + Errno.describe(opened));
        return opened;
    }

    private static void fill(final MemorySegment segment, final byte[] bytes)
    {
        MemorySegment.copy(bytes, 0, segment, JAVA_BYTE, 0, bytes.length);
    }

    private static byte[] read(final MemorySegment segment, final int length)
    {
        final byte[] out = new byte[length];
        MemorySegment.copy(segment, JAVA_BYTE, 0, out, 0, length);
        return out;
    }

    private void roundTrip(final boolean fixed, final long seed) throws Exception
    {
        final Path file = Files.createTempFile(dir, "data", ".bin");
        try (Ring ring = new Ring(64); RegisteredBuffers buffers = new RegisteredBuffers(2, 1 << 20))
        {
            if (fixed)
            {
                buffers.register(ring);
            }
            final int fd = openDirect(file);
            final Random random = new Random(seed);
            long offset = 0;
            for (final int size : SIZES)
            {
                final byte[] expected = new byte[size];
                random.nextBytes(expected);
                final MemorySegment out = buffers.segment(0);
                final MemorySegment in = buffers.segment(1);
                fill(out, expected);
                in.fill((byte)0);
                if (fixed)
                {
                    ring.prepWriteFixed(fd, buffers.address(0), size, offset, 0, UserData.pack(1, 1, 0));
                }
                else
                {
                    ring.prepWrite(fd, buffers.address(0), size, offset, UserData.pack(1, 1, 0));
                }
                CompletionBatch done = awaitCompletions(ring, 1);
                assertEquals(size, done.result(0), "write of " + size + ": " + Errno.describe(done.result(0)));

                if (fixed)
                {
                    ring.prepReadFixed(fd, buffers.address(1), size, offset, 1, UserData.pack(2, 2, 0));
                }
                else
                {
                    ring.prepRead(fd, buffers.address(1), size, offset, UserData.pack(2, 2, 0));
                }
                done = awaitCompletions(ring, 1);
                assertEquals(size, done.result(0), "read of " + size + ": " + Errno.describe(done.result(0)));
                assertEquals(2, UserData.slot(done.userData(0)));
                assertArrayEquals(expected, read(in, size), "bytes of block size " + size);
                offset += size;
            }
            ring.prepFsync(fd, true, 7);
            assertEquals(0, awaitCompletions(ring, 1).result(0));
            ring.prepClose(fd, 8);
            assertEquals(0, awaitCompletions(ring, 1).result(0));
        }
    }

    @Test
    void shouldRoundTripODirectBlocksThroughRegisteredBuffers() throws Exception
    {
        roundTrip(true, 42);
    }

    @Test
    void shouldRoundTripODirectBlocksThroughPlainReadWrite() throws Exception
    {
        roundTrip(false, 43);
    }

    @Test
    void shouldReadAndWriteThroughRegisteredFiles() throws Exception
    {
        final Path file = dir.resolve("fixed.bin");
        try (Ring ring = new Ring(8); RegisteredBuffers buffers = new RegisteredBuffers(2, 8192))
        {
            final int fd = openDirect(file);
            ring.registerFiles(fd);
            final byte[] expected = new byte[8192];
            new Random(9).nextBytes(expected);
            fill(buffers.segment(0), expected);
            // fd 0 is the index of the registered file, not a descriptor.
            ring.prepWrite(0, buffers.address(0), 8192, 4096, 1);
            ring.setLastSqeFlags(Ring.SQE_FIXED_FILE);
            assertEquals(8192, awaitCompletions(ring, 1).result(0));
            ring.prepRead(0, buffers.address(1), 8192, 4096, 2);
            ring.setLastSqeFlags(Ring.SQE_FIXED_FILE);
            assertEquals(8192, awaitCompletions(ring, 1).result(0));
            assertArrayEquals(expected, read(buffers.segment(1), 8192));
            ring.unregisterFiles();
            ring.prepRead(0, buffers.address(1), 8192, 4096, 3);
            ring.setLastSqeFlags(Ring.SQE_FIXED_FILE);
            assertEquals(-Errno.EBADF, awaitCompletions(ring, 1).result(0), "no registered files any more");
            LibC.close(fd);
        }
    }

    @Test
    void shouldReturnShortReadAtEndOfFileAndZeroOnResubmit() throws Exception
    {
        final Path file = dir.resolve("short.bin");
        final byte[] content = new byte[10_000];
        new Random(1).nextBytes(content);
        Files.write(file, content);
        try (Ring ring = new Ring(8); RegisteredBuffers buffers = new RegisteredBuffers(1, 16384))
        {
            final int fd = LibC.open(file.toString(), LibC.O_RDONLY | LibC.O_CLOEXEC, 0);
            int done = 0;
            int shortReads = 0;
            while (true)
            {
                ring.prepRead(fd, buffers.address(0) + done, 16384 - done, done, 1);
                final int res = awaitCompletions(ring, 1).result(0);
                assertTrue(res >= 0, Errno.describe(res));
                if (res == 0)
                {
                    break;
                }
                if (res < 16384 - done)
                {
                    shortReads++;
                }
                done += res;
            }
            assertEquals(content.length, done);
            assertEquals(1, shortReads);
            assertArrayEquals(content, read(buffers.segment(0), content.length));
            LibC.close(fd);
        }
    }

    @Test
    void shouldCompleteMoreSqesThanRingEntriesAndSurviveCqOverflow()
    {
        try (Ring ring = new Ring(8))
        {
            final int total = 5_000;
            // All queued before a single reap: the SQ (8) fills many times and the CQ (32) overflows.
            for (int i = 0; i < total; i++)
            {
                ring.prepNop(UserData.pack(i, 3, i));
            }
            ring.submit();
            final boolean[] seen = new boolean[total];
            final CompletionBatch all = awaitCompletions(ring, total);
            for (int i = 0; i < total; i++)
            {
                final int slot = UserData.slot(all.userData(i));
                assertEquals(0, all.result(i));
                assertEquals(3, UserData.op(all.userData(i)));
                assertEquals(slot & UserData.GENERATION_MASK, UserData.generation(all.userData(i)));
                assertTrue(!seen[slot], "slot completed twice: " + slot);
                seen[slot] = true;
            }
            assertTrue(ring.sqFullSubmits() > 0, "SQ never filled");
            assertEquals(total, ring.submitted());
            assertEquals(0, ring.droppedCqes());
        }
    }

    @Test
    void shouldSubmitFirstWhenAReservedChainWouldNotFitTheQueue()
    {
        try (Ring ring = new Ring(8))
        {
            for (int i = 0; i < 6; i++)
            {
                ring.prepNop(i);
            }
            ring.reserve(2); // 6 + 2 fit: nothing submitted
            assertEquals(6, ring.pending());
            ring.reserve(3);
            assertEquals(0, ring.pending());
            assertEquals(6, ring.submitted());
            ring.prepNop(6);
            ring.setLastSqeFlags(Ring.SQE_IO_LINK);
            ring.prepNop(7);
            final CompletionBatch done = awaitCompletions(ring, 8);
            for (int i = 0; i < 8; i++)
            {
                assertEquals(0, done.result(i));
            }
            assertThrows(IllegalArgumentException.class, () -> ring.reserve(9));
            assertThrows(IllegalArgumentException.class, () -> ring.reserve(0));
        }
    }

    @Test
    void shouldExpireTimeoutWithEtime()
    {
        try (Ring ring = new Ring(8))
        {
            final long start = System.nanoTime();
            ring.prepTimeout(ring.timespec(20_000_000L), 0, 0, 99);
            final CompletionBatch done = awaitCompletions(ring, 1);
            assertEquals(99, done.userData(0));
            assertEquals(-Errno.ETIME, done.result(0));
            assertTrue(System.nanoTime() - start >= 15_000_000L);
        }
    }

    @Test
    void shouldReportNegativeErrnoWithItsName()
    {
        try (Ring ring = new Ring(8))
        {
            ring.prepRead(987_654, 0, 8, 0, 5);
            final int res = awaitCompletions(ring, 1).result(0);
            assertEquals(-Errno.EBADF, res);
            assertEquals("-EBADF (9)", Errno.describe(res));
        }
    }

    @Test
    void shouldWakeRingBlockedInAnotherThread() throws Exception
    {
        final ExecutorService pool = Executors.newSingleThreadExecutor();
        try (Wakeup wakeup = new Wakeup())
        {
            final java.util.concurrent.CountDownLatch sleeping = new java.util.concurrent.CountDownLatch(1);
            final Future<Long> woke = pool.submit(() ->
            {
                try (Ring ring = new Ring(8))
                {
                    wakeup.arm(ring, 77);
                    ring.submit();
                    wakeup.prepareToSleep();
                    sleeping.countDown();
                    final long start = System.nanoTime();
                    final CompletionBatch batch = new CompletionBatch(4);
                    while (ring.reap(batch) == 0)
                    {
                        ring.submitAndWait(1);
                    }
                    wakeup.awake();
                    assertEquals(77, batch.userData(0));
                    assertEquals(8, batch.result(0));
                    return System.nanoTime() - start;
                }
            });
            sleeping.await();
            Thread.sleep(50);
            wakeup.wake();
            wakeup.wake(); // coalesced: a second waker finds it already signalled
            final long blockedNanos = woke.get(10, java.util.concurrent.TimeUnit.SECONDS);
            assertTrue(blockedNanos >= 30_000_000L, "ring returned before the wakeup: " + blockedNanos);
        }
        finally
        {
            pool.shutdownNow();
        }
    }

    @Test
    void shouldRunTwoRingsOnTwoThreadsAtOnce() throws Exception
    {
        final ExecutorService pool = Executors.newFixedThreadPool(2);
        try
        {
            final Future<?> a = pool.submit(() ->
            {
                for (int i = 0; i < 5; i++)
                {
                    roundTrip(true, 100 + i);
                }
                return null;
            });
            final Future<?> b = pool.submit(() ->
            {
                for (int i = 0; i < 5; i++)
                {
                    roundTrip(false, 200 + i);
                }
                return null;
            });
            a.get(60, java.util.concurrent.TimeUnit.SECONDS);
            b.get(60, java.util.concurrent.TimeUnit.SECONDS);
        }
        finally
        {
            pool.shutdownNow();
        }
    }

    @Test
    void shouldRefuseUseFromAnotherThread() throws Exception
    {
        try (Ring ring = new Ring(8))
        {
            final Thread other = new Thread(() ->
                org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class, ring::submit));
            final Throwable[] failure = new Throwable[1];
            other.setUncaughtExceptionHandler((t, e) -> failure[0] = e);
            other.start();
            other.join();
            assertEquals(null, failure[0]);
        }
    }
}
