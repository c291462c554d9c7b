package io.ringblocks.server;

import java.nio.charset.StandardCharsets;

import org.agrona.concurrent.UnsafeBuffer;

import io.ringblocks.protocol.RangeBody;
import io.ringblocks.protocol.ResponseHeader;
import io.ringblocks.storage.CommitterClient;
import io.ringblocks.storage.Store;
import io.ringblocks.wire.Flags;
import io.ringblocks.wire.Opcode;
import io.ringblocks.wire.Protocol;
import io.ringblocks.wire.Status;

/**
 * The requests of one worker: dispatches each to its path — GET to {@link Reads}; PUT and DELETE to {@link Writes},
 * which also takes the committer's acknowledgements; LIST and FIND_MISSING to {@link Listings} — and serves HEAD, PING
 * and STATS itself;
 * retries the requests that wait for space, the delta ring or a checkpoint ({@link StallList}), and ends each duty
 * cycle (the snapshot's pin, the committer's wake-up, the gauges). Runs on the worker thread; nothing here blocks or
 * allocates per request (STATS excepted). What the paths share is in small classes of their own, handed to each at
 * construction: {@link Answers} (response headers, the small response areas), {@link Lookups} (the cycle's pinned
 * index snapshot), {@link RequestBuffers}, {@link StallList}.
 */
final class Operations implements AutoCloseable
{
    /** Bytes of a hash: each request slot keeps one in {@code reqs.hashes} (and the expected one) at r * HASH. */
    static final int HASH = Protocol.HASH_LENGTH;
    /** Longest a stalled request waits for its next retry when nothing it waits for signalled a change. */
    static final long RETRY_NANOS = 10_000_000L;
    static final int STATS_PER_SECOND = 1000;
    static final int STATS_BURST = 100;

    private final WorkerContext ctx;
    private final Responder responder;
    private final ServerStats stats;
    private final UnsafeBuffer memory;
    private final Requests reqs;
    private final IoArena arena;
    private final Store store;
    private final CommitterClient client;
    private final Answers answers;
    private final Lookups lookups;
    private final RequestBuffers buffers;
    private final StallList stalls;
    private final CorruptMarks marks;
    private final Reads reads;
    private final Writes writes;
    private final Listings listings;
    private long lastRetry;
    /** A stalled request older than this (the request timeout) is answered BUSY instead of retried. */
    private final long stallLimitNanos;
    private long freesAtRetry = -1;
    /** STATS a worker renders: {@value #STATS_PER_SECOND} a second, in bursts of up to {@value #STATS_BURST}. */
    private final RateLimit statsAllowance = new RateLimit(STATS_PER_SECOND, STATS_BURST);

    Operations(final WorkerContext ctx, final Responder responder)
    {
        this.ctx = ctx;
        this.responder = responder;
        stallLimitNanos = Math.min(ctx.config.requestTimeoutMillis(), Long.MAX_VALUE / 4_000_000L) * 1_000_000L;
        stats = ctx.stats;
        memory = ctx.memory;
        reqs = ctx.reqs;
        arena = ctx.arena;
        store = ctx.store;
        client = store.client(ctx.id);
        answers = new Answers(ctx, responder);
        buffers = new RequestBuffers(ctx, responder);
        stalls = new StallList(reqs, stats);
        marks = new CorruptMarks(ctx, client);
        lookups = new Lookups(client, store.index().reader());
        listings = new Listings(ctx, responder, answers, lookups, buffers, stalls, client);
        try
        {
            writes = new Writes(ctx, answers, lookups, buffers, stalls, client, marks);
            // Last: its block cache is a mapping that nothing after it may fail and leak.
            reads = new Reads(ctx, responder, answers, lookups, buffers, stalls, client, marks);
        }
        catch (final RuntimeException e)
        {
            lookups.close(); // the worker closes what it has, and it has no Operations
            throw e;
        }
    }

    /** Answers a status with an empty body from the request's small response area. */
    void respondStatus(final int r, final int status)
    {
        answers.status(r, status);
    }

    /**
     * Starts a request whose whole body is in the receive buffer at arena offset {@code body}.
     *
     * @return false when a buffer could not be had: nothing was consumed, retry later.
     */
    boolean start(final int r, final long body, final int bodyLength)
    {
        final int generation = reqs.generation[r];
        final int opcode = reqs.opcode[r];
        boolean started = true; // a step that threw consumed the frame all the same
        try
        {
            started = dispatch(r, body, bodyLength);
        }
        catch (final RuntimeException e)
        {
            abandon(r, generation, Requests.RECEIVING, e);
        }
        if (started)
        {
            // Counted once: a frame that could not start yet is offered again.
            ServerStats.add(stats.bytesIn, Opcode.isValid(opcode) ? opcode : Opcode.NONE,
                bodyLength + Protocol.HEADER_LENGTH);
        }
        return started;
    }

