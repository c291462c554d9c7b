package io.ringblocks.server;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

import org.agrona.concurrent.UnsafeBuffer;

import io.ringblocks.protocol.FrameDecoder;
import io.ringblocks.protocol.Opcode;
import io.ringblocks.protocol.Protocol;
import io.ringblocks.protocol.RequestHeader;
import io.ringblocks.protocol.RequestValidator;
import io.ringblocks.protocol.ResponseHeader;
import io.ringblocks.protocol.ResponseHeaderEncoder;
import io.ringblocks.protocol.Status;
import io.ringblocks.storage.BuddyAllocator;
import io.ringblocks.storage.ErrorHandler;
import io.ringblocks.storage.Store;
import io.ringblocks.uring.BufferRing;
import io.ringblocks.uring.CompletionBatch;
import io.ringblocks.uring.Errno;
import io.ringblocks.uring.LibC;
import io.ringblocks.uring.Ring;
import io.ringblocks.uring.UserData;
import io.ringblocks.uring.Wakeup;

/**
 * One worker thread and its ring. The ring multiplexes everything the worker does: a multishot accept on its own
 * SO_REUSEPORT listener, recv and send on its connections, READ_FIXED/WRITE_FIXED on the data file, and the eventfd read
 * through which the committer wakes it. The duty cycle drains completions first, then acknowledgements, then
 * retries whatever waited for space; idle, it sleeps in submit-and-wait until a CQE or a wakeup arrives.
 * <p>
 * This class owns connection I/O (framing, receive, send queue, close); {@link Operations} runs the requests.
 */
final class Worker implements Runnable, ConnectionTimeouts.Expiry, Responder
{
    static final int OP_ACCEPT = 1;
    static final int OP_WAKE = 2;
    static final int OP_RECV = 3;
    static final int OP_SEND = 4;
    static final int OP_CLOSE = 5;
    static final int OP_FILE_READ = 6;
    static final int OP_FILE_WRITE = 7;
    static final int OP_IGNORE = 8;

    private static final System.Logger LOG = System.getLogger("ringblocks");
    /** Provided receive buffers per worker: enough for this many connections receiving in one duty cycle. */
    static final int PROVIDED_BUFFERS = 128;
    static final int PROVIDED_BUFFER_SIZE = 16 << 10;
    /** Fewer than this would run dry at once: such a worker gives every connection a buffer of its own instead. */
    static final int MIN_PROVIDED_BUFFERS = 16;
    private static final int PROVIDED_GROUP = 1;

    final int id;
    final ServerConfig config;
    final ErrorHandler errors;
    final Wakeup wakeup;
    private final WorkerContext ctx;
    final ServerStats stats;
    final Connections conns;
    final Requests reqs;
    final IoArena arena;
    final UnsafeBuffer memory;
    final int maxBodyLength;
    /** Arena bytes one connection may hold before the worker stops reading its requests. */
    final long maxBufferBytesPerConnection;
    Ring ring;
    private final int listenFd;
    private final AtomicInteger connectionCount;
    private final CountDownLatch started = new CountDownLatch(1);
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final RequestHeader header = new RequestHeader();
    private final ResponseHeaderEncoder encoder = new ResponseHeaderEncoder();
    private final CompletionBatch batch = new CompletionBatch(512);
    private final int recvClass;
    private Operations ops;
    private final Linger linger;
    private final StopDrain drain;
    private java.util.function.Supplier<String> statsText = () -> "";
    private long rejectFrame;
    private volatile boolean stopRequested;
    private volatile Throwable failure;
    private boolean stopping;
    private long stopDeadline;
    private long acceptBackoffUntil;
    private int starvedHead = -1;
    private int starvedTail = -1;
    private int readyHead = -1;
    private int readyTail = -1;
    private int sendReadyHead = -1;
    private int sendReadyTail = -1;
    private final SendVectors vectors;
    /** Receive buffers the kernel picks only when bytes arrive; null where unsupported (every connection then owns one). */
    private BufferRing provided;
    final ConnectionTimeouts timeouts;
    /** Arena budget of PUT bodies still arriving: stalled uploads cannot take the memory complete requests need. */
    final PartialBodies bodies;
    private DescriptorReserve reserve;
    private int listenPort;
    /** The duty cycle's clock, read once per cycle: what the timeouts measure with. */
    private long now = System.nanoTime();

    Worker(
        final int id,
        final ServerConfig config,
        final Store store,
        final Wakeup wakeup,
        final int listenFd,
        final AtomicInteger connectionCount,
        final ErrorHandler errors)
    {
        this.id = id;
        this.config = config;
        this.wakeup = wakeup;
        this.listenFd = listenFd;
        this.connectionCount = connectionCount;
        this.errors = errors;
        ctx = new WorkerContext(id, config, store, errors, Math.min(65536, Math.max(1024, config.maxInFlight() * 64)));
        stats = ctx.stats;
        reqs = ctx.reqs;
        arena = ctx.arena;
        memory = ctx.memory;
        conns = new Connections(config.maxConnections());
        maxBodyLength = Protocol.maxBodyLength(config.store().maxBlockSize());
        recvClass = IoArena.classFor(config.recvBufferSize());
        maxBufferBytesPerConnection = Math.max(IoArena.MAX_BUFFER, config.arenaSize() / 8);
        timeouts = new ConnectionTimeouts(conns, config.sendTimeoutMillis(), config.requestTimeoutMillis(),
            config.idleTimeoutMillis());
        bodies = new PartialBodies(conns.capacity, config.arenaSize() / 2);
        linger = new Linger(this);
        drain = new StopDrain(this);
        vectors = new SendVectors(conns.capacity);
    }

