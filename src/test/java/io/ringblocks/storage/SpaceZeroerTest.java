package io.ringblocks.storage;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicInteger;

import org.agrona.concurrent.NanoClock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The zeroer's pacing (deterministic clock, real file): ahead of the allocator while small blocks stream in, out
 * of the way of large ones, everything when idle; and never into space the allocator has taken.
 */
class SpaceZeroerTest
{
    private static final long HANDED = Store.DATA_START + (1 << 20);
    private static final long SIZE = Store.DATA_START + (64L << 20);

    @TempDir
    Path dir;

    private DataFile file;
    private final long[] now = {1_000_000_000L};
    private final NanoClock clock = () -> now[0];
    private final AtomicInteger wakeups = new AtomicInteger();

    @BeforeEach
    void open()
    {
        file = new DataFile(dir.resolve("blocks.dat"), true, false);
        assertEquals(0, file.growTo(SIZE));
    }

    @AfterEach
    void close()
    {
        file.close();
    }

    private SpaceZeroer zeroer(final boolean paced)
    {
        return new SpaceZeroer(file, paced, HANDED, new ErrorHandler(), clock, wakeups::incrementAndGet);
    }

    /** One millisecond of load: {@code count} blocks of {@code size} allocated, then a zeroer cycle. */
    private int busyMillisecond(final SpaceZeroer zeroer, final int count, final int size)
    {
        for (int i = 0; i < count; i++)
        {
            zeroer.allocated(size);
        }
        now[0] += 1_000_000L;
        return zeroer.doWork();
    }

    @Test
    void shouldKeepALeadZeroedWhileSmallBlocksDominate()
    {
        final SpaceZeroer zeroer = zeroer(true);
        for (int ms = 0; ms < 200; ms++)
        {
            busyMillisecond(zeroer, 4, 4096);
        }
        assertTrue(zeroer.keepingAhead());
        assertEquals(HANDED + SpaceZeroer.LEAD, zeroer.zeroedTo(), "zeroed up to the lead, no further");
        assertTrue(zeroer.mayHandOver(HANDED, HANDED + (1 << 20)));
        assertTrue(zeroer.zeroed(HANDED + (1 << 20)));
        for (int ms = 0; ms < 10; ms++)
        {
            busyMillisecond(zeroer, 4, 4096);
        }
        assertEquals(HANDED + (1 << 20) + SpaceZeroer.LEAD, zeroer.zeroedTo(), "the lead moves with the allocator");
    }

    @Test
    void shouldStayOutOfTheWayOfLargeBlocks()
    {
        final SpaceZeroer zeroer = zeroer(true);
        for (int ms = 0; ms < 200; ms++)
        {
            assertEquals(0, busyMillisecond(zeroer, 1, 512 << 10));
        }
        assertFalse(zeroer.keepingAhead());
        assertEquals(HANDED, zeroer.zeroedTo());
    }

    @Test
    void shouldZeroOnlyWhenIdleInRelaxedMode()
    {
        final SpaceZeroer zeroer = zeroer(false);
        for (int ms = 0; ms < 200; ms++)
        {
            assertEquals(0, busyMillisecond(zeroer, 4, 4096));
        }
        assertFalse(zeroer.keepingAhead());
        now[0] += SpaceZeroer.IDLE_NANOS;
        int slices = 0;
        while (zeroer.doWork() > 0)
        {
            slices++;
        }
        assertEquals(SIZE, zeroer.zeroedTo(), "an idle store zeroes all reserved space");
        assertEquals((SIZE - HANDED) / SpaceZeroer.SLICE, slices);
        assertEquals(SIZE - HANDED, zeroer.zeroedBytes());
    }

    @Test
    void shouldRefuseToHandOverSpaceBeingZeroedAndWakeTheCommitterAfterwards()
    {
        final SpaceZeroer zeroer = zeroer(true);
        now[0] += SpaceZeroer.IDLE_NANOS;
        assertTrue(zeroer.claimSlice());
        assertFalse(zeroer.mayHandOver(HANDED, HANDED + (1 << 20)), "the chunk overlaps the slice being zeroed");
        assertEquals(0, wakeups.get());
        zeroer.finishSlice(0);
        assertEquals(1, wakeups.get(), "the waiting handover is retried");
        assertTrue(zeroer.mayHandOver(HANDED, HANDED + (1 << 20)));
        // The next slice starts where the allocator's space now ends, not inside it.
        assertTrue(zeroer.claimSlice());
        assertFalse(zeroer.mayHandOver(HANDED + (1 << 20), HANDED + (2 << 20)));
        zeroer.finishSlice(0);
        assertEquals(HANDED + (1 << 20) + SpaceZeroer.SLICE, zeroer.zeroedTo());
        assertEquals(2, wakeups.get());
    }

    @Test
    void shouldWriteZerosAndNothingBeforeTheAllocatorsEnd() throws Exception
    {
        final byte[] pattern = new byte[4096];
        Arrays.fill(pattern, (byte)0x5a);
        try (FileChannel channel = FileChannel.open(dir.resolve("blocks.dat"), StandardOpenOption.WRITE,
            StandardOpenOption.READ))
        {
            channel.write(ByteBuffer.wrap(pattern), HANDED - 4096); // the allocator's last page: holds a block
            channel.write(ByteBuffer.wrap(pattern), HANDED);        // reserved space: garbage to be zeroed
            final SpaceZeroer zeroer = zeroer(true);
            now[0] += SpaceZeroer.IDLE_NANOS;
            assertEquals(1, zeroer.doWork());
            final ByteBuffer read = ByteBuffer.allocate(8192);
            channel.read(read, HANDED - 4096);
            for (int i = 0; i < 4096; i++)
            {
                assertEquals(0x5a, read.get(i), "a byte of the allocator's space changed");
                assertEquals(0, read.get(4096 + i), "reserved space was not zeroed");
            }
        }
    }
}
