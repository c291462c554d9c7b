package io.ringblocks.uring;

import java.util.concurrent.CountDownLatch;

import io.ringblocks.sys.LibC;
import io.ringblocks.sys.Sockets;

/**
 * A TCP echo server on one ring, for the ring's socket tests: multishot accept, recv into a per-connection
 * buffer, send it back (resubmitting the rest of short sends), recv again; close on EOF or error.
 */
final class EchoServer implements Runnable
{
    static final int OP_ACCEPT = 1;
    static final int OP_RECV = 2;
    static final int OP_SEND = 3;
    static final int OP_CLOSE = 4;
    static final int OP_WAKE = 5;
    static final int OP_REJECT = 6;
    private static final byte[] LOOPBACK = {127, 0, 0, 1};

    private final int maxConnections;
    private final int bufferSize;
    private final int sendBufferSize;
    private final int listenFd;
    private final Wakeup wakeup = new Wakeup();
    private final CountDownLatch stopped = new CountDownLatch(1);
    private volatile boolean running = true;
    private volatile Throwable failure;

    volatile long accepted;
    volatile long closed;
    volatile long shortSends;
    volatile long shortRecvs;
    volatile long bytesEchoed;
    volatile boolean sawMoreFlag;

    EchoServer(final int maxConnections, final int bufferSize, final int sendBufferSize)
    {
        this.maxConnections = maxConnections;
        this.bufferSize = bufferSize;
        this.sendBufferSize = sendBufferSize;
        listenFd = Sockets.listenTcp(LOOPBACK, 0, 1024, false);
    }

    int port()
    {
        return Sockets.localPort(listenFd);
    }

    @Override
    public void run()
    {
        try (Ring ring = new Ring(256); RegisteredBuffers buffers = new RegisteredBuffers(maxConnections, bufferSize))
        {
            final int[] fds = new int[maxConnections];
            final int[] generation = new int[maxConnections];
            final int[] toSend = new int[maxConnections];
            final int[] sent = new int[maxConnections];
            java.util.Arrays.fill(fds, -1);
            final CompletionBatch batch = new CompletionBatch(256);
            ring.prepMultishotAccept(listenFd, LibC.SOCK_CLOEXEC, UserData.pack(0, OP_ACCEPT, 0));
            wakeup.arm(ring, UserData.pack(0, OP_WAKE, 0));
            while (running)
            {
                if (ring.reap(batch) == 0)
                {
                    wakeup.prepareToSleep();
                    if (!running)
                    {
                        break;
                    }
                    ring.submitAndWait(1);
                    wakeup.awake();
                    continue;
                }
                for (int i = 0; i < batch.size(); i++)
                {
                    final long ud = batch.userData(i);
                    final int res = batch.result(i);
                    final int slot = UserData.slot(ud);
                    switch (UserData.op(ud))
                    {
                        case OP_ACCEPT ->
                        {
                            if ((batch.flags(i) & Ring.CQE_F_MORE) != 0)
                            {
                                sawMoreFlag = true;
                            }
                            else
                            {
                                ring.prepMultishotAccept(listenFd, LibC.SOCK_CLOEXEC, UserData.pack(0, OP_ACCEPT, 0));
                            }
                            if (res < 0)
                            {
                                continue;
                            }
                            final int conn = buffers.acquire();
                            if (conn < 0)
                            {
                                ring.prepClose(res, UserData.pack(0, OP_REJECT, 0));
                                continue;
                            }
                            accepted++;
                            if (sendBufferSize > 0)
                            {
                                LibC.setsockoptInt(res, LibC.SOL_SOCKET, LibC.SO_SNDBUF, sendBufferSize);
                            }
                            fds[conn] = res;
                            generation[conn] = UserData.nextGeneration(generation[conn]);
                            ring.prepRecv(res, buffers.address(conn), bufferSize, 0,
                                UserData.pack(conn, OP_RECV, generation[conn]));
                        }
                        case OP_RECV ->
                        {
                            if (UserData.generation(ud) != generation[slot])
                            {
                                throw new AssertionError("stale recv completion for slot " + slot);
                            }
                            if (res <= 0)
                            {
                                ring.prepClose(fds[slot], UserData.pack(slot, OP_CLOSE, generation[slot]));
                                continue;
                            }
                            if (res < bufferSize)
                            {
                                shortRecvs++;
                            }
                            toSend[slot] = res;
                            sent[slot] = 0;
                            ring.prepSend(fds[slot], buffers.address(slot), res, 0,
                                UserData.pack(slot, OP_SEND, generation[slot]));
                        }
                        case OP_SEND ->
                        {
                            if (res < 0)
                            {
                                ring.prepClose(fds[slot], UserData.pack(slot, OP_CLOSE, generation[slot]));
                                continue;
                            }
                            sent[slot] += res;
                            bytesEchoed += res;
                            if (sent[slot] < toSend[slot])
                            {
                                shortSends++;
                                ring.prepSend(fds[slot], buffers.address(slot) + sent[slot],
                                    toSend[slot] - sent[slot], 0, UserData.pack(slot, OP_SEND, generation[slot]));
                            }
                            else
                            {
                                ring.prepRecv(fds[slot], buffers.address(slot), bufferSize, 0,
                                    UserData.pack(slot, OP_RECV, generation[slot]));
                            }
                        }
                        case OP_CLOSE ->
                        {
                            fds[slot] = -1;
                            buffers.release(slot);
                            closed++;
                        }
                        case OP_REJECT ->
                        {
                        }
                        case OP_WAKE -> wakeup.arm(ring, UserData.pack(0, OP_WAKE, 0));
                        default -> throw new AssertionError("unknown op in " + Long.toHexString(ud));
                    }
                }
            }
            for (final int fd : fds)
            {
                if (fd >= 0)
                {
                    LibC.close(fd);
                }
            }
        }
        catch (final Throwable t)
        {
            failure = t;
        }
        finally
        {
            LibC.close(listenFd);
            stopped.countDown();
        }
    }

    void stop() throws InterruptedException
    {
        running = false;
        wakeup.signal();
        if (!stopped.await(10, java.util.concurrent.TimeUnit.SECONDS))
        {
            throw new AssertionError("echo server did not stop");
        }
        wakeup.close();
        if (failure != null)
        {
            throw new AssertionError("echo server failed", failure);
        }
    }
}