    /** Blocks until the ring is set up (or setup failed). */
    void awaitStarted() throws InterruptedException
    {
        started.await();
        if (failure != null)
        {
            throw new IllegalStateException("worker " + id + " failed to start: " + failure.getMessage(), failure);
        }
    }

    /** Asks the worker to stop accepting, finish in-flight requests and exit. */
    void requestStop()
    {
        stopRequested = true;
        wakeup.signal();
    }

    boolean awaitStopped(final long millis) throws InterruptedException
    {
        return stopped.await(millis, java.util.concurrent.TimeUnit.MILLISECONDS);
    }

    @Override
    public void run()
    {
        try
        {
            ring = new Ring(config.ringEntries());
            ctx.ring(ring);
            arena.register(ring);
            rejectFrame = arena.allocate(0);
            encoder.wrap(memory, (int)rejectFrame).encodeConnectionError(Status.BUSY);
            ops = new Operations(ctx, this);
            provided = registerProvidedBuffers(); // after what the worker cannot start without
            stats.providedBuffers = provided != null ? 1 : 0;
            reserve = new DescriptorReserve(id);
            listenPort = LibC.localPort(listenFd);
            ring.prepMultishotAccept(listenFd, LibC.SOCK_CLOEXEC, UserData.pack(0, OP_ACCEPT, 0));
            wakeup.arm(ring, UserData.pack(0, OP_WAKE, 0));
            ring.submit();
        }
        catch (final Throwable t)
        {
            failure = t;
            started.countDown();
            stopped.countDown();
            return;
        }
        started.countDown();
        try
        {
            loop();
        }
        catch (final Throwable t)
        {
            failure = t;
            errors.onError("worker " + id, t);
        }
        finally
        {
            closeEverything();
            stopped.countDown();
        }
    }

    private void loop()
    {
        while (true)
        {
            int work = 0;
            now = System.nanoTime();
            try
            {
                work += reapAndHandle();
                work += ops.pollAcks();
                work += serveReady();
                work += ops.retryStalled();
                work += serveStarved();
                work += serveBodyWaiters();
                work += timeouts.sweep(now, this);
                flushSends();
                ops.endIteration();
                if (acceptBackoffUntil != 0 && System.nanoTime() >= acceptBackoffUntil && !stopping)
                {
                    acceptBackoffUntil = 0;
                    ring.prepMultishotAccept(listenFd, LibC.SOCK_CLOEXEC, UserData.pack(0, OP_ACCEPT, 0));
                }
            }
            catch (final RuntimeException e)
            {
                // A fault in one request must not take the worker (and every connection on it) down.
                errors.onError("worker " + id, e);
                work++;
            }
            stats.loops++;
            stats.inFlight = reqs.inUse();
            stats.partialBodyBytes = bodies.held();
            if (stopRequested && !stopping)
            {
                beginStop();
            }
            if (stopping && (conns.openCount() == 0 && reqs.inUse() == 0 || System.nanoTime() > stopDeadline))
            {
                if (reqs.inUse() > 0)
                {
                    LOG.log(System.Logger.Level.WARNING, "worker " + id + " stopping with " + reqs.inUse() +
                        " requests unfinished after " + config.shutdownTimeoutMillis() + " ms");
                }
                return;
            }
            try
            {
                enter(work);
            }
            catch (final RuntimeException e)
            {
                errors.onError("worker " + id + " io_uring_enter", e);
                java.util.concurrent.locks.LockSupport.parkNanos(1_000_000L); // no hot loop on a persistent fault
            }
        }
    }

    private void enter(final int work)
    {
        if (work > 0)
        {
            ring.submitAndGetEvents();
            return;
        }
        wakeup.prepareToSleep();
        if (ops.hasAcks() || stopRequested != stopping || readyHead >= 0 || sendReadyHead >= 0)
        {
            ring.submitAndGetEvents();
        }
        else if (ops.hasStalled() || starvedHead >= 0)
        {
            ring.submitAndWait(1, 1_000_000L);
        }
        else if (stopping || timeouts.nextSweep() != Long.MAX_VALUE || acceptBackoffUntil != 0)
        {
            // A connection can time out without any completion (a stuck send, a stalled frame), and a stop must end
            // by its deadline: wake up for the earliest of them. Everything else a stop waits for is a completion.
            long wake = timeouts.nextSweep();
            if (acceptBackoffUntil != 0)
            {
                wake = Math.min(wake, acceptBackoffUntil);
            }
            if (stopping)
            {
                wake = Math.min(wake, stopDeadline);
            }
            ring.submitAndWait(1, Math.max(1_000L, wake - System.nanoTime()));
        }
        else
        {
            ring.submitAndWait(1);
        }
        wakeup.awake();
    }

    private int reapAndHandle()
    {
        final int n = ring.reap(batch);
        stats.completions += n;
        for (int i = 0; i < n; i++)
        {
            try
            {
                handle(batch.userData(i), batch.result(i), batch.flags(i));
            }
            catch (final RuntimeException e)
            {
                // One failed completion must not cost the others of the batch (their CQ slots are already free).
                errors.onError("worker " + id + " completion " + Long.toHexString(batch.userData(i)), e);
            }
        }
        return n;
    }

