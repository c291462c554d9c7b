package io.ringblocks.tools;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Iterator;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;

import org.HdrHistogram.Histogram;

/**
 * The benchmark's load loop: one thread drives many non-blocking connections through one {@link Selector}, each
 * keeping {@code pipeline} requests in flight, speaking the wire protocol directly so the client costs little per
 * request. Latency is measured per request from the moment its bytes are handed to the socket to the moment its
 * response is parsed.
 * <p>
 * With a {@code rate} (open loop) requests are due on a fixed schedule, each sent on the next connection with a
 * free pipeline slot, whatever the server's answers; latency then counts from the SCHEDULED time, so a server that
 * falls behind shows it in the latency instead of quietly receiving fewer requests (no coordinated omission). The
 * wait between sends is a park of at most 50 µs, and that timer slack is part of the measured latency.
 */
final class LoadGenerator implements Runnable
{
    static final int PUT = 2;
    static final int GET = 3;
    static final int DELETE = 5;

    /** What one run asks for. */
    record Plan(InetSocketAddress server, int connections, int pipeline, int size, int putWeight, int getWeight,
        int deleteWeight, byte[][] blocks, byte[][] hashes, long endNanos, long measureFromNanos, long maxRequests,
        int verifyEvery, double rate)
    {
    }

    private final Plan plan;
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

    LoadGenerator(final Plan plan, final long seed, final AtomicLong sharedBudget)
    {
        this.plan = plan;
        this.seed = seed;
        this.sharedBudget = sharedBudget;
    }

    private final class Conn
    {
        final SocketChannel channel;
        final ByteBuffer out;
        final ByteBuffer in;
        final long[] sentAt;
        final int[] kind;
        final int[] block;
        final int[] freeSlots;
        int inFlight;
        long nextSeq;
        final byte[][] deletable = new byte[256][];
        int deletableCount;

        Conn(final SocketChannel channel, final int frameMax)
        {
            this.channel = channel;
            out = ByteBuffer.allocateDirect(Math.max(1 << 20, 2 * frameMax)).order(ByteOrder.LITTLE_ENDIAN);
            in = ByteBuffer.allocateDirect(Math.max(1 << 20, 2 * frameMax + 64)).order(ByteOrder.LITTLE_ENDIAN);
            sentAt = new long[plan.pipeline()];
            kind = new int[plan.pipeline()];
            block = new int[plan.pipeline()];
            freeSlots = new int[plan.pipeline()];
            for (int i = 0; i < freeSlots.length; i++)
            {
                freeSlots[i] = i;
            }
        }
    }

    private SplittableRandom random;
    private int totalWeight;
    private final byte[] unique = new byte[16];
    private long counter;

