package io.ringblocks.sys;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The system calls with a result to interpret, against the real kernel. */
class LibCTest
{
    @TempDir
    Path dir;

    @Test
    void shouldTellTheDirectIoAlignmentOfAFileOrThatItCannotTell() throws Exception
    {
        final Path file = Files.write(dir.resolve("f"), new byte[4096]);
        final int fd = LibC.open(file.toString(), LibC.O_RDWR | LibC.O_DIRECT, 0);
        assertTrue(fd >= 0 || fd == -Errno.EINVAL, Errno.describe(fd));
        final int plain = LibC.open(file.toString(), LibC.O_RDWR, 0);
        try
        {
            final int alignment = LibC.directIoAlignment(plain);
            // -1: a kernel before 6.1 or a filesystem that does not say; else a power of two, or 0 for none.
            assertTrue(alignment == -1 || alignment == 0 || Integer.bitCount(alignment) == 1, "alignment " + alignment);
            if (fd >= 0 && alignment >= 0)
            {
                assertEquals(alignment, LibC.directIoAlignment(fd), "a property of the file, not of the descriptor");
            }
            assertEquals(-1, LibC.directIoAlignment(-1), "a bad descriptor tells nothing");
        }
        finally
        {
            LibC.close(plain);
            if (fd >= 0)
            {
                LibC.close(fd);
            }
        }
    }

    @Test
    void shouldTakeAListenerWithdrawnWithShutReadOutOfItsReusePortGroup() throws Exception
    {
        final byte[] loopback = {127, 0, 0, 1};
        final int first = Sockets.listenTcp(loopback, 0, 64, true);
        final int port = Sockets.localPort(first);
        final int second = Sockets.listenTcp(loopback, port, 64, true);
        try
        {
            assertEquals(0, LibC.shutdown(first, LibC.SHUT_RD));
            for (int i = 0; i < 32; i++)
            {
                try (java.net.Socket client = new java.net.Socket("127.0.0.1", port))
                {
                    final int accepted = LibC.accept4(second, LibC.SOCK_CLOEXEC);
                    assertTrue(accepted >= 0, "connection " + i + " went to the withdrawn listener: " + accepted);
                    LibC.close(accepted);
                }
            }
            assertTrue(LibC.accept4(first, LibC.SOCK_CLOEXEC) < 0, "the withdrawn listener accepts nothing");
        }
        finally
        {
            LibC.close(first);
            LibC.close(second);
        }
    }
}