    private void handle(final long ud, final int res, final int flags)
    {
        final int slot = UserData.slot(ud);
        final int gen = UserData.generation(ud);
        switch (UserData.op(ud))
        {
            case OP_ACCEPT -> onAccept(res, flags);
            case OP_WAKE ->
            {
                if (!stopping || reqs.inUse() > 0 || conns.openCount() > 0)
                {
                    wakeup.arm(ring, UserData.pack(0, OP_WAKE, 0));
                }
            }
            case OP_RECV -> onRecv(slot, gen, res, flags);
            case OP_SEND -> onSend(slot, gen, res);
            case OP_CLOSE -> onClosed(slot, gen, res);
            case OP_FILE_READ -> ops.onFileRead(slot, gen, res);
            case OP_FILE_WRITE -> ops.onFileWrite(slot, gen, res);
            case Linger.OP_RECV -> linger.onRecv(slot, gen, res);
            case Linger.OP_TIMEOUT -> linger.onTimeout(slot, gen);
            case Linger.OP_REJECT_RECV -> linger.onRejectRecv(slot, gen, res);
            case Linger.OP_REJECT_TIMEOUT -> linger.onRejectTimeout(slot, gen);
            case StopDrain.OP_RECV -> drain.onRecv(slot, gen, res);
            case OP_IGNORE ->
            {
            }
            default -> errors.onError("worker " + id, "unknown completion " + Long.toHexString(ud));
        }
    }

    // ---------------------------------------------------------------- accept

    private void onAccept(final int res, final int flags)
    {
        if (DescriptorReserve.isExhaustion(res))
        {
            onDescriptorsExhausted(res, flags);
            return;
        }
        if ((flags & Ring.CQE_F_MORE) == 0 && !stopping)
        {
            if (res < 0 && res != -Errno.ECANCELED)
            {
                // EMFILE, ENFILE, ENOMEM...: re-arm after a pause instead of spinning on error completions.
                acceptBackoffUntil = System.nanoTime() + 100_000_000L;
            }
            else
            {
                ring.prepMultishotAccept(listenFd, LibC.SOCK_CLOEXEC, UserData.pack(0, OP_ACCEPT, 0));
            }
        }
        if (res < 0)
        {
            if (res != -Errno.ECANCELED && res != -Errno.EINTR && res != -Errno.EAGAIN)
            {
                errors.onError("worker " + id, "accept failed: " + Errno.describe(res));
            }
            return;
        }
        if (stopping || connectionCount.incrementAndGet() > config.maxConnections())
        {
            if (!stopping)
            {
                connectionCount.decrementAndGet();
            }
            reject(res);
            return;
        }
        // With provided buffers an idle connection holds no receive memory; its buffer is taken when bytes arrive.
        final long recv = provided != null ? IoArena.NONE : arena.allocate(recvClass);
        final int c = provided == null && recv == IoArena.NONE ? -1 : conns.open(res, recv);
        if (c >= 0 && recv != IoArena.NONE)
        {
            stats.recvBuffersHeld++;
        }
        if (c < 0)
        {
            if (recv != IoArena.NONE)
            {
                arena.free(recv, recvClass);
            }
            connectionCount.decrementAndGet();
            reject(res);
            return;
        }
        stats.accepted++;
        timeouts.opened(c, now);
        postRecv(c);
    }

    /**
     * EMFILE/ENFILE: a waiting connection stays queued and every new accept would fail the same way (io_uring takes
     * the descriptor before it looks at the queue, so the error also comes with nothing waiting). Shed what waits with
     * BUSY through the reserve descriptor; re-arm at once while there was something to shed, else after a pause, so
     * that an exhausted but quiet worker does not spin on failing accepts.
     */
    private void onDescriptorsExhausted(final int res, final int flags)
    {
        stats.acceptFdExhausted++;
        int shed = 0;
        if ((flags & Ring.CQE_F_MORE) == 0 && !stopping)
        {
            // The multishot accept ended with this error, so nothing else accepts on the listener meanwhile.
            shed = reserve.shed(listenFd, arena.address(rejectFrame), ResponseHeader.HEADER_LENGTH);
            stats.shedConnections += shed;
            if (shed > 0)
            {
                ring.prepMultishotAccept(listenFd, LibC.SOCK_CLOEXEC, UserData.pack(0, OP_ACCEPT, 0));
            }
            else
            {
                acceptBackoffUntil = now + 100_000_000L;
            }
        }
        reserve.report(now, res, shed, listenPort);
    }

    /** Over the limit: answer BUSY (opcode 0, request id 0) before reading anything, then close lingeringly. */
    private void reject(final int fd)
    {
        stats.rejected++;
        linger.reject(fd, arena.address(rejectFrame), ResponseHeader.HEADER_LENGTH);
    }

    // ---------------------------------------------------------------- receive

    private void postRecv(final int c)
    {
        final int state = conns.bodyState[c];
        final boolean own = conns.ownRecv[c];
        conns.ownRecv[c] = false;
        if (provided != null && !own && conns.filled[c] == 0 &&
            (state == Connections.BODY_DISCARD || state == Connections.BODY_NONE))
        {
            releaseRecvBuffer(c); // nothing is kept in it: wait for bytes without holding memory
            conns.recvPosted[c] = true;
            timeouts.readResumed(c, now);
            final int most = state == Connections.BODY_DISCARD ?
                Math.min(provided.bufferSize(), conns.bodyRemaining[c]) : provided.bufferSize();
            ring.prepRecvSelect(conns.fd[c], most, provided.group(), UserData.pack(c, OP_RECV, conns.generation[c]));
            return;
        }
        final long target;
        final int length;
        switch (state)
        {
            case Connections.BODY_NONE ->
            {
                target = conns.recvBuffer[c] + conns.filled[c];
                length = config.recvBufferSize() - conns.filled[c];
            }
            case Connections.BODY_DISCARD ->
            {
                target = conns.recvBuffer[c];
                length = Math.min(config.recvBufferSize(), conns.bodyRemaining[c]);
            }
            default ->
            {
                // Body stages receive into an absolute address: the request's hash slot or its block buffer.
                target = conns.bodyTarget[c] - arena.address(0);
                length = conns.bodyRemaining[c];
            }
        }
        if (length <= 0)
        {
            errors.onError("worker " + id, "connection " + c + " has no room to receive into");
            beginClose(c, true);
            return;
        }
        conns.recvPosted[c] = true;
        timeouts.readResumed(c, now);
        ring.prepRecv(conns.fd[c], arena.address(target), length, 0, UserData.pack(c, OP_RECV, conns.generation[c]));
    }

