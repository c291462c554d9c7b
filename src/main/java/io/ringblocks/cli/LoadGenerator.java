package io.ringblocks.cli;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;

import org.HdrHistogram.Histogram;

import io.ringblocks.sys.Errno;
import io.ringblocks.sys.ErrnoException;
import io.ringblocks.sys.LibC;
import io.ringblocks.sys.Sockets;
import io.ringblocks.uring.CompletionBatch;
import io.ringblocks.uring.Ring;
import io.ringblocks.uring.UserData;
import io.ringblocks.wire.Opcode;
import io.ringblocks.wire.Protocol;

/**
 * The benchmark's load loop: one thread drives many connections through its own io_uring, the way a server
 * worker does — one recv always posted per connection, requests appended to a per-connection output buffer and
 * sent in one SEND, and every send and recv of a loop iteration submitted in one {@code io_uring_enter}. It writes
 * and decodes the protocol in place through a {@link Wire} (ringblocks' own or Redis' RESP, the rest shared), so
 * the client costs a few µs per request and leaves the cores it shares with the server to the server. Latency is measured per request from the moment it is queued for sending to the moment
 * its response is parsed, for the requests sent within the measured window however late their answer; throughput
 * counts the answers that arrived within it.
 * <p>
 * With a {@code rate} (open loop) requests are due on a fixed schedule, each sent on the next connection with a
 * free pipeline slot, whatever the server's answers; latency then counts from the SCHEDULED time, so a server that
 * falls behind shows it in the latency instead of quietly receiving fewer requests (no coordinated omission);
 * requests still waiting for a free slot when the run ends are recorded with their lower bound, end − scheduled.
 * The loop sleeps in the ring until the next request is due or an answer arrives.
 */
final class LoadGenerator implements Runnable
{
    static final int PUT = Opcode.PUT;
    static final int GET = Opcode.GET;
    static final int DELETE = Opcode.DELETE;

    private static final int OP_RECV = 1;
    private static final int OP_SEND = 2;
    private static final long MAX_WAIT_NANOS = 1_000_000L;
    private static final long MIN_TICK_NANOS = 50_000L;
    private static final long ANSWER_GRACE_NANOS = 30_000_000_000L;

    /**
     * What one run asks for.
     *
     * @param midstates per block, {@link TailSha256#midstate} when the wire needs PUT keys, else null.
     */
    record Plan(Wire wire, InetSocketAddress server, int connections, int pipeline, int size, int putWeight,
        int getWeight, int deleteWeight, byte[][] blocks, byte[][] hashes, int[][] midstates, long maxRequests,
        int verifyEvery, double rate)
    {
    }

    /**
     * The run's clock, set once every generator is connected: setting up (64 connections' buffers, the ring)
     * takes most of a second on a busy machine and must come out of neither the warm-up nor the measured window.
     */
    static final class Window
    {
        final CountDownLatch ready;
        private final CountDownLatch go = new CountDownLatch(1);
        private volatile long measureFromNanos;
        private volatile long endNanos;

        Window(final int generators)
        {
            ready = new CountDownLatch(generators);
        }

        /** Opens the window for every generator: measured from {@code measureFromNanos} until {@code endNanos}. */
        void open(final long measureFromNanos, final long endNanos)
        {
            this.measureFromNanos = measureFromNanos;
            this.endNanos = endNanos;
            go.countDown();
        }
    }

    private final Plan plan;
    private final Window window;
    private long measureFromNanos;
    private long endNanos;
    private final long seed;
    final Histogram histogram = new Histogram(3_600_000_000_000L, 3);
    final AtomicLong completed = new AtomicLong();
    long measured;
    long bytesMoved;
    long errors;
    long verified;
    long verifyFailures;
    final StringBuilder firstError = new StringBuilder();
    private final AtomicLong sharedBudget;

    private SplittableRandom random;
    private MessageDigest sha;
    private final TailSha256 tailSha = new TailSha256();
    private final Wire.Reply reply = new Wire.Reply();
    private final byte[] key = new byte[TailSha256.DIGEST_LENGTH];
    private final byte[] verifyDigest = new byte[TailSha256.DIGEST_LENGTH];
    private byte[] verifyCopy;
    private int totalWeight;
    private final byte[] unique = new byte[16];
    private long counter;