    /**
     * A step of request {@code r} threw {@code fault} (reported here). A request still as the step found it, with the
     * same {@code generation} and {@code state}, has nothing of it in the ring or in a queue (every step prepares
     * its SQE last, and the state follows it): it is answered INTERNAL_ERROR, and what it holds goes back once that
     * is sent. A request that got further is left to what it now waits for.
     */
    void abandon(final int r, final int generation, final int state, final RuntimeException fault)
    {
        ctx.errors.onError(ctx.name + " request " + r, fault);
        if (reqs.generation[r] != generation || reqs.state[r] != state || state == Requests.RESPONDING ||
            state == Requests.FREE)
        {
            return;
        }
        stats.increment(ServerStats.REQUESTS_ABANDONED);
        writes.refuse(r);
        listings.uncount(r);
        respondStatus(r, Status.INTERNAL_ERROR);
    }

    private boolean dispatch(final int r, final long body, final int bodyLength)
    {
        final int opcode = reqs.opcode[r];
        switch (opcode)
        {
            case Opcode.PING -> respondStatus(r, Status.OK);
            case Opcode.STATS -> stats(r);
            case Opcode.HEAD, Opcode.GET, Opcode.DELETE ->
            {
                reqs.hashes.putBytes(r * HASH, memory, (int)body, HASH);
                if (opcode == Opcode.HEAD)
                {
                    head(r);
                }
                else if (opcode == Opcode.DELETE)
                {
                    writes.delete(r);
                }
                else
                {
                    final boolean ranged = (reqs.flags[r] & Flags.RANGE) != 0;
                    reqs.rangeOffset[r] = ranged ? RangeBody.offset(memory, (int)body) : 0;
                    reqs.rangeLength[r] = ranged ? RangeBody.length(memory, (int)body) : 0;
                    reads.get(r);
                }
            }
            case Opcode.LIST -> listings.list(r, body);
            case Opcode.FIND_MISSING ->
            {
                return listings.findMissing(r, body, bodyLength);
            }
            case Opcode.PUT ->
            {
                return writes.startPut(r, body, bodyLength);
            }
            default -> respondStatus(r, Status.UNKNOWN_OPCODE);
        }
        return true;
    }

    /** See {@link Writes#startLargePut}. */
    boolean startLargePut(final int r, final long body, final int received, final int bodyLength)
    {
        return writes.startLargePut(r, body, received, bodyLength);
    }

    long expectedHashAddress(final int r, final int at)
    {
        return writes.expectedHashAddress(r, at);
    }

    long payloadAddress(final int r, final int at)
    {
        return buffers.address(r, at);
    }

    /** Gives back what request {@code r} holds: its buffer, and a GET's pins. */
    void releaseBuffers(final int r)
    {
        buffers.release(r);
        reads.releasePins(r);
    }

    private boolean lookup(final int r)
    {
        return lookups.lookup(reqs.hashes, r * HASH);
    }

    /** End of a duty cycle: let LMDB move on and drop the snapshot's pin; wake the committer if anything was published. */
    void endIteration()
    {
        reads.gauges();
        stats.set(ServerStats.ARENA_REGISTERED_BYTES, arena.registeredBytes());
        lookups.endCycle();
        if (writes.takePublished() | marks.takePublished())
        {
            client.flush();
        }
    }

    private void head(final int r)
    {
        if (lookup(r))
        {
            answers.int32(r, lookups.length());
        }
        else
        {
            respondStatus(r, Status.NOT_FOUND);
        }
    }

    /** A PUT's whole body arrived in its buffer. */
    void startPut(final int r)
    {
        final int generation = reqs.generation[r];
        try
        {
            writes.hashAndStore(r);
        }
        catch (final RuntimeException e)
        {
            abandon(r, generation, Requests.RECEIVING, e);
        }
    }

    /** A GET's file read, or a PUT's read-back of the copy its content is stored in, completed. */
    void onFileRead(final int r, final int gen, final int res)
    {
        final int state = reqs.state[r];
        try
        {
            if (reqs.opcode[r] == Opcode.PUT)
            {
                writes.onCheckRead(r, gen, res);
            }
            else
            {
                reads.onFileRead(r, gen, res);
            }
        }
        catch (final RuntimeException e)
        {
            abandon(r, gen, state == Requests.READING ? state : Requests.FREE, e); // the read is over
        }
    }

    /** A PUT's file write completed. */
    void onFileWrite(final int r, final int gen, final int res)
    {
        final int state = reqs.state[r];
        try
        {
            writes.onFileWrite(r, gen, res);
        }
        catch (final RuntimeException e)
        {
            abandon(r, gen, state == Requests.WRITING ? state : Requests.FREE, e); // the write is over
        }
    }

    /** @return request buffers the committer may still be writing from: the arena must stay mapped meanwhile. */
    int buffersLent()
    {
        return writes.buffersLent();
    }

    int pollAcks()
    {
        return writes.pollAcks();
    }