    /**
     * Copies {@code res} bytes a receive put into provided buffer {@code bid} to where the connection keeps
     * received bytes: its own buffer (taken now if it has none), after what it holds; discarded bodies are dropped.
     *
     * @return false when there was no arena memory to keep them.
     */
    private boolean absorb(final int c, final int bid, final int res)
    {
        final boolean reading = conns.state[c] == Connections.OPEN || drain.active(c);
        if (!reading || conns.bodyState[c] == Connections.BODY_DISCARD)
        {
            return true;
        }
        if (!ensureRecvBuffer(c))
        {
            return false;
        }
        memory.putBytes((int)(conns.recvBuffer[c] + conns.filled[c]), memory,
            (int)(provided.address(bid) - arena.address(0)), res);
        return true;
    }

    /**
     * Moves the bytes a connection kept in a provided buffer (for lack of arena memory) into a buffer of its own.
     *
     * @return false while there is still no memory: the connection stays starved.
     */
    private boolean takeHeld(final int c)
    {
        final int bid = conns.heldBid[c];
        if (bid < 0)
        {
            return true;
        }
        if (!ensureRecvBuffer(c))
        {
            return false;
        }
        memory.putBytes((int)(conns.recvBuffer[c] + conns.filled[c]), memory,
            (int)(provided.address(bid) - arena.address(0)), conns.heldLength[c]);
        conns.filled[c] += conns.heldLength[c];
        conns.heldBid[c] = -1;
        conns.heldLength[c] = 0;
        provided.recycle(bid);
        return true;
    }

    /** Gives the connection a receive buffer of its own if it has none. @return false when the arena is full. */
    boolean ensureRecvBuffer(final int c)
    {
        if (conns.recvBuffer[c] != IoArena.NONE)
        {
            return true;
        }
        final long buffer = arena.allocate(recvClass);
        if (buffer == IoArena.NONE)
        {
            return false;
        }
        conns.recvBuffer[c] = buffer;
        stats.recvBuffersHeld++;
        return true;
    }

    private void releaseRecvBuffer(final int c)
    {
        if (conns.recvBuffer[c] != IoArena.NONE)
        {
            arena.free(conns.recvBuffer[c], recvClass);
            conns.recvBuffer[c] = IoArena.NONE;
            stats.recvBuffersHeld--;
        }
    }

    /**
     * Registers up to {@link #PROVIDED_BUFFERS} receive buffers of up to 16 KiB, carved from at most a quarter of the
     * arena, as this ring's provided-buffer group. @return null where the kernel has none (before 5.19) or the
     * arena is too small.
     */
    private BufferRing registerProvidedBuffers()
    {
        final int size = Math.min(PROVIDED_BUFFER_SIZE, config.recvBufferSize());
        // At most a quarter of the arena: the rest is for block buffers and the receive buffers of busy connections.
        final long most = Math.min(PROVIDED_BUFFERS, config.arenaSize() / 4 / size);
        final int count = most < MIN_PROVIDED_BUFFERS ? 0 : Integer.highestOneBit((int)most);
        final int cls = IoArena.classFor(Math.max(1, count * size));
        final long region = count == 0 ? IoArena.NONE : arena.allocate(cls);
        if (region == IoArena.NONE)
        {
            LOG.log(System.Logger.Level.INFO, "worker " + id + ": arena too small for provided receive buffers; " +
                "every connection keeps a " + config.recvBufferSize() + "-byte receive buffer");
            return null;
        }
        final BufferRing ring = BufferRing.register(this.ring, PROVIDED_GROUP, count, arena.address(region), size);
        if (ring == null)
        {
            arena.free(region, cls);
            LOG.log(System.Logger.Level.INFO, "worker " + id + ": no provided-buffer rings on this kernel; " +
                "every connection keeps a " + config.recvBufferSize() + "-byte receive buffer");
        }
        return ring;
    }

    /** Posts a receive unless the connection is throttled, closing or already receiving. */
    void maybePostRecv(final int c)
    {
        if (conns.state[c] != Connections.OPEN || conns.recvPosted[c] || conns.closeAfterSend[c] ||
            conns.heldBid[c] >= 0)
        {
            return;
        }
        if (conns.bodyState[c] != Connections.BODY_NONE)
        {
            postRecv(c);
            return;
        }
        if (conns.parseBlocked[c] || conns.inFlight[c] >= config.maxInFlight() ||
            conns.bufferBytes[c] >= maxBufferBytesPerConnection || conns.filled[c] >= config.recvBufferSize())
        {
            timeouts.readHeld(c);
            return;
        }
        postRecv(c);
    }