    LoadGenerator(final Plan plan, final Window window, final long seed, final AtomicLong sharedBudget)
    {
        this.plan = plan;
        this.window = window;
        this.seed = seed;
        this.sharedBudget = sharedBudget;
    }

    private final class Conn
    {
        final int fd;
        final MemorySegment outMemory;
        final MemorySegment inMemory;
        /** Requests not yet sent, from 0 to position; the first {@code sendLength} bytes are in flight. */
        final ByteBuffer out;
        /** Received bytes from 0 to position. */
        final ByteBuffer in;
        final long[] sentAt;
        final int[] kind;
        final int[] block;
        final int[] freeSlots;
        /** Slots in request order, from orderHead: how replies of an ordered wire find their request. */
        final int[] order;
        final long[] seq;
        int orderHead;
        int inFlight;
        int sendLength;
        boolean recvPosted;
        long nextSeq;
        final byte[][] deletable = new byte[256][];
        int deletableCount;

        Conn(final int fd, final Arena memory, final int frameMax)
        {
            this.fd = fd;
            outMemory = memory.allocate(Math.max(1 << 20, 2L * frameMax), 4096);
            inMemory = memory.allocate(Math.max(1 << 20, 2L * frameMax + 64), 4096);
            out = outMemory.asByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
            in = inMemory.asByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
            sentAt = new long[plan.pipeline()];
            kind = new int[plan.pipeline()];
            block = new int[plan.pipeline()];
            freeSlots = new int[plan.pipeline()];
            order = new int[plan.pipeline()];
            seq = new long[plan.pipeline()];
            for (int i = 0; i < freeSlots.length; i++)
            {
                freeSlots[i] = i;
            }
        }
    }

    @Override
    public void run()
    {
        random = new SplittableRandom(seed);
        totalWeight = plan.putWeight() + plan.getWeight() + plan.deleteWeight();
        // Unique across runs too: a later workload must not PUT what an earlier one stored (dedup hits).
        counter = (seed << 40) ^ (System.nanoTime() << 8);
        final int frameMax = plan.wire().maxRequestLength(plan.size());
        verifyCopy = new byte[plan.size()];
        try
        {
            sha = MessageDigest.getInstance("SHA-256");
        }
        catch (final java.security.NoSuchAlgorithmException e)
        {
            throw new IllegalStateException(e);
        }
        final Conn[] conns = new Conn[plan.connections()];
        // Freed only once the kernel holds none of its buffers (every recv and send completed): see quiesce().
        final Arena memory = Arena.ofShared();
        boolean quiet = false;
        boolean ready = false;
        try (Ring ring = new Ring(Math.max(64, 2 * Integer.highestOneBit(Math.min(4096, 4 * conns.length)))))
        {
            try
            {
                final byte[] ipv4 = plan.server().getAddress().getAddress();
                for (int i = 0; i < conns.length; i++)
                {
                    conns[i] = new Conn(Sockets.connectTcp(ipv4, plan.server().getPort()), memory, frameMax);
                    postRecv(ring, conns[i], i);
                }
                ready = true;
                window.ready.countDown();
                window.go.await();
                measureFromNanos = window.measureFromNanos;
                endNanos = window.endNanos;
                loop(ring, conns, frameMax);
            }
            finally
            {
                quiet = quiesce(ring, conns);
            }
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
        }
        catch (final IOException | ErrnoException e)
        {
            errors++;
            if (firstError.isEmpty())
            {
                firstError.append(e.getMessage());
            }
        }
        finally
        {
            if (!ready)
            {
                window.ready.countDown(); // failed while connecting: nothing to wait for
            }
            for (final Conn c : conns)
            {
                if (c != null)
                {
                    LibC.close(c.fd);
                }
            }
            if (quiet)
            {
                memory.close();
            }
        }
    }

