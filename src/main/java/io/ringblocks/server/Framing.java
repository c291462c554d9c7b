package io.ringblocks.server;

import org.agrona.concurrent.UnsafeBuffer;

import io.ringblocks.alloc.BuddyAllocator;
import io.ringblocks.protocol.FrameDecoder;
import io.ringblocks.protocol.RequestHeader;
import io.ringblocks.protocol.RequestValidator;
import io.ringblocks.wire.Opcode;
import io.ringblocks.wire.Protocol;
import io.ringblocks.wire.Status;

/**
 * Framing: splits what a connection received into frames, judges each length before anything else, validates the
 * header and starts a request per complete frame (or switches the connection to receiving a large PUT's body
 * straight into its block buffer). Stops at the connection's in-flight and buffer bounds, or when the worker is out
 * of request slots or buffers ({@link Host#starve}).
 */
final class Framing
{
    /** What framing asks of the receiver. */
    interface Host
    {
        /** {@code c} could not go on for lack of a request slot or buffer: resume it in a later cycle. */
        void starve(int c);

        void beginClose(int c, boolean broken);
    }

    private final ServerConfig config;
    private final ServerStats stats;
    private final Requests reqs;
    private final UnsafeBuffer memory;
    private final Connections conns;
    private final ConnectionTimeouts timeouts;
    private final PartialBodies bodies;
    private final long maxBufferBytesPerConnection;
    private final int maxBodyLength;
    private final Host host;
    private final RequestHeader header = new RequestHeader();
    private Operations ops;
    private long now = System.nanoTime();

    Framing(final WorkerContext ctx, final Connections conns, final ConnectionTimeouts timeouts,
        final PartialBodies bodies, final long maxBufferBytesPerConnection, final Host host)
    {
        this.config = ctx.config;
        this.stats = ctx.stats;
        this.reqs = ctx.reqs;
        this.memory = ctx.memory;
        this.conns = conns;
        this.timeouts = timeouts;
        this.bodies = bodies;
        this.maxBufferBytesPerConnection = maxBufferBytesPerConnection;
        this.maxBodyLength = Protocol.maxBodyLength(config.store().maxBlockSize());
        this.host = host;
    }

    void start(final Operations operations)
    {
        ops = operations;
    }

    void cycle(final long nanos)
    {
        now = nanos;
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
                if (connectionError(c, lengthStatus, true))
                {
                    return; // the buffer was discarded: nothing left to compact
                }
                break; // no slot for the error frame: it waits in front, starved, like any frame
            }
            if (available < RequestHeader.HEADER_LENGTH)
            {
                break;
            }
            header.wrap(memory, (int)(base + pos));
            final int bodyLength = length - Protocol.MIN_LENGTH;
            final int frameLength = Protocol.LENGTH_FIELD_LENGTH + length;
            int verdict = RequestValidator.validate(header, bodyLength, config.store().maxBlockSize());
            if (verdict == Status.UNSUPPORTED_VERSION)
            {
                // A connection-level error is answered at once, whatever the connection has in flight.
                if (connectionError(c, verdict, true))
                {
                    return;
                }
                break;
            }
            if (conns.inFlight[c] >= config.maxInFlight() ||
                conns.bufferBytes[c] >= maxBufferBytesPerConnection)
            {
                break; // resumed when one of its requests finishes
            }
            if (frameLength > available && frameLength <= config.recvBufferSize() && verdict == Status.OK)
            {
                break; // wait for the rest of a frame that fits the buffer
            }
            boolean largePut = verdict == Status.OK && frameLength > available;
            if (largePut && !bodies.tryTake(c, BuddyAllocator.blockSize(IoArena.classFor(Math.max(1,
                RequestValidator.putPayloadLength(header.flags(), bodyLength))))))
            {
                if (bodies.isWaiting(c) || bodies.waiters() < PartialBodies.MAX_WAITERS)
                {
                    conns.parseBlocked[c] = true;
                    bodies.await(c);
                    break; // resumed by serveBodyWaiters when bodies complete or are dropped
                }
                // Each waiter keeps its receive buffer: a queue without end would let headers alone fill the arena.
                // Pushed back, nothing of the PUT done: with nothing else outstanding the connection is refused (the
                // client may retry on a new one); else only this PUT is answered BUSY and its body discarded, so
                // that the answers of the requests before it still go.
                if (conns.inFlight[c] == 0 && conns.sendHead[c] < 0 && !conns.sending[c])
                {
                    if (connectionError(c, Status.BUSY, false))
                    {
                        stats.increment(ServerStats.BODY_QUEUE_REFUSALS); // counted once sent: a retry is not another
                        return;
                    }
                    break;
                }
                verdict = Status.BUSY;
                largePut = false;
            }
            final int r = reqs.acquire(c, conns.generation[c]);
            if (r < 0)
            {
                if (largePut)
                {
                    bodies.undoTake(c);
                }
                host.starve(c);
                break;
            }
            reqs.opcode[r] = header.opcode();
            reqs.flags[r] = header.flags();
            reqs.requestId[r] = header.requestId();
            conns.inFlight[c]++;
            if (verdict != Status.OK)
            {
                stats.increment(verdict == Status.BUSY ? ServerStats.BODY_QUEUE_REFUSALS : ServerStats.PROTOCOL_ERRORS);
                ops.respondStatus(r, verdict);
                if (frameLength > available)
                {
                    conns.bodyState[c] = Connections.BODY_DISCARD;
                    conns.bodyRemaining[c] = frameLength - available;
                    pos = conns.filled[c];
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
                    host.starve(c);
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
                host.starve(c);
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

    /**
     * A frame that breaks framing: answer with opcode 0 / request id 0 and close after sending it.
     *
     * @return false when no request slot was free for the answer: the connection waits with the starved, the frame
     * still in front of its buffer, and is judged again once a slot frees (the error frame is never skipped).
     */
    private boolean connectionError(final int c, final int status, final boolean protocolError)
    {
        final int r = reqs.acquire(c, conns.generation[c]);
        if (r < 0)
        {
            host.starve(c);
            return false;
        }
        if (protocolError)
        {
            stats.increment(ServerStats.PROTOCOL_ERRORS);
        }
        conns.filled[c] = 0;
        reqs.opcode[r] = Opcode.NONE;
        reqs.flags[r] = 0;
        reqs.requestId[r] = 0;
        conns.inFlight[c]++;
        ops.respondStatus(r, status);
        // Only now: from here on respond() drops every other response, so the error frame stays the last one.
        conns.closeAfterSend[c] = true;
        return true;
    }

}