    private void onRecv(final int c, final int gen, final int res, final int flags)
    {
        if ((flags & BufferRing.CQE_F_BUFFER) != 0)
        {
            final int bid = BufferRing.bufferId(flags);
            if (conns.generation[c] == gen && res > 0 && conns.state[c] == Connections.OPEN &&
                conns.bodyState[c] == Connections.BODY_NONE && !ensureRecvBuffer(c))
            {
                // No arena memory for the bytes: the connection keeps the provided buffer and waits with the
                // starved until memory is free (takeHeld); nothing is lost and nothing else is read from it.
                conns.recvPosted[c] = false;
                conns.heldBid[c] = bid;
                conns.heldLength[c] = res;
                timeouts.activity(c, now);
                starve(c);
                return;
            }
            final boolean kept = conns.generation[c] != gen || res <= 0 || absorb(c, bid, res);
            provided.recycle(bid);
            if (!kept)
            {
                // Stopping, and no memory to answer what arrived: end as if the socket broke.
                onRecv(c, gen, -Errno.ENOMEM, 0);
                return;
            }
        }
        else if (res == -Errno.ENOBUFS && conns.generation[c] == gen && conns.state[c] == Connections.OPEN)
        {
            // Every provided buffer is in use: this connection receives into a buffer of its own this time.
            conns.recvPosted[c] = false;
            if (ensureRecvBuffer(c))
            {
                conns.ownRecv[c] = true;
                postRecv(c);
            }
            else
            {
                starve(c); // retried with the starved, once a provided buffer or arena memory is free again
            }
            return;
        }
        if (conns.generation[c] != gen)
        {
            return;
        }
        conns.recvPosted[c] = false;
        if (conns.state[c] != Connections.OPEN)
        {
            if (drain.active(c))
            {
                drain.afterRecv(c, res); // stopping: what this receive brought is answered SHUTTING_DOWN
                return;
            }
            dropBodyRequest(c);
            tryFinishClose(c);
            return;
        }
        if (res <= 0)
        {
            if (res == -Errno.EINTR || res == -Errno.EAGAIN || res == -Errno.ENOBUFS)
            {
                postRecv(c);
                return;
            }
            // 0: the peer finished sending; answer what it asked, then close. An error: the connection is gone.
            // CLOSING first, so that finishing the dropped request does not start new work on this connection.
            beginClose(c, res < 0);
            dropBodyRequest(c);
            return;
        }
        timeouts.activity(c, now);
        switch (conns.bodyState[c])
        {
            case Connections.BODY_NONE -> conns.filled[c] += res; // parsed from the ready list
            case Connections.BODY_DISCARD ->
            {
                conns.bodyRemaining[c] -= res;
                if (conns.bodyRemaining[c] == 0)
                {
                    conns.bodyState[c] = Connections.BODY_NONE;
                }
                timeouts.framing(c, false, now);
            }
            default ->
            {
                onBodyBytes(c, res);
                timeouts.framing(c, false, now);
            }
        }
        resume(c);
    }

    private void onBodyBytes(final int c, final int res)
    {
        conns.bodyTarget[c] += res;
        conns.bodyRemaining[c] -= res;
        if (conns.bodyRemaining[c] > 0)
        {
            return;
        }
        final int r = conns.bodyRequest[c];
        if (conns.bodyState[c] == Connections.BODY_EXPECTED_HASH)
        {
            conns.bodyState[c] = Connections.BODY_PAYLOAD;
            conns.bodyTarget[c] = ops.payloadAddress(r, 0);
            conns.bodyRemaining[c] = reqs.payloadLength[r];
            return;
        }
        conns.bodyState[c] = Connections.BODY_NONE;
        conns.bodyRequest[c] = -1;
        bodies.release(c);
        ops.startPut(r);
    }

    /** A request whose body was still arriving when the connection went away. */
    private void dropBodyRequest(final int c)
    {
        final int r = conns.bodyRequest[c];
        bodies.release(c);
        if (r >= 0)
        {
            conns.bodyRequest[c] = -1;
            conns.bodyState[c] = Connections.BODY_NONE;
            finishRequest(r);
        }
    }

    /**
     * Splits the receive buffer into frames and starts a request for each complete one, judging each length before
     * anything else. Stops when the connection reaches its in-flight bound or the worker runs out of request slots
     * or buffers (the connection is then retried from the starved list).
     */
    void parse(final int c)
    {
        final long base = conns.recvBuffer[c];
        int pos = 0;
        conns.parseBlocked[c] = false;
        while (conns.state[c] == Connections.OPEN && !conns.closeAfterSend[c])
        {
            final int available = conns.filled[c] - pos;
            final int length = FrameDecoder.frameLength(memory, (int)(base + pos), available);
            if (length == FrameDecoder.INCOMPLETE)
            {
                break;
            }
            final int lengthStatus = FrameDecoder.check(length, maxBodyLength);
            if (lengthStatus != Status.OK)
            {
                connectionError(c, lengthStatus);
                return; // the buffer was discarded: nothing left to compact
            }
            if (available < RequestHeader.HEADER_LENGTH)
            {
                break;
            }
            if (conns.inFlight[c] >= config.maxInFlight() ||
                conns.bufferBytes[c] >= maxBufferBytesPerConnection)
            {
                break; // resumed when one of its requests finishes
            }
            header.wrap(memory, (int)(base + pos));
            final int bodyLength = length - Protocol.MIN_LENGTH;
            final int frameLength = Protocol.LENGTH_FIELD_LENGTH + length;
            final int verdict = RequestValidator.validate(header, bodyLength, config.store().maxBlockSize());
            if (verdict == Status.UNSUPPORTED_VERSION)
            {
                connectionError(c, verdict);
                return;
            }
            if (frameLength > available && frameLength <= config.recvBufferSize() && verdict == Status.OK)
            {
                break; // wait for the rest of a frame that fits the buffer
            }
            final boolean largePut = verdict == Status.OK && frameLength > available;
            if (largePut && !bodies.tryTake(c, BuddyAllocator.blockSize(IoArena.classFor(Math.max(1,
                RequestValidator.putPayloadLength(header.flags(), bodyLength))))))
            {
                conns.parseBlocked[c] = true;
                bodies.await(c);
                break; // resumed by serveBodyWaiters when bodies complete or are dropped
            }
            final int r = reqs.acquire(c, conns.generation[c]);
            if (r < 0)
            {
                if (largePut)
                {
                    bodies.undoTake(c);
                }
                starve(c);
                break;
            }
            reqs.opcode[r] = header.opcode();
            reqs.flags[r] = header.flags();
            reqs.requestId[r] = header.requestId();
            conns.inFlight[c]++;
            if (verdict != Status.OK)
            {
                stats.protocolErrors++;
                respondStatus(r, verdict);
                if (frameLength > available)
                {
                    conns.bodyState[c] = Connections.BODY_DISCARD;
                    conns.bodyRemaining[c] = frameLength - available;
                    pos = conns.filled[c];
                    break;
                }
                if (frameLength > config.recvBufferSize())
                {
                    pos += available;
                    break;
                }
                pos += frameLength;
                continue;
            }
            final long body = base + pos + RequestHeader.HEADER_LENGTH;
            if (frameLength <= available)
            {
                if (!ops.start(r, body, bodyLength))
                {
                    conns.inFlight[c]--;
                    reqs.release(r);
                    starve(c);
                    break;
                }
                pos += frameLength;
                continue;
            }
            // A PUT larger than the receive buffer: its payload goes straight into a block buffer.
            final int received = available - RequestHeader.HEADER_LENGTH;
            if (!ops.startLargePut(r, body, received, bodyLength))
            {
                bodies.undoTake(c);
                conns.inFlight[c]--;
                reqs.release(r);
                starve(c);
                break;
            }
            receiveBody(c, r, received, bodyLength);
            pos = conns.filled[c];
            break;
        }
        if (pos > 0)
        {
            final int rest = conns.filled[c] - pos;
            if (rest > 0)
            {
                memory.putBytes((int)base, memory, (int)(base + pos), rest);
            }
            conns.filled[c] = rest;
        }
        timeouts.framing(c, pos > 0, now);
    }