    /**
     * Shuts every socket down and reaps until no recv or send is left in flight, so that neither the ring's teardown
     * nor freeing the buffers can race the kernel writing into them.
     *
     * @return false if some operation never completed (its buffers are then never freed).
     */
    private static boolean quiesce(final Ring ring, final Conn[] conns)
    {
        for (final Conn c : conns)
        {
            if (c != null)
            {
                LibC.shutdown(c.fd, LibC.SHUT_RDWR);
            }
        }
        final CompletionBatch batch = new CompletionBatch(Math.max(64, 2 * conns.length));
        final long deadline = System.nanoTime() + 5_000_000_000L;
        while (outstanding(conns) > 0 && System.nanoTime() < deadline)
        {
            ring.submitAndWait(1, 10_000_000L);
            final int n = ring.reap(batch);
            for (int k = 0; k < n; k++)
            {
                final Conn c = conns[UserData.slot(batch.userData(k))];
                if (UserData.op(batch.userData(k)) == OP_RECV)
                {
                    c.recvPosted = false;
                }
                else
                {
                    c.sendLength = 0;
                }
            }
        }
        return outstanding(conns) == 0;
    }

    private static int outstanding(final Conn[] conns)
    {
        int n = 0;
        for (final Conn c : conns)
        {
            if (c != null)
            {
                n += (c.recvPosted ? 1 : 0) + (c.sendLength > 0 ? 1 : 0);
            }
        }
        return n;
    }

    private void loop(final Ring ring, final Conn[] conns, final int frameMax) throws IOException
    {
        final CompletionBatch batch = new CompletionBatch(Math.max(64, 2 * conns.length));
        final boolean open = plan.rate() > 0;
        final long startNanos = System.nanoTime();
        long scheduled = 0;
        long nextDue = startNanos;
        int cursor = 0;
        boolean more = true;
        while (true)
        {
            final long now = System.nanoTime();
            if (now >= endNanos && more)
            {
                more = false;
                // Open loop under overload: requests that fell due but never got a free slot are the slowest of
                // all. Their latency is at least the time until the end; record that rather than drop them.
                while (open && nextDue < endNanos)
                {
                    if (nextDue >= measureFromNanos)
                    {
                        histogram.recordValue(Math.max(1, endNanos - nextDue));
                    }
                    scheduled++;
                    nextDue = startNanos + (long)(scheduled * 1e9 / plan.rate());
                }
            }
            boolean slotsFull = false;
            if (open)
            {
                // Everything due by now goes out, each on the next connection with a free slot.
                while (more && nextDue <= now)
                {
                    Conn free = null;
                    for (int k = 0; k < conns.length && free == null; k++)
                    {
                        final Conn c = conns[(cursor + k) % conns.length];
                        if (c.inFlight < plan.pipeline() && c.out.remaining() >= frameMax)
                        {
                            free = c;
                            cursor = (cursor + k + 1) % conns.length;
                        }
                    }
                    if (free == null)
                    {
                        slotsFull = true; // the request stays due and its latency keeps growing
                        break;
                    }
                    if (!takeBudget())
                    {
                        more = false; // -requests: all of them are out
                        break;
                    }
                    enqueue(free, nextDue);
                    scheduled++;
                    nextDue = startNanos + (long)(scheduled * 1e9 / plan.rate());
                }
            }
            boolean anyInFlight = false;
            for (int i = 0; i < conns.length; i++)
            {
                final Conn c = conns[i];
                while (!open && more && c.inFlight < plan.pipeline() && c.out.remaining() >= frameMax)
                {
                    if (!takeBudget())
                    {
                        more = false; // -requests: all of them are out
                        break;
                    }
                    enqueue(c, System.nanoTime());
                }
                if (c.sendLength == 0 && c.out.position() > 0)
                {
                    startSend(ring, c, i);
                }
                anyInFlight |= c.inFlight > 0;
            }
            if (!more && !anyInFlight)
            {
                return;
            }
            if (!more && System.nanoTime() - endNanos > ANSWER_GRACE_NANOS)
            {
                throw new IOException("the server stopped answering: requests still unanswered " +
                    ANSWER_GRACE_NANOS / 1_000_000_000L + " s after the end");
            }
            // Sleep in the ring until an answer arrives, or the next request is due (open loop, free slots).
            // Due requests are sent in ticks of at least MIN_TICK_NANOS: a wake-up per request would cost the client
            // more CPU than the server spends on it (the tick's delay is part of the measured latency).
            final long wait = open && more && !slotsFull ?
                Math.max(MIN_TICK_NANOS, nextDue - System.nanoTime()) : MAX_WAIT_NANOS;
            if (wait > 0)
            {
                ring.submitAndWait(1, Math.min(wait, MAX_WAIT_NANOS));
            }
            else
            {
                ring.submitAndGetEvents();
            }
            final int n = ring.reap(batch);
            IOException failure = null;
            for (int k = 0; k < n; k++)
            {
                // Every completion is handled even after a failure: quiesce() must know which ops are done.
                final long ud = batch.userData(k);
                final int index = UserData.slot(ud);
                try
                {
                    if (UserData.op(ud) == OP_RECV)
                    {
                        onRecv(ring, conns[index], index, batch.result(k));
                    }
                    else
                    {
                        onSend(ring, conns[index], index, batch.result(k));
                    }
                }
                catch (final IOException e)
                {
                    failure = failure == null ? e : failure;
                }
            }
            if (failure != null)
            {
                throw failure;
            }
        }
    }

