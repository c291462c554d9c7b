package io.ringblocks.server;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.ringblocks.sys.Errno;
import io.ringblocks.sys.LibC;
import io.ringblocks.uring.CompletionBatch;
import io.ringblocks.uring.Ring;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The arena pins its memory a 2 MiB piece at a time, when file I/O first uses the piece, on a real ring. */
class IoArenaTest
{
    private static final int PIECE = IoArena.PIECE;

    @TempDir
    Path dir;

    @Test
    void shouldRegisterAPieceOnlyWhenFileIoFirstUsesIt() throws Exception
    {
        final Path file = Files.createFile(dir.resolve("blocks"));
        final int fd = LibC.open(file.toString(), LibC.O_RDWR | LibC.O_CLOEXEC, 0);
        assertTrue(fd >= 0, () -> "open: " + Errno.describe(fd));
        try (Ring ring = new Ring(16); IoArena arena = new IoArena(4L * PIECE))
        {
            arena.register(ring);
            final long receive = arena.allocate(IoArena.classFor(16 << 10)); // never used for file I/O
            final long whole = arena.allocate(IoArena.classFor(PIECE));
            final long small = arena.allocate(IoArena.classFor(4096));
            assertEquals(0, arena.registeredBytes(), "allocating pins nothing");
            arena.buffer().putLong((int)receive, 7L);
            assertEquals(0, arena.registeredBytes(), "nor does using memory for anything but file I/O");

            final int out = arena.fixedIndex(small);
            assertEquals(small / PIECE, out, "the fixed buffer is the piece");
            assertEquals(PIECE, arena.registeredBytes());
            assertEquals(out, arena.fixedIndex(small), "registered once");
            assertEquals(PIECE, arena.registeredBytes());
            final int in = arena.fixedIndex(whole);
            assertNotEquals(out, in, "a 2 MiB buffer is a piece of its own");
            assertEquals(2L * PIECE, arena.registeredBytes());

            final byte[] bytes = new byte[4096];
            new Random(3).nextBytes(bytes);
            arena.buffer().putBytes((int)small, bytes);
            ring.prepWriteFixed(fd, arena.address(small), bytes.length, 0, out, 1);
            assertEquals(bytes.length, complete(ring), "WRITE_FIXED from a piece registered late");
            final long target = whole + PIECE - bytes.length; // the last page of the piece
            ring.prepReadFixed(fd, arena.address(target), bytes.length, 0, in, 2);
            assertEquals(bytes.length, complete(ring), "READ_FIXED into another");
            final byte[] read = new byte[bytes.length];
            arena.buffer().getBytes((int)target, read);
            assertArrayEquals(bytes, read);
            ring.prepReadFixed(fd, arena.address(target), bytes.length, 0, out, 3);
            assertEquals(-Errno.EFAULT, complete(ring), "an address outside the named piece is refused");
        }
        finally
        {
            LibC.close(fd);
        }
    }

    private static int complete(final Ring ring)
    {
        final CompletionBatch batch = new CompletionBatch(4);
        final long deadline = System.nanoTime() + 10_000_000_000L;
        while (System.nanoTime() < deadline)
        {
            ring.submitAndWait(1, 100_000_000L);
            if (ring.reap(batch) > 0)
            {
                assertEquals(1, batch.size());
                return batch.result(0);
            }
        }
        throw new AssertionError("no completion within 10 s");
    }

    @Test
    void shouldReadAndWritePlainlyWhereThePieceCannotBeRegistered() throws Exception
    {
        final Path file = Files.createFile(dir.resolve("blocks"));
        final int fd = LibC.open(file.toString(), LibC.O_RDWR | LibC.O_CLOEXEC, 0);
        assertTrue(fd >= 0, () -> "open: " + Errno.describe(fd));
        try (Ring ring = new Ring(16); IoArena arena = new IoArena(2L * PIECE))
        {
            arena.register(ring);
            final long out = arena.allocate(IoArena.classFor(8192));
            arena.fixedIndex(out); // its piece is registered
            arena.refuseRegistration(); // as under RLIMIT_MEMLOCK, from now on
            final long in = arena.allocate(IoArena.classFor(PIECE));
            assertEquals(-1, arena.fixedIndex(in), "nothing more is registered");
            assertEquals(PIECE, arena.registeredBytes());

            final byte[] bytes = new byte[8192];
            new Random(5).nextBytes(bytes);
            arena.buffer().putBytes((int)out, bytes);
            arena.prepWrite(fd, out, out, bytes.length, 4096, 1);
            assertEquals(bytes.length, complete(ring), "a WRITE_FIXED from the registered piece");
            arena.prepRead(fd, in, in + 4096, bytes.length, 4096, 2);
            assertEquals(bytes.length, complete(ring), "a plain READ into the other");
            final byte[] read = new byte[bytes.length];
            arena.buffer().getBytes((int)in + 4096, read);
            assertArrayEquals(bytes, read);
        }
        finally
        {
            LibC.close(fd);
        }
    }
}