    /**
     * The connection receives the rest of large PUT {@code r} straight into place: what is missing of a
     * VERIFY_HASH PUT's expected hash first, then the payload.
     */
    private void receiveBody(final int c, final int r, final int received, final int bodyLength)
    {
        final int prefix = bodyLength - reqs.payloadLength[r];
        final int hashPart = Math.min(prefix, received);
        conns.bodyRequest[c] = r;
        if (hashPart < prefix)
        {
            conns.bodyState[c] = Connections.BODY_EXPECTED_HASH;
            conns.bodyTarget[c] = ops.expectedHashAddress(r, hashPart);
            conns.bodyRemaining[c] = prefix - hashPart;
        }
        else
        {
            final int payloadPart = received - hashPart;
            conns.bodyState[c] = Connections.BODY_PAYLOAD;
            conns.bodyTarget[c] = ops.payloadAddress(r, payloadPart);
            conns.bodyRemaining[c] = reqs.payloadLength[r] - payloadPart;
        }
    }

    /** A frame that breaks framing: answer with opcode 0 / request id 0 and close after sending it. */
    private void connectionError(final int c, final int status)
    {
        stats.protocolErrors++;
        final int r = reqs.acquire(c, conns.generation[c]);
        conns.filled[c] = 0;
        if (r < 0)
        {
            conns.closeAfterSend[c] = true;
            beginClose(c, true);
            return;
        }
        reqs.opcode[r] = Opcode.NONE;
        reqs.flags[r] = 0;
        reqs.requestId[r] = 0;
        conns.inFlight[c]++;
        respondStatus(r, status);
        // Only now: from here on respond() drops every other response, so the error frame stays the last one.
        conns.closeAfterSend[c] = true;
    }

    private void starve(final int c)
    {
        conns.parseBlocked[c] = true;
        if (conns.starved[c])
        {
            return;
        }
        stats.starvations++;
        conns.starved[c] = true;
        conns.nextStarved[c] = -1;
        if (starvedTail < 0)
        {
            starvedHead = c;
        }
        else
        {
            conns.nextStarved[starvedTail] = c;
        }
        starvedTail = c;
    }

    private int serveStarved()
    {
        int c = starvedHead;
        starvedHead = -1;
        starvedTail = -1;
        int work = 0;
        while (c >= 0)
        {
            final int next = conns.nextStarved[c];
            conns.starved[c] = false;
            if (conns.state[c] == Connections.OPEN && !takeHeld(c))
            {
                starve(c); // still no arena memory for what it received
            }
            else if (conns.state[c] == Connections.OPEN && conns.parseBlocked[c])
            {
                parse(c);
                maybePostRecv(c);
                if (!conns.starved[c])
                {
                    work++; // only progress counts, so a worker short of slots still sleeps between retries
                }
            }
            c = next;
        }
        return work;
    }

    /** Retries, in order, the connections that waited for the partial-body budget, once budget was released. */
    private int serveBodyWaiters()
    {
        int c = bodies.takeWaiters();
        int work = 0;
        while (c >= 0)
        {
            final int next = bodies.nextOf(c);
            if (conns.state[c] == Connections.OPEN && conns.parseBlocked[c])
            {
                parse(c);
                maybePostRecv(c);
                if (!bodies.isWaiting(c) && !conns.starved[c])
                {
                    work++; // only progress counts: a connection that waits again must not keep the worker awake
                }
            }
            c = next;
        }
        return work;
    }

    // ---------------------------------------------------------------- respond and send

    /** Answers a status with an empty body (protocol errors, refusals while stopping). */
    void respondStatus(final int r, final int status)
    {
        ops.respondStatus(r, status);
    }

    @Override
    public void chargeBuffer(final int r, final long bytes)
    {
        final int c = reqs.connection[r];
        if (conns.generation[c] == reqs.connectionGeneration[r])
        {
            conns.bufferBytes[c] += bytes;
        }
    }