    /** Takes one request of a -requests budget shared by the threads; never overdraws it. */
    private boolean takeBudget()
    {
        return sharedBudget == null || sharedBudget.getAndUpdate(v -> v > 0 ? v - 1 : v) > 0;
    }

    private static void postRecv(final Ring ring, final Conn c, final int index)
    {
        c.recvPosted = true;
        ring.prepRecv(c.fd, c.inMemory.address() + c.in.position(), c.in.remaining(), 0,
            UserData.pack(index, OP_RECV, 0));
    }

    private static void startSend(final Ring ring, final Conn c, final int index)
    {
        c.sendLength = c.out.position();
        ring.prepSend(c.fd, c.outMemory.address(), c.sendLength, 0, UserData.pack(index, OP_SEND, 0));
    }

    private void onSend(final Ring ring, final Conn c, final int index, final int res) throws IOException
    {
        c.sendLength = 0;
        if (res == -Errno.EINTR || res == -Errno.EAGAIN)
        {
            startSend(ring, c, index);
            return;
        }
        if (res < 0)
        {
            throw new IOException("send to the server failed: " + Errno.describe(res));
        }
        // Drop what was sent; requests queued meanwhile move to the front and go out with the next send.
        final int queued = c.out.position();
        c.out.position(res).limit(queued);
        c.out.compact();
        if (c.out.position() > 0)
        {
            startSend(ring, c, index);
        }
    }

    private void onRecv(final Ring ring, final Conn c, final int index, final int res) throws IOException
    {
        c.recvPosted = false;
        if (res == -Errno.EINTR || res == -Errno.EAGAIN)
        {
            postRecv(ring, c, index);
            return;
        }
        if (res <= 0)
        {
            throw new IOException(res == 0 ? "server closed a benchmark connection" :
                "recv from the server failed: " + Errno.describe(res));
        }
        c.in.position(c.in.position() + res);
        c.in.flip();
        parse(c);
        c.in.compact();
        postRecv(ring, c, index);
    }

