package io.ringblocks.server;

import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import io.ringblocks.sys.Errno;
import io.ringblocks.sys.LibC;
import io.ringblocks.sys.Sockets;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DescriptorReserveTest
{
    private static final byte[] LOOPBACK = {127, 0, 0, 1};

    @Test
    void shouldAnswerEveryWaitingConnectionWithTheFrameCloseItAndNeverBlock() throws Exception
    {
        final int listener = Sockets.listenTcp(LOOPBACK, 0, 16, false);
        final List<Socket> clients = new ArrayList<>();
        try (DescriptorReserve reserve = new DescriptorReserve(0); Arena arena = Arena.ofConfined())
        {
            final byte[] frame = {12, 0, 0, 0, 1, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0};
            final MemorySegment bytes = arena.allocate(16);
            MemorySegment.copy(frame, 0, bytes, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, 16);
            for (int i = 0; i < 3; i++)
            {
                final Socket s = new Socket();
                s.connect(new InetSocketAddress("127.0.0.1", Sockets.localPort(listener)), 5_000);
                s.setSoTimeout(5_000);
                clients.add(s);
            }
            assertEquals(3, reserve.shed(listener, bytes.address(), 16));
            assertEquals(0, reserve.shed(listener, bytes.address(), 16), "nothing waits: returns at once");
            for (final Socket s : clients)
            {
                final InputStream in = s.getInputStream();
                assertArrayEquals(frame, in.readNBytes(16));
                assertEquals(-1, in.read());
            }
        }
        finally
        {
            for (final Socket s : clients)
            {
                s.close();
            }
            LibC.close(listener);
        }
    }

    @Test
    void shouldLogAtMostOncePerIntervalWithWhatWasSuppressed()
    {
        try (DescriptorReserve reserve = new DescriptorReserve(3))
        {
            final String first = reserve.reportLine(0, -Errno.EMFILE, 5, 10100);
            assertTrue(first.startsWith("worker 3: out of file descriptors (EMFILE) accepting on port 10100: " +
                "answered 5 connections BUSY"), first);
            assertNull(reserve.reportLine(1_000_000_000L, -Errno.EMFILE, 7, 10100));
            assertNull(reserve.reportLine(DescriptorReserve.LOG_INTERVAL_NANOS - 1, -DescriptorReserve.ENFILE, 1,
                10100));
            final String next = reserve.reportLine(DescriptorReserve.LOG_INTERVAL_NANOS, -Errno.EMFILE, 0, 10100);
            assertTrue(next.contains("answered 8 connections BUSY") && next.contains("(3 failed accepts"), next);
        }
    }
}