    @Override
    public void respond(final int r, final long at, final int length, final int status)
    {
        final int c = reqs.connection[r];
        final int op = Opcode.isValid(reqs.opcode[r]) ? reqs.opcode[r] : Opcode.NONE;
        stats.requests[op]++;
        stats.statuses[status]++;
        stats.bytesOut[op] += length;
        if (conns.generation[c] != reqs.connectionGeneration[r] || conns.state[c] == Connections.CLOSED ||
            conns.fd[c] < 0 || conns.closeAfterSend[c])
        {
            // After a connection-level error frame nothing may follow it (the client already failed the request).
            finishRequest(r);
            return;
        }
        reqs.state[r] = Requests.RESPONDING;
        reqs.response[r] = at;
        reqs.responseLength[r] = length;
        reqs.responseSent[r] = 0;
        reqs.next[r] = -1;
        if (conns.sendTail[c] < 0)
        {
            conns.sendHead[c] = r;
        }
        else
        {
            reqs.next[conns.sendTail[c]] = r;
        }
        conns.sendTail[c] = r;
        if (!conns.sending[c])
        {
            markSendReady(c);
        }
    }

    /** Queues {@code c} to send at the end of the duty cycle, together with whatever else it answers meanwhile. */
    private void markSendReady(final int c)
    {
        if (conns.sendReady[c])
        {
            return;
        }
        conns.sendReady[c] = true;
        conns.nextSendReady[c] = -1;
        if (sendReadyTail < 0)
        {
            sendReadyHead = c;
        }
        else
        {
            conns.nextSendReady[sendReadyTail] = c;
        }
        sendReadyTail = c;
    }

    /** End of the duty cycle: every connection with responses ready and no send in flight sends them now. */
    private void flushSends()
    {
        int c = sendReadyHead;
        sendReadyHead = -1;
        sendReadyTail = -1;
        while (c >= 0)
        {
            final int next = conns.nextSendReady[c];
            conns.sendReady[c] = false;
            if (!conns.sending[c] && conns.sendHead[c] >= 0 && conns.state[c] != Connections.CLOSED)
            {
                try
                {
                    startSend(c);
                }
                catch (final RuntimeException e)
                {
                    // One connection's fault must not strand the rest of the list.
                    errors.onError("worker " + id + " send on connection " + c, e);
                    beginClose(c, true);
                }
            }
            c = next;
        }
    }

    /**
     * Sends the connection's queued responses, the first from where a short send left it: one SEND for a single
     * response, one SENDMSG over at most {@link SendVectors#MAX_IOVECS} responses (and about
     * {@link SendVectors#MAX_BYTES}) otherwise. GET bodies go straight from their read buffers.
     */
    private void startSend(final int c)
    {
        int r = conns.sendHead[c];
        final long ud = UserData.pack(c, OP_SEND, conns.generation[c]);
        final long first = arena.address(reqs.response[r] + reqs.responseSent[r]);
        final int firstLength = reqs.responseLength[r] - reqs.responseSent[r];
        if (reqs.next[r] < 0)
        {
            ring.prepSend(conns.fd[c], first, firstLength, 0, ud);
            sendStarted(c);
            return;
        }
        vectors.set(c, 0, first, firstLength);
        long bytes = firstLength;
        int count = 1;
        r = reqs.next[r];
        while (r >= 0 && count < SendVectors.MAX_IOVECS && bytes < SendVectors.MAX_BYTES)
        {
            vectors.set(c, count++, arena.address(reqs.response[r]), reqs.responseLength[r]);
            bytes += reqs.responseLength[r];
            r = reqs.next[r];
        }
        ring.prepSendmsg(conns.fd[c], vectors.seal(c, count), 0, ud);
        sendStarted(c);
    }

    /** Only once its SQE exists: a connection marked sending without one would never send again. */
    private void sendStarted(final int c)
    {
        conns.sending[c] = true;
        timeouts.sendStarted(c, now);
        stats.sends++;
    }

    private void onSend(final int c, final int gen, final int res)
    {
        if (conns.generation[c] != gen)
        {
            return;
        }
        conns.sending[c] = false;
        if (res < 0)
        {
            if (res == -Errno.EINTR || res == -Errno.EAGAIN || res == -Errno.ENOBUFS)
            {
                startSend(c);
                return;
            }
            beginClose(c, true); // drops the queued responses once the connection is CLOSING
            return;
        }
        if (consumeSent(c, res))
        {
            stats.shortIo++;
        }
        if (conns.sendHead[c] >= 0)
        {
            markSendReady(c); // with whatever else this connection answers in this duty cycle
        }
        else if (conns.closeAfterSend[c] && conns.state[c] == Connections.OPEN)
        {
            linger.begin(c); // the error frame is out: the client reads it, then end-of-stream
        }
        else
        {
            tryFinishClose(c);
        }
    }

    /**
     * Finishes the queued responses the {@code sent} bytes completed, in order; a response sent in part keeps its
     * place with its progress. Finishing a request may parse buffered frames, whose responses join the queue.
     *
     * @return true when the send ended inside a response (a short send).
     */
    private boolean consumeSent(final int c, final int sent)
    {
        int left = sent;
        while (left > 0)
        {
            final int r = conns.sendHead[c];
            final int remaining = reqs.responseLength[r] - reqs.responseSent[r];
            if (left < remaining)
            {
                reqs.responseSent[r] += left;
                return true;
            }
            left -= remaining;
            conns.sendHead[c] = reqs.next[r];
            if (conns.sendHead[c] < 0)
            {
                conns.sendTail[c] = -1;
            }
            finishRequest(r);
        }
        return false;
    }

    /**
     * A deadline of {@link ConnectionTimeouts} passed. A client that stopped reading (send) or sending (request) gets
     * its socket shut down, which fails its stuck send or receive and frees the buffers it pinned; an idle connection
     * is simply closed.
     */
    @Override
    public void expired(final int c, final int kind)
    {
        switch (kind)
        {
            case ConnectionTimeouts.SEND -> stats.sendTimeouts++;
            case ConnectionTimeouts.REQUEST -> stats.requestTimeouts++;
            default ->
            {
                stats.idleTimeouts++;
                beginClose(c, false);
                return;
            }
        }
        LibC.shutdown(conns.fd[c], LibC.SHUT_RDWR);
        beginClose(c, true);
    }