    @Override
    public void run()
    {
        random = new SplittableRandom(seed);
        totalWeight = plan.putWeight() + plan.getWeight() + plan.deleteWeight();
        counter = seed << 40;
        final int frameMax = 16 + 32 + plan.size();
        final MessageDigest sha;
        try
        {
            sha = MessageDigest.getInstance("SHA-256");
        }
        catch (final java.security.NoSuchAlgorithmException e)
        {
            throw new IllegalStateException(e);
        }
        try (Selector selector = Selector.open())
        {
            final Conn[] conns = new Conn[plan.connections()];
            for (int i = 0; i < conns.length; i++)
            {
                final SocketChannel ch = SocketChannel.open(plan.server());
                ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
                ch.configureBlocking(false);
                conns[i] = new Conn(ch, frameMax);
                ch.register(selector, SelectionKey.OP_READ, conns[i]);
            }
            final boolean open = plan.rate() > 0;
            final long startNanos = System.nanoTime();
            long scheduled = 0;
            long nextDue = startNanos;
            int cursor = 0;
            boolean more = true;
            while (true)
            {
                final long now = System.nanoTime();
                if (now >= plan.endNanos())
                {
                    more = false;
                }
                boolean anyInFlight = false;
                if (open)
                {
                    // Everything due by now goes out, each on the next connection with a free slot.
                    while (more && nextDue <= now)
                    {
                        if (sharedBudget != null && sharedBudget.getAndDecrement() <= 0)
                        {
                            more = false; // -requests: all of them are out
                            break;
                        }
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
                            if (sharedBudget != null)
                            {
                                sharedBudget.incrementAndGet();
                            }
                            break; // every slot busy: the request stays due and its latency keeps growing
                        }
                        send(free, nextDue);
                        scheduled++;
                        nextDue = startNanos + (long)(scheduled * 1e9 / plan.rate());
                    }
                }
                for (final Conn c : conns)
                {
                    while (!open && more && c.inFlight < plan.pipeline() && c.out.remaining() >= frameMax)
                    {
                        if (sharedBudget != null && sharedBudget.getAndDecrement() <= 0)
                        {
                            more = false; // -requests: all of them are out
                            break;
                        }
                        send(c, System.nanoTime());
                    }
                    if (c.out.position() > 0)
                    {
                        c.out.flip();
                        c.channel.write(c.out);
                        c.out.compact();
                    }
                    if (c.inFlight > 0)
                    {
                        anyInFlight = true;
                    }
                }
                if (!more && !anyInFlight)
                {
                    break;
                }
                if (!open)
                {
                    selector.select(1);
                }
                else
                {
                    final long wait = nextDue - System.nanoTime();
                    if (wait >= 1_000_000L || !more)
                    {
                        selector.select(1); // an answer wakes it early; the next send is at least 1 ms away
                    }
                    else if (selector.selectNow() == 0 && wait > 0)
                    {
                        java.util.concurrent.locks.LockSupport.parkNanos(Math.min(wait, 50_000L));
                        selector.selectNow();
                    }
                }
                final Iterator<SelectionKey> keys = selector.selectedKeys().iterator();
                while (keys.hasNext())
                {
                    final SelectionKey key = keys.next();
                    keys.remove();
                    final Conn c = (Conn)key.attachment();
                    final int n = c.channel.read(c.in);
                    if (n < 0)
                    {
                        throw new IOException("server closed a benchmark connection");
                    }
                    c.in.flip();
                    while (c.in.remaining() >= 16)
                    {
                        final int start = c.in.position();
                        final int length = c.in.getInt(start);
                        if (c.in.remaining() < 4 + length)
                        {
                            break;
                        }
                        final int status = c.in.getShort(start + 6) & 0xFFFF;
                        final long id = c.in.getLong(start + 8);
                        final int slot = (int)(id & 0xFFFF);
                        final long done = System.nanoTime();
                        final int bodyLength = length - 12;
                        final boolean inWindow = c.sentAt[slot] >= plan.measureFromNanos() && done <= plan.endNanos();
                        if (status != 0)
                        {
                            errors++;
                            if (firstError.isEmpty())
                            {
                                firstError.append("status ").append(status).append(" for op ").append(c.kind[slot]);
                            }
                        }
                        else if (c.kind[slot] == GET)
                        {
                            bytesMoved += inWindow ? bodyLength : 0;
                            if (plan.verifyEvery() > 0 && (id >>> 16) % plan.verifyEvery() == 0)
                            {
                                verify(c.in, start + 16, bodyLength, plan.blocks()[c.block[slot]], sha,
                                    plan.hashes()[c.block[slot]]);
                            }
                        }
                        else if (c.kind[slot] == PUT)
                        {
                            bytesMoved += inWindow ? plan.blocks()[c.block[slot]].length : 0;
                            if (plan.deleteWeight() > 0 && c.deletableCount < c.deletable.length)
                            {
                                final byte[] h = new byte[32];
                                c.in.get(start + 16, h);
                                c.deletable[c.deletableCount++] = h;
                            }
                        }
                        if (inWindow)
                        {
                            histogram.recordValue(Math.max(1, done - c.sentAt[slot]));
                            measured++;
                        }
                        completed.incrementAndGet();
                        c.inFlight--;
                        c.freeSlots[plan.pipeline() - 1 - c.inFlight] = slot;
                        c.in.position(start + 4 + length);
                    }
                    c.in.compact();
                }
            }
            for (final Conn c : conns)
            {
                c.channel.close();
            }
        }
        catch (final IOException e)
        {
            errors++;
            if (firstError.isEmpty())
            {
                firstError.append(e);
            }
        }
    }

    /** Writes one request into {@code c}'s output buffer; its latency will count from {@code stamp}. */
    private void send(final Conn c, final long stamp)
    {
        final int dice = random.nextInt(totalWeight);
        // Responses may come back out of order: slots come from a free list, not seq % pipeline.
        final int slot = c.freeSlots[plan.pipeline() - 1 - c.inFlight];
        final long id = (c.nextSeq++ << 16) | slot;
        final int b = random.nextInt(plan.blocks().length);
        int op = dice < plan.putWeight() ? PUT : dice < plan.putWeight() + plan.getWeight() ? GET : DELETE;
        if (op == DELETE && c.deletableCount == 0)
        {
            op = PUT;
        }
        c.kind[slot] = op;
        c.block[slot] = b;
        if (op == PUT)
        {
            // Unique content: a counter over the first bytes defeats deduplication.
            counter++;
            for (int k = 0; k < 8; k++)
            {
                unique[k] = (byte)(counter >>> (8 * k));
            }
            final byte[] body = plan.blocks()[b];
            final int len = body.length;
            c.out.putInt(12 + len).put((byte)1).put((byte)PUT).putShort((short)0).putLong(id);
            c.out.put(unique, 0, Math.min(8, len));
            if (len > 8)
            {
                c.out.put(body, 8, len - 8);
            }
        }
        else
        {
            final byte[] hash = op == GET ? plan.hashes()[b] : c.deletable[--c.deletableCount];
            c.out.putInt(44).put((byte)1).put((byte)op).putShort((short)0).putLong(id).put(hash);
        }
        c.sentAt[slot] = stamp;
        c.inFlight++;
    }

    private void verify(final ByteBuffer in, final int at, final int length, final byte[] expected,
        final MessageDigest sha, final byte[] hash)
    {
        verified++;
        final byte[] got = new byte[length];
        in.get(at, got);
        if (!Arrays.equals(got, expected) || !Arrays.equals(sha.digest(got), hash))
        {
            verifyFailures++;
        }
    }
}
