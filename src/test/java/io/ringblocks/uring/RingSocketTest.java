package io.ringblocks.uring;

import java.io.DataInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import io.ringblocks.sys.Errno;
import io.ringblocks.sys.ErrnoException;
import io.ringblocks.sys.LibC;
import io.ringblocks.sys.Sockets;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RingSocketTest
{
    private static final byte[] LOOPBACK = {127, 0, 0, 1};

    private static Socket connect(final int port) throws Exception
    {
        final Socket socket = new Socket();
        socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
        socket.setSoTimeout(20_000);
        socket.setTcpNoDelay(true);
        return socket;
    }

    @Test
    void shouldEchoEveryByteToHundredConcurrentConnections() throws Exception
    {
        final EchoServer server = new EchoServer(128, 16384, 0);
        final Thread thread = new Thread(server, "echo-ring");
        thread.start();
        final int clients = 100;
        final int bytesPerClient = 256 * 1024;
        final ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();
        try
        {
            final List<Future<Long>> results = new ArrayList<>();
            for (int c = 0; c < clients; c++)
            {
                final long seed = c;
                results.add(pool.submit(() ->
                {
                    final Random random = new Random(seed);
                    long verified = 0;
                    try (Socket socket = connect(server.port()))
                    {
                        final OutputStream out = socket.getOutputStream();
                        final DataInputStream in = new DataInputStream(socket.getInputStream());
                        while (verified < bytesPerClient)
                        {
                            final byte[] chunk = new byte[1 + random.nextInt(12_000)];
                            random.nextBytes(chunk);
                            out.write(chunk);
                            final byte[] echoed = new byte[chunk.length];
                            in.readFully(echoed);
                            assertArrayEquals(chunk, echoed);
                            verified += chunk.length;
                        }
                    }
                    return verified;
                }));
            }
            long total = 0;
            for (final Future<Long> result : results)
            {
                total += result.get(60, TimeUnit.SECONDS);
            }
            assertTrue(total >= (long)clients * bytesPerClient);
            assertEquals(clients, server.accepted);
            assertTrue(server.sawMoreFlag, "multishot accept never reported IORING_CQE_F_MORE");
        }
        finally
        {
            pool.shutdownNow();
            server.stop();
        }
    }

    @Test
    void shouldCompleteShortSendsAndShortRecvsByResubmittingTheRest() throws Exception
    {
        // A tiny server send buffer and a slow reader make the kernel accept only part of each send.
        final EchoServer server = new EchoServer(4, 256 * 1024, 4096);
        final Thread thread = new Thread(server, "echo-ring");
        thread.start();
        final ExecutorService pool = Executors.newFixedThreadPool(2);
        try (Socket socket = connect(server.port()))
        {
            final byte[] payload = new byte[4 * 1024 * 1024];
            new Random(7).nextBytes(payload);
            final Future<?> writer = pool.submit(() ->
            {
                socket.getOutputStream().write(payload);
                return null;
            });
            final Future<byte[]> reader = pool.submit(() ->
            {
                final byte[] echoed = new byte[payload.length];
                final InputStream in = socket.getInputStream();
                int done = 0;
                while (done < echoed.length)
                {
                    final int n = in.read(echoed, done, Math.min(2048, echoed.length - done));
                    assertTrue(n > 0, "connection closed early at " + done);
                    done += n;
                }
                return echoed;
            });
            writer.get(60, TimeUnit.SECONDS);
            assertArrayEquals(payload, reader.get(60, TimeUnit.SECONDS));
            // The client can read the last bytes before the ring thread has handled their send completion.
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (server.bytesEchoed < payload.length && System.nanoTime() < deadline)
            {
                Thread.sleep(1);
            }
            assertEquals(payload.length, server.bytesEchoed);
            assertTrue(server.shortSends > 0, "no short send happened");
            assertTrue(server.shortRecvs > 0, "no short recv happened");
        }
        finally
        {
            pool.shutdownNow();
            server.stop();
        }
    }

    @Test
    void shouldCancelInFlightRecvWhenClosingSocket() throws Exception
    {
        final int listenFd = Sockets.listenTcp(LOOPBACK, 0, 16, false);
        try (Ring ring = new Ring(16); RegisteredBuffers buffers = new RegisteredBuffers(1, 4096);
            Socket client = connect(Sockets.localPort(listenFd)))
        {
            ring.prepMultishotAccept(listenFd, LibC.SOCK_CLOEXEC, UserData.pack(0, 1, 0));
            CompletionBatch done = RingFileIoTest.awaitCompletions(ring, 1);
            final int fd = done.result(0);
            assertTrue(fd >= 0, Errno.describe(fd));

            ring.prepRecv(fd, buffers.address(0), 4096, 0, UserData.pack(1, 2, 0));
            ring.submit();
            ring.submitAndWait(0, 20_000_000L);
            ring.prepCancelFd(fd, UserData.pack(1, 3, 0));
            ring.prepClose(fd, UserData.pack(1, 4, 0));
            done = RingFileIoTest.awaitCompletions(ring, 3);
            int recvResult = 1;
            int cancelResult = -1;
            int closeResult = -1;
            for (int i = 0; i < done.size(); i++)
            {
                switch (UserData.op(done.userData(i)))
                {
                    case 2 -> recvResult = done.result(i);
                    case 3 -> cancelResult = done.result(i);
                    case 4 -> closeResult = done.result(i);
                    default -> throw new AssertionError("unexpected " + done.userData(i));
                }
            }
            assertEquals(-Errno.ECANCELED, recvResult, Errno.describe(recvResult));
            assertEquals(1, cancelResult, "requests cancelled: " + Errno.describe(cancelResult));
            assertEquals(0, closeResult, Errno.describe(closeResult));
            assertEquals(-1, client.getInputStream().read(), "peer should see EOF after close");
        }
        finally
        {
            LibC.close(listenFd);
        }
    }

    @Test
    void shouldRefuseBusyPortWithErrnoName()
    {
        final int first = Sockets.listenTcp(LOOPBACK, 0, 16, false);
        try
        {
            final ErrnoException e = org.junit.jupiter.api.Assertions.assertThrows(ErrnoException.class,
                () -> Sockets.listenTcp(LOOPBACK, Sockets.localPort(first), 16, false));
            assertTrue(e.getMessage().contains("EADDRINUSE"), e.getMessage());
        }
        finally
        {
            LibC.close(first);
        }
    }
}
