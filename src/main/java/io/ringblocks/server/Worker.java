package io.ringblocks.server;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Supplier;

import io.ringblocks.storage.ErrorHandler;
import io.ringblocks.storage.Store;
import io.ringblocks.sys.LibC;
import io.ringblocks.uring.CompletionBatch;
import io.ringblocks.uring.Ring;
import io.ringblocks.uring.UserData;
import io.ringblocks.uring.Wakeup;

/**
 * One worker thread and its ring. The ring multiplexes everything the worker does: a multishot accept on its own
 * SO_REUSEPORT listener, recv and send on its connections, READ_FIXED/WRITE_FIXED on the data file, and the eventfd read
 * through which the committer wakes it. The duty cycle drains completions first (handlers only record what
 * happened), then acknowledgements, resumes the ready connections, retries whatever waited for space or slots,
 * sweeps timeouts and sends what the cycle answered; idle, it sleeps in submit-and-wait until a CQE or a wakeup.
 * <p>
 * This class owns the thread and the shutdown of connection I/O; {@link Acceptor} the accepts, {@link Receiver}
 * (with {@link Framing}) and {@link Sender} the two directions, {@link ConnectionClose} how a connection ends;
 * {@link Operations} runs the requests.
 */
final class Worker implements Runnable, ConnectionTimeouts.Expiry, Responder, Sender.Events, Receiver.Events,
    Acceptor.Host, StopDrain.Host
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

    private final int id;
    private final ServerConfig config;
    private final ErrorHandler errors;
    private final Wakeup wakeup;
    private final WorkerContext ctx;
    private final ServerStats stats;
    private final Connections conns;
    private final Requests reqs;
    private final IoArena arena;
    private Ring ring;
    private final AtomicInteger connectionCount;
    private final CountDownLatch started = new CountDownLatch(1);
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final CompletionBatch batch = new CompletionBatch(512);
    private Operations ops;
    private final Linger linger;
    private final StopDrain drain;
    private Supplier<String> statsText = () -> "";
    private volatile boolean stopRequested;
    private volatile Throwable failure;
    private boolean stopping;
    private long stopDeadline;
    private final Sender sender;
    private final Receiver receiver;
    private final ConnectionTimeouts timeouts;
    /** Arena budget of PUT bodies still arriving: stalled uploads cannot take the memory complete requests need. */
    private final PartialBodies bodies;
    private final Acceptor acceptor;
    private final ConnectionClose close;
    private IdleEviction eviction;
    /** The arena's failed allocations and the request slots found exhausted, by the last cycle: more means short. */
    private long shortfallsSeen;
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
        this.connectionCount = connectionCount;
        this.errors = errors;
        ctx = new WorkerContext(id, config, store, errors, config.requestSlots());
        stats = ctx.stats;
        reqs = ctx.reqs;
        arena = ctx.arena;
        // Room for as many more as idle evictions may have under way: an evicted slot frees when its close completes.
        conns = new Connections(config.maxConnections() + IdleEviction.HEADROOM);
        timeouts = new ConnectionTimeouts(conns, config.sendTimeoutMillis(), config.requestTimeoutMillis(),
            config.idleTimeoutMillis());
        bodies = new PartialBodies(conns.capacity, config.arenaSize() / 2);
        linger = new Linger(ctx, conns, this);
        drain = new StopDrain(ctx, conns, this);
        sender = new Sender(ctx, conns, timeouts, this);
        receiver = new Receiver(ctx, conns, timeouts, bodies, this);
        acceptor = new Acceptor(ctx, conns, linger, listenFd, connectionCount, this);
        close = new ConnectionClose(ctx, conns, sender, receiver, linger, drain, bodies, connectionCount);
    }

    /** Blocks until the ring is set up (or setup failed). */
    void awaitStarted() throws InterruptedException
    {
        started.await();
        if (failure != null)
        {
            throw new IllegalStateException("worker " + id + " failed to start: " + Failures.describe(failure), failure);
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
        return stopped.await(millis, TimeUnit.MILLISECONDS);
    }

    @Override
    public void run()
    {
        try
        {
            ring = new Ring(config.ringEntries());
            ctx.ring(ring);
            arena.register(ring);
            acceptor.allocateRejectFrame();
            ops = new Operations(ctx, this);
            eviction = new IdleEviction(ctx, conns, timeouts, ops, receiver, close);
            sender.start();
            receiver.start(ops); // after what the worker cannot start without
            acceptor.start();
            wakeup.arm(ring, UserData.pack(0, OP_WAKE, 0));
            ring.submit();
        }
        catch (final Throwable t)
        {
            failure = t;
            try
            {
                closeEverything(); // what was set up before the failure: ring, arena, index reader, block cache
            }
            catch (final Throwable e)
            {
                if (e != t) // the JVM may throw one preallocated OutOfMemoryError twice
                {
                    t.addSuppressed(e);
                }
            }
            finally
            {
                started.countDown(); // whatever happened: the thread waiting for the start must not wait for ever
                stopped.countDown();
            }
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
            acceptor.withdraw(); // new connections go to the workers still alive
        }
        finally
        {
            try
            {
                closeEverything();
            }
            finally
            {
                // The server-wide count must not keep connections this worker no longer has.
                connectionCount.addAndGet(-conns.openCount());
                stopped.countDown();
            }
        }
    }

    private void loop()
    {
        while (true)
        {
            int work = 0;
            now = System.nanoTime();
            sender.cycle(now);
            receiver.cycle(now);
            try
            {
                work += reapAndHandle();
                final int acks = ops.pollAcks();
                work += acks;
                work += receiver.serveReady();
                work += ops.retryStalled(now, acks > 0);
                work += receiver.serveStarved(now);
                work += receiver.serveBodyWaiters();
                // Short of arena memory or of request slots, responses nobody reads hold what others wait for.
                final long shortfalls = arena.failures() + reqs.exhaustions();
                timeouts.pressure(shortfalls != shortfallsSeen, bodies.waiters() > 0, now);
                shortfallsSeen = shortfalls;
                work += timeouts.sweep(now, this);
            }
            catch (final RuntimeException e)
            {
                // A fault in one request must not take the worker (and every connection on it) down.
                errors.onError("worker " + id, e);
                work++;
            }
            try
            {
                sender.flush(); // whatever failed above, the cycle's answers leave
            }
            catch (final RuntimeException e)
            {
                errors.onError("worker " + id, e);
                work++;
            }
            try
            {
                ops.endIteration(); // and its snapshot pin is dropped, whatever failed before
                acceptor.cycle(System.nanoTime(), stopping);
            }
            catch (final RuntimeException e)
            {
                errors.onError("worker " + id, e);
                work++;
            }
            stats.increment(ServerStats.LOOPS);
            stats.set(ServerStats.IN_FLIGHT, reqs.inUse());
            stats.set(ServerStats.PARTIAL_BODY_BYTES, bodies.held());
            stats.set(ServerStats.BODY_BUDGET_WAITERS, bodies.waiters());
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
                LockSupport.parkNanos(1_000_000L); // no hot loop on a persistent fault
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
        if (ops.hasAcks() || stopRequested != stopping || receiver.hasReady() || sender.hasReady())
        {
            ring.submitAndGetEvents();
        }
        else if (ops.hasStalled() || receiver.hasStarved())
        {
            // A completion (a send that frees a buffer, a wake-up with acknowledgements) ends the wait earlier.
            ring.submitAndWait(1, Operations.RETRY_NANOS);
        }
        else if (stopping || timeouts.nextSweep() != Long.MAX_VALUE || acceptor.backoffUntil() != 0)
        {
            // A connection can time out without any completion (a stuck send, a stalled frame), and a stop must end
            // by its deadline: wake up for the earliest of them. Everything else a stop waits for is a completion.
            long wake = timeouts.nextSweep();
            if (acceptor.backoffUntil() != 0)
            {
                wake = Math.min(wake, acceptor.backoffUntil());
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
        stats.add(ServerStats.COMPLETIONS, n);
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
            case OP_ACCEPT -> acceptor.onAccept(res, flags, stopping, now);
            case OP_WAKE ->
            {
                if (!stopping || reqs.inUse() > 0 || conns.openCount() > 0)
                {
                    wakeup.arm(ring, UserData.pack(0, OP_WAKE, 0));
                }
            }
            case OP_RECV -> receiver.onRecv(slot, gen, res, flags);
            case OP_SEND -> sender.onSend(slot, gen, res);
            case OP_CLOSE -> close.onClosed(slot, gen, res);
            case OP_FILE_READ -> ops.onFileRead(slot, gen, res);
            case OP_FILE_WRITE -> ops.onFileWrite(slot, gen, res);
            case Linger.OP_RECV -> linger.onRecv(slot, gen, res);
            case Linger.OP_TIMEOUT -> linger.onTimeout(slot, gen);
            case Linger.OP_REJECT_RECV -> linger.onRejectRecv(slot, gen, res);
            case Linger.OP_REJECT_TIMEOUT -> linger.onRejectTimeout(slot, gen);
            case StopDrain.OP_RECV -> drain.onRecv(slot, gen, res);
            case HangupWatch.OP_POLL -> receiver.onHangupPoll(slot, gen, res);
            case OP_IGNORE ->
            {
            }
            default -> errors.onError("worker " + id, "unknown completion " + Long.toHexString(ud));
        }
    }

    // ---------------------------------------------------------------- respond and send

    /** Accepted into slot {@code c}: with provided buffers an idle connection holds no receive memory yet. */
    @Override
    public boolean opened(final int c)
    {
        if (!receiver.opened(c))
        {
            return false;
        }
        timeouts.opened(c, now);
        receiver.postRecv(c);
        return true;
    }

    @Override
    public boolean evictIdle(final long nanos)
    {
        return eviction.evictIdle(nanos);
    }

    /** Answers a status with an empty body (protocol errors, refusals while stopping). */
    @Override
    public void respondStatus(final int r, final int status)
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
    public boolean answerable(final int r)
    {
        // A connection closing after a half-close or at a stop still sends its answers; a broken one cannot.
        final int c = reqs.connection[r];
        return conns.generation[c] == reqs.connectionGeneration[r] && conns.state[c] != Connections.CLOSED &&
            conns.fd[c] >= 0 && !conns.closeAfterSend[c] && !conns.broken[c];
    }

    @Override
    public void lingerBegin(final int c)
    {
        linger.begin(c);
    }

    @Override
    public boolean draining(final int c)
    {
        return drain.active(c);
    }

    @Override
    public void drained(final int c, final int res)
    {
        drain.afterRecv(c, res);
    }

    /** For {@link StopDrain}: what {@code c} holds in provided buffers becomes what its ended receive brought. */
    @Override
    public int settleForDrain(final int c, final int res)
    {
        return receiver.settleForDrain(c, res);
    }

    /** For {@link Linger} and {@link StopDrain}: gives {@code c} a receive buffer of its own if it has none. */
    @Override
    public boolean ensureRecvBuffer(final int c)
    {
        return receiver.ensureRecvBuffer(c);
    }

    @Override
    public void respond(final int r, final long at, final int length, final int status)
    {
        sender.respond(r, at, length, status);
    }

    @Override
    public void respond(final int r, final long at, final int length, final long body, final int bodyLength,
        final int status)
    {
        sender.respond(r, at, length, body, bodyLength, status);
    }

    @Override
    public void expired(final int c, final int kind)
    {
        close.expired(c, kind);
    }

    /** Releases a request's buffers and slot; resumes a connection that was throttled on it. */
    @Override
    public void finishRequest(final int r)
    {
        final int op = reqs.opcode[r] >= 0 && reqs.opcode[r] < ServerStats.OPS ? reqs.opcode[r] : 0;
        final long micros = (System.nanoTime() - reqs.startNanos[r]) / 1000;
        ServerStats.add(stats.latency, op * LatencyBuckets.BUCKETS + LatencyBuckets.bucket(micros), 1);
        ServerStats.add(stats.latencySumMicros, op, micros);
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
            receiver.resume(c); // a freed slot may let buffered frames through
        }
        else
        {
            tryFinishClose(c);
        }
    }

    // ---------------------------------------------------------------- close (ConnectionClose)

    @Override
    public void beginClose(final int c, final boolean broken)
    {
        close.begin(c, broken);
    }

    @Override
    public void tryFinishClose(final int c)
    {
        close.tryFinish(c);
    }

    // ---------------------------------------------------------------- shutdown

    private void beginStop()
    {
        stopping = true;
        stopDeadline = System.nanoTime() + config.shutdownTimeoutMillis() * 1_000_000L;
        try
        {
            acceptor.stop();
        }
        catch (final RuntimeException e)
        {
            errors.onError("worker " + id + " stop accepting", e); // the listener is closed with the worker
        }
        ops.refuseStalled();
        for (int c = 0; c < conns.capacity; c++)
        {
            // A connection whose error frame is queued closes (lingeringly) once it is sent, answering nothing more.
            if (conns.state[c] == Connections.OPEN && !conns.closeAfterSend[c])
            {
                try
                {
                    drain.begin(c);
                }
                catch (final RuntimeException e)
                {
                    errors.onError("worker " + id + " stop drain of connection " + c, e); // the others still drain
                }
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
        acceptor.close();
        sender.close();
        receiver.close();
        if (ring != null)
        {
            ring.close();
        }
        if (ops != null)
        {
            ops.closeAfterRing(); // only now: a send or read submitted in the last cycle may have used them until the ring went
        }
        if (ops != null && ops.buffersLent() > 0)
        {
            // Stopped by the deadline with blocks the committer has yet to write from this arena: it must stay
            // mapped (the committer's final drain writes them); the process is going away anyway.
            errors.onError("worker " + id, ops.buffersLent() + " request buffers still lent to the committer: " +
                "the I/O arena is left mapped");
            return;
        }
        arena.close();
    }

    /** The worker's counters, read by other threads for reports (each published with release semantics). */
    ServerStats stats()
    {
        return stats;
    }

    /** Where STATS gets its (server-wide) text; set before the worker starts. */
    void statsText(final Supplier<String> source)
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