    private void parse(final Conn c) throws IOException
    {
        final Wire wire = plan.wire();
        while (wire.decode(c.in, reply))
        {
            final int start = c.in.position();
            final int slot;
            if (reply.slot >= 0)
            {
                slot = reply.slot;
            }
            else
            {
                if (c.inFlight == 0)
                {
                    throw new IOException("the server sent a reply nobody asked for");
                }
                slot = c.order[c.orderHead];
                c.orderHead = (c.orderHead + 1) % plan.pipeline();
            }
            final long done = System.nanoTime();
            // Latency counts for requests sent (open loop: scheduled) in the window, however late the answer, so
            // overload stays visible; throughput counts answers that arrived in the window.
            final boolean inWindow = c.sentAt[slot] >= measureFromNanos && c.sentAt[slot] < endNanos;
            final boolean doneInWindow = done >= measureFromNanos && done <= endNanos;
            if (reply.status != Wire.Reply.OK)
            {
                errors++;
                if (firstError.isEmpty())
                {
                    wire.describe(c.in, reply, firstError);
                    firstError.append(" for op ").append(c.kind[slot]);
                }
            }
            else if (c.kind[slot] == GET)
            {
                final byte[] expected = plan.blocks()[c.block[slot]];
                bytesMoved += doneInWindow ? reply.bodyLength : 0;
                if (reply.bodyLength != expected.length)
                {
                    verifyFailures++; // every GET's length is checked, a sample's bytes below
                }
                else if (plan.verifyEvery() > 0 && c.seq[slot] % plan.verifyEvery() == 0)
                {
                    verify(c.in, reply.bodyOffset, reply.bodyLength, expected, plan.hashes()[c.block[slot]]);
                }
            }
            else if (c.kind[slot] == PUT)
            {
                bytesMoved += doneInWindow ? plan.blocks()[c.block[slot]].length : 0;
                if (plan.deleteWeight() > 0 && c.deletableCount < c.deletable.length)
                {
                    final byte[] h = new byte[Protocol.HASH_LENGTH];
                    c.in.get(reply.bodyOffset, h);
                    c.deletable[c.deletableCount++] = h;
                }
            }
            if (inWindow)
            {
                histogram.recordValue(Math.max(1, done - c.sentAt[slot]));
            }
            if (doneInWindow)
            {
                measured++;
            }
            completed.incrementAndGet();
            c.inFlight--;
            c.freeSlots[plan.pipeline() - 1 - c.inFlight] = slot;
            c.in.position(start + reply.length);
        }
    }

    /** Writes one request into {@code c}'s output buffer; its latency will count from {@code stamp}. */
    private void enqueue(final Conn c, final long stamp)
    {
        final int dice = random.nextInt(totalWeight);
        // Responses may come back out of order: slots come from a free list, not seq % pipeline.
        final int slot = c.freeSlots[plan.pipeline() - 1 - c.inFlight];
        c.seq[slot] = c.nextSeq;
        final long id = (c.nextSeq++ << 16) | slot;
        final int b = random.nextInt(plan.blocks().length);
        int op = dice < plan.putWeight() ? PUT : dice < plan.putWeight() + plan.getWeight() ? GET : DELETE;
        if (op == DELETE && c.deletableCount == 0)
        {
            op = PUT;
        }
        c.kind[slot] = op;
        c.block[slot] = b;
        final Wire wire = plan.wire();
        if (op == PUT)
        {
            // Unique content: a counter over the last bytes defeats deduplication (and keeps the prefix's hash
            // state reusable when the client must name the block itself).
            counter++;
            for (int k = 0; k < 8; k++)
            {
                unique[k] = (byte)(counter >>> (8 * k));
            }
            final byte[] body = plan.blocks()[b];
            if (wire.putNeedsKey())
            {
                tailSha.digest(plan.midstates()[b], body, unique, key, 0);
            }
            wire.put(c.out, id, body, unique, TailSha256.uniqueLength(body.length), key);
        }
        else if (op == GET)
        {
            wire.get(c.out, id, plan.hashes()[b]);
        }
        else
        {
            wire.delete(c.out, id, c.deletable[--c.deletableCount]);
        }
        c.sentAt[slot] = stamp;
        c.order[(c.orderHead + c.inFlight) % plan.pipeline()] = slot;
        c.inFlight++;
    }

    private void verify(final ByteBuffer in, final int at, final int length, final byte[] expected, final byte[] hash)
    {
        verified++;
        in.get(at, verifyCopy, 0, length);
        sha.update(verifyCopy, 0, length);
        try
        {
            sha.digest(verifyDigest, 0, verifyDigest.length);
        }
        catch (final java.security.DigestException e)
        {
            throw new IllegalStateException(e);
        }
        if (!Arrays.equals(verifyCopy, 0, length, expected, 0, length) || !Arrays.equals(verifyDigest, hash))
        {
            verifyFailures++;
        }
    }
}