    boolean hasAcks()
    {
        return writes.hasAcks();
    }

    // ---------------------------------------------------------------- stalls

    boolean hasStalled()
    {
        return !stalls.isEmpty();
    }

    /**
     * Retries each stalled request once (space to allocate, room in the delta ring, a checkpoint) when something it
     * waits for may have changed: arena memory was freed, the committer acknowledged (space out of limbo, room in the
     * ring), or {@link #RETRY_NANOS} passed. Retrying every stalled request on every turn of the loop would spend a
     * worker on index lookups for requests that cannot get further.
     *
     * @param acknowledged whether this cycle took acknowledgements from the committer.
     * @return how many got further; a request that stalls again is not work, so an idle worker still sleeps.
     */
    int retryStalled(final long now, final boolean acknowledged)
    {
        if (stalls.isEmpty() || !acknowledged && arena.frees() == freesAtRetry && now - lastRetry < RETRY_NANOS)
        {
            return 0;
        }
        lastRetry = now;
        int r = stalls.takeAll();
        int work = 0;
        while (r >= 0)
        {
            final int next = reqs.next[r];
            // Nobody can take its answer any more, or it waited too long: what it waits for may never come (memory
            // held by clients that do not read, say), and it would keep its connection from closing.
            final boolean answerable = responder.answerable(r);
            if (!answerable || now - reqs.stalledSince[r] > stallLimitNanos)
            {
                stats.increment(ServerStats.STALLS_GIVEN_UP);
                giveUp(r, answerable ? Status.BUSY : Status.SHUTTING_DOWN);
                work++;
                r = next;
                continue;
            }
            final long stallsBefore = stalls.stalls();
            final int state = reqs.state[r];
            final int generation = reqs.generation[r];
            try
            {
                retry(r);
            }
            catch (final RuntimeException e)
            {
                // Not stalled again: nothing else has it. The rest of the list goes on being retried.
                abandon(r, generation, stalls.stalls() == stallsBefore ? state : Requests.FREE, e);
            }
            if (stalls.stalls() == stallsBefore)
            {
                reqs.stalledSince[r] = 0; // its wait is over: a later one counts from its own start
                work++;
            }
            r = next;
        }
        freesAtRetry = arena.frees(); // after the retries: what they freed and took again themselves is no news
        return work;
    }

    private void retry(final int r)
    {
        if (reqs.state[r] == Requests.WAIT_PUBLISH)
        {
            writes.publishOrStall(r);
        }
        else if (reqs.state[r] == Requests.WAIT_CHECK)
        {
            writes.storeUnlessStored(r);
        }
        else if (reqs.opcode[r] == Opcode.LIST)
        {
            listings.retry(r);
        }
        else if (reqs.opcode[r] == Opcode.GET)
        {
            releaseBuffers(r);
            reads.get(r);
        }
        else
        {
            writes.allocateAndWrite(r);
        }
    }

    /**
     * The worker stops: requests waiting for space or for room in the delta ring are answered SHUTTING_DOWN
     * instead of waiting on. None took effect; a PUT's block written but not published is given back.
     */
    void refuseStalled()
    {
        int r = stalls.takeAll();
        while (r >= 0)
        {
            final int next = reqs.next[r];
            giveUp(r, Status.SHUTTING_DOWN);
            r = next;
        }
    }

    /** Answers stalled request {@code r} {@code status} instead of retrying it: it took no effect. */
    private void giveUp(final int r, final int status)
    {
        try
        {
            writes.refuse(r); // a PUT's block written but not published is given back
            listings.uncount(r);
            releaseBuffers(r);
            respondStatus(r, status);
        }
        catch (final RuntimeException e)
        {
            ctx.errors.onError(ctx.name + " request " + r, e); // the rest are still answered
        }
    }

    // ---------------------------------------------------------------- STATS

    private void stats(final int r)
    {
        if (!statsAllowance.take(System.nanoTime()))
        {
            respondStatus(r, Status.BUSY); // each one renders every figure anew: a flood of them would be a CPU sink
            return;
        }
        final String text = responder.statsText();
        final byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        if (!buffers.take(r, ResponseHeader.HEADER_LENGTH + bytes.length))
        {
            respondStatus(r, Status.BUSY);
            return;
        }
        final long at = reqs.buffer[r];
        answers.header(r, at, Status.OK, bytes.length);
        memory.putBytes((int)at + ResponseHeader.HEADER_LENGTH, bytes);
        responder.respond(r, at, ResponseHeader.HEADER_LENGTH + bytes.length, Status.OK);
    }

    @Override
    public void close()
    {
        lookups.close();
    }

    /**
     * Unmaps the block cache and withdraws the worker's read pins: only once the ring is closed, since a send in
     * flight may read from the cache, and a read in flight may still be sent until then.
     */
    void closeAfterRing()
    {
        reads.close();
        lookups.withdraw();
    }
}