    private void dropSendQueue(final int c)
    {
        int r = conns.sendHead[c];
        conns.sendHead[c] = -1;
        conns.sendTail[c] = -1;
        while (r >= 0)
        {
            final int next = reqs.next[r];
            finishRequest(r);
            r = next;
        }
    }

    /** Releases a request's buffers and slot; resumes a connection that was throttled on it. */
    void finishRequest(final int r)
    {
        ops.releaseBuffers(r);
        final int c = reqs.connection[r];
        reqs.release(r);
        if (conns.generation[c] != reqs.connectionGeneration[r])
        {
            return;
        }
        conns.inFlight[c]--;
        if (conns.state[c] == Connections.OPEN)
        {
            resume(c); // a freed slot may let buffered frames through
        }
        else
        {
            tryFinishClose(c);
        }
    }

    /**
     * Puts {@code c} on the ready list: it has new bytes or a freed request slot. The duty cycle resumes it after
     * the completions are handled, so no completion handler ever parses (and answers) from inside another one.
     */
    private void resume(final int c)
    {
        if (conns.ready[c])
        {
            return;
        }
        conns.ready[c] = true;
        conns.nextReady[c] = -1;
        if (readyTail < 0)
        {
            readyHead = c;
        }
        else
        {
            conns.nextReady[readyTail] = c;
        }
        readyTail = c;
    }

    /** Parses what the ready connections received and posts their next receive. */
    private int serveReady()
    {
        int c = readyHead;
        readyHead = -1;
        readyTail = -1;
        int work = 0;
        while (c >= 0)
        {
            final int next = conns.nextReady[c];
            conns.ready[c] = false;
            if (conns.state[c] == Connections.OPEN)
            {
                try
                {
                    if (conns.filled[c] > 0 && conns.bodyState[c] == Connections.BODY_NONE)
                    {
                        parse(c);
                    }
                    maybePostRecv(c);
                }
                catch (final RuntimeException e)
                {
                    // One connection's fault must not strand the rest of the list.
                    errors.onError("worker " + id + " connection " + c, e);
                    beginClose(c, true);
                }
                work++;
            }
            c = next;
        }
        return work;
    }

    // ---------------------------------------------------------------- close

    /**
     * Stops reading from {@code c}. With {@code broken} the socket is unusable, so queued responses are dropped;
     * otherwise in-flight requests still get their answers before the fd is closed.
     */
    void beginClose(final int c, final boolean broken)
    {
        if (conns.state[c] == Connections.OPEN)
        {
            conns.state[c] = Connections.CLOSING;
            if (conns.recvPosted[c])
            {
                ring.prepCancel(UserData.pack(c, OP_RECV, conns.generation[c]), UserData.pack(0, OP_IGNORE, 0));
            }
        }
        if (broken && !conns.sending[c])
        {
            dropSendQueue(c);
        }
        tryFinishClose(c);
    }

    void tryFinishClose(final int c)
    {
        if (conns.state[c] != Connections.CLOSING || conns.recvPosted[c] || conns.sending[c] ||
            conns.inFlight[c] > 0 || linger.active(c) || linger.recvPosted(c) || drain.holds(c))
        {
            return;
        }
        conns.state[c] = Connections.CLOSED;
        ring.prepClose(conns.fd[c], UserData.pack(c, OP_CLOSE, conns.generation[c]));
    }

    private void onClosed(final int c, final int gen, final int res)
    {
        if (conns.generation[c] != gen)
        {
            return;
        }
        if (res < 0)
        {
            errors.onError("worker " + id, "close failed: " + Errno.describe(res));
        }
        releaseRecvBuffer(c);
        if (conns.heldBid[c] >= 0)
        {
            provided.recycle(conns.heldBid[c]);
            conns.heldBid[c] = -1;
        }
        bodies.release(c);
        conns.free(c);
        connectionCount.decrementAndGet();
        stats.closed++;
    }

    // ---------------------------------------------------------------- shutdown

    private void beginStop()
    {
        stopping = true;
        stopDeadline = System.nanoTime() + config.shutdownTimeoutMillis() * 1_000_000L;
        ring.prepCancel(UserData.pack(0, OP_ACCEPT, 0), UserData.pack(0, OP_IGNORE, 0));
        ops.refuseStalled();
        for (int c = 0; c < conns.capacity; c++)
        {
            // A connection whose error frame is queued closes (lingeringly) once it is sent, answering nothing more.
            if (conns.state[c] == Connections.OPEN && !conns.closeAfterSend[c])
            {
                drain.begin(c);
            }
        }
    }

    private void closeEverything()
    {
        if (ring != null)
        {
            try
            {
                ring.submit(); // close SQEs prepared in the last cycle
            }
            catch (final RuntimeException e)
            {
                errors.onError("worker " + id, e);
            }
        }
        linger.closeRejected();
        for (int c = 0; c < conns.capacity; c++)
        {
            // CLOSED slots have their close SQE submitted: closing again could hit a reused descriptor number.
            if (conns.fd[c] >= 0 && conns.state[c] != Connections.CLOSED)
            {
                LibC.close(conns.fd[c]);
            }
        }
        if (ops != null)
        {
            ops.close();
        }
        if (reserve != null)
        {
            reserve.close();
        }
        vectors.close();
        if (provided != null)
        {
            provided.close();
        }
        if (ring != null)
        {
            ring.close();
        }
        arena.close();
    }

    /** Where STATS gets its (server-wide) text; set before the worker starts. */
    void statsText(final java.util.function.Supplier<String> source)
    {
        statsText = source;
    }

    @Override
    public String statsText()
    {
        return statsText.get();
    }

    Throwable failure()
    {
        return failure;
    }
}
