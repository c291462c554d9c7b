package io.ringblocks.client;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import io.ringblocks.wire.Protocol;

/**
 * One TCP connection with its two threads: a writer that drains the request queue into a buffered stream
 * (flushing when the queue runs dry, so pipelined requests leave in few segments and no caller ever blocks on,
 * or is interrupted in, socket I/O), and a reader that decodes responses and completes the matching requests
 * by id, in whatever order they arrive. A connection is never reused once broken: {@link AsyncBlockClient}
 * replaces it.
 * <p>
 * Every request sent is registered in {@link #inFlight} before it is queued, so its response can never arrive
 * unmatched; it leaves the map exactly once, by response, timeout or connection loss, and that step releases its
 * slot in the client's in-flight semaphore.
 */
final class Connection
{
    private static final AtomicInteger NEXT_ID = new AtomicInteger();
    private static final int BUFFER_SIZE = 64 * 1024;
    private static final byte[] EMPTY = new byte[0];
    /** Queued by {@link #close} to wake the writer and make it exit. */
    private static final Pending<Void> POISON = new Pending<>(0, Wire.NONE, EMPTY, null, 0, 0, (s, b) -> null);

    private final String address;
    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;
    private final int maxResponseBody;
    /** The largest response body any server may send: a full block of the protocol's largest size, or a LIST page. */
    private final int maxAnyBody;
    private final Semaphore permits;
    private final ConcurrentHashMap<Long, Pending<?>> inFlight = new ConcurrentHashMap<>();
    private final LinkedBlockingQueue<Pending<?>> outbound = new LinkedBlockingQueue<>();
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile String closeReason;
    /** When {@link #close} ran ({@link System#nanoTime()}); meaningful once closed. */
    private volatile long closedNanos;
    /** Set before closing when the server refused the connection (BUSY, opcode 0, id 0): nothing was executed. */
    private volatile boolean refused;
    /**
     * When the last whole response frame was read (or the connection opened): a header followed by a body that stalls
     * is no sign of life, or a peer that stopped mid-frame would never be suspected.
     */
    private volatile long lastReadNanos = System.nanoTime();
    /**
     * When bytes of a response last arrived, inside a frame too: a large body still arriving is a slow answer, not a
     * silent peer, so its liveness PING going unanswered meanwhile does not close the connection.
     */
    private volatile long lastProgressNanos = lastReadNanos;
    /** The largest request frame the server answered here: its frame limit is at least that. Reader thread only. */
    private long largestAnsweredFrame;
    /** The highest request id sent here, and the lowest (negative) liveness PING id: any answer beyond is bogus. */
    private final AtomicLong highestSentId = new AtomicLong();
    private final AtomicLong lowestProbeId = new AtomicLong();
    /** A liveness PING of this connection is in flight. */
    private final AtomicBoolean probing = new AtomicBoolean();
    /** A liveness PING waits for the request timeout, and at least this long: it tests for silence, not speed. */
    private static final long PROBE_MIN_NANOS = 2_000_000_000L;
    /** Bytes of a body read at a time, each noted as progress. */
    private static final int BODY_PIECE = 64 * 1024;
    /** Ids of liveness PINGs: negative, so they never meet the client's own (positive) request ids. */
    private static final AtomicLong PROBE_IDS = new AtomicLong();

    private Connection(final ClientOptions options, final Socket socket, final Semaphore permits) throws IOException
    {
        this.address = options.host() + ":" + options.port();
        this.socket = socket;
        this.in = new BufferedInputStream(socket.getInputStream(), BUFFER_SIZE);
        this.out = new BufferedOutputStream(socket.getOutputStream(), BUFFER_SIZE);
        this.maxResponseBody = Math.max(options.maxBlockSize(), Wire.MAX_LIST_BODY);
        this.maxAnyBody = Math.max(maxResponseBody, Protocol.MAX_BLOCK_SIZE);
        this.permits = permits;
    }

    /**
     * Connects and starts the reader and writer threads.
     *
     * @param permits              the owning client's in-flight slots; the connection releases one per request it
     *                             retires.
     * @param connectTimeoutMillis the connect timeout, or less when a request's own timeout ends sooner.
     * @throws IOException when the TCP connection cannot be established within the connect timeout.
     */
    static Connection open(final ClientOptions options, final Semaphore permits, final int connectTimeoutMillis)
        throws IOException
    {
        final Socket socket = new Socket();
        try
        {
            socket.setTcpNoDelay(true);
            socket.setKeepAlive(true);
            socket.connect(new InetSocketAddress(options.host(), options.port()), connectTimeoutMillis);
            final Connection connection = new Connection(options, socket, permits);
            final int n = NEXT_ID.incrementAndGet();
            new ClientThread(connection::readLoop, "ringblocks-client-reader-" + n).start();
            new ClientThread(connection::writeLoop, "ringblocks-client-writer-" + n).start();
            return connection;
        }
        catch (final IOException | RuntimeException ex)
        {
            try
            {
                socket.close();
            }
            catch (final IOException suppressed)
            {
                ex.addSuppressed(suppressed);
            }
            throw ex;
        }
    }

    /**
     * @return true if the calling thread belongs to the client library (a reader or the timer), where user
     * callbacks run and blocking on a response could wait for the very thread that is blocked.
     */
    static boolean isClientThread()
    {
        return Thread.currentThread() instanceof ClientThread;
    }

    boolean isOpen()
    {
        return !closed.get();
    }

    /** @return true once the server refused this connection (BUSY at its connection limit, or evicting it). */
    boolean refused()
    {
        return refused;
    }

    /** @return how long ago the connection closed, in nanoseconds; only meaningful once it is closed. */
    long closedForNanos()
    {
        return System.nanoTime() - closedNanos;
    }

    int inFlight()
    {
        return inFlight.size();
    }

    /**
     * Registers and queues a request whose in-flight slot the caller has acquired; from here on the connection
     * owns the slot and will release it. If the connection is already closed the request fails at once.
     */
    void send(final Pending<?> request, final long timeoutNanos, final String timeoutText)
    {
        if (closed.get())
        {
            release(request);
            request.fail(lost(null));
            return;
        }
        request.owner(this);
        request.sentNanos = System.nanoTime();
        if (request.id > 0)
        {
            highestSentId.accumulateAndGet(request.id, Math::max);
        }
        else
        {
            lowestProbeId.accumulateAndGet(request.id, Math::min);
        }
        inFlight.put(request.id, request);
        if (closed.get())
        {
            // close() may have swept the map before the put became visible to it: retire the request here.
            if (inFlight.remove(request.id, request))
            {
                release(request);
                request.fail(lost(null));
            }
            return;
        }
        request.timeout(Timer.INSTANCE.schedule(() -> expire(request, timeoutNanos, timeoutText), timeoutNanos,
            TimeUnit.NANOSECONDS));
        if (request.future.isDone())
        {
            retire(request); // completed or cancelled by the caller before it was registered: nothing to send
            return;
        }
        outbound.add(request);
    }

    /** Gives back the client's in-flight slot a request holds (a liveness PING holds none). */
    private void release(final Pending<?> request)
    {
        if (!request.probe)
        {
            permits.release();
        }
    }

    /**
     * Closes the socket and fails every outstanding request with {@link ConnectionLostException}; the first
     * call wins, later ones do nothing.
     */
    void close(final String reason, final Throwable cause)
    {
        if (!closed.compareAndSet(false, true))
        {
            return;
        }
        closedNanos = System.nanoTime();
        closeReason = reason;
        try
        {
            socket.close();
        }
        catch (final IOException ignored)
        {
            // Closing is best effort; the reader and writer stop on the closed socket either way.
        }
        outbound.clear();
        outbound.add(POISON);
        for (final Pending<?> request : inFlight.values())
        {
            if (inFlight.remove(request.id, request))
            {
                release(request);
                request.fail(lost(cause));
            }
        }
    }

    private RingblocksException lost(final Throwable cause)
    {
        if (refused)
        {
            // The server sends this BUSY before reading anything, so no request on the connection took effect.
            return new ServerBusyException("server " + address + " refused the connection (BUSY: at its " +
                "connection limit or out of descriptors); nothing was executed, retry later");
        }
        final String reason = closeReason; // null only while a concurrent close() is still setting it
        return new ConnectionLostException("connection to " + address + " lost: " +
            (reason == null ? "closed" : reason), cause);
    }

    /** The caller completed or cancelled {@code request} itself: its slot is free now, not at its timeout. */
    void retire(final Pending<?> request)
    {
        if (inFlight.remove(request.id, request))
        {
            release(request);
            request.cancelTimeout();
        }
    }

    private void expire(final Pending<?> request, final long timeoutNanos, final String timeoutText)
    {
        if (inFlight.remove(request.id, request))
        {
            release(request);
            if (lastReadNanos - request.sentNanos < 0)
            {
                suspect(request, timeoutNanos, timeoutText);
            }
            // The caller's stages run where the future completes: on the one timer of the JVM, a stage that blocks
            // would hold back every other timeout. They run on the timeout threads instead.
            final RequestTimeoutException timedOut = new RequestTimeoutException(Wire.opcodeName(request.opcode) +
                " request " + request.id + " to " + address + ": no response within " + timeoutText);
            Timeouts.INSTANCE.execute(() -> request.fail(timedOut));
        }
    }

    /**
     * No whole response has arrived since {@code timedOut} was sent: a slow server answers something, a peer gone silent
     * (a host that vanished, a firewall that dropped the connection's state) answers nothing, and TCP would take many
     * minutes to give up. One PING of the connection's own tells them apart: unanswered within the request timeout
     * (at least 2 s), with not a byte read since it was sent (a large body still arriving ahead of it is progress),
     * it closes the connection, so the next request connects afresh.
     */
    private void suspect(final Pending<?> timedOut, final long timeoutNanos, final String timeoutText)
    {
        if (timedOut.probe)
        {
            if (lastProgressNanos - timedOut.sentNanos > 0)
            {
                return; // a long answer still arriving ahead of the PING: slow, not silent; the next timeout asks again
            }
            // Off the timer: closing fails every request in flight, and their callers' stages run where that happens.
            Timeouts.INSTANCE.execute(() -> close("no response to a PING within " + timeoutText +
                ": the server is unreachable", null));
            return;
        }
        if (!probing.compareAndSet(false, true))
        {
            return;
        }
        final long id = -PROBE_IDS.incrementAndGet();
        final Pending<Void> ping = new Pending<>(id, Wire.PING, Wire.empty(Wire.PING, id), null, 0, 0,
            (status, body) -> null);
        ping.probe = true;
        ping.future.whenComplete((v, e) -> probing.set(false));
        final boolean floor = timeoutNanos < PROBE_MIN_NANOS;
        send(ping, floor ? PROBE_MIN_NANOS : timeoutNanos, floor ? "2 s" : timeoutText);
    }

    private void writeLoop()
    {
        try
        {
            while (true)
            {
                Pending<?> request = outbound.take();
                while (request != null)
                {
                    if (request == POISON)
                    {
                        return;
                    }
                    // A request that timed out (or was cancelled) while queued is not worth the server's work.
                    if (!request.future.isDone())
                    {
                        out.write(request.header);
                        if (request.payloadLength > 0)
                        {
                            out.write(request.payload, request.payloadOffset, request.payloadLength);
                        }
                    }
                    request = outbound.poll();
                }
                out.flush();
            }
        }
        catch (final IOException ex)
        {
            close("write failed: " + ex, ex);
        }
        catch (final InterruptedException ex)
        {
            close("writer interrupted", ex);
        }
        catch (final RuntimeException | Error ex)
        {
            close("writer failed: " + ex, ex); // a writer gone with the connection still open would strand it
            throw ex;
        }
    }

    private void readLoop()
    {
        final byte[] header = new byte[Wire.HEADER_LENGTH];
        try
        {
            while (readHeader(header))
            {
                lastProgressNanos = System.nanoTime();
                final long length = Wire.getUnsignedInt(header, Protocol.LENGTH_OFFSET);
                final int version = header[Protocol.VERSION_OFFSET] & 0xFF;
                final int opcode = header[Protocol.OPCODE_OFFSET] & 0xFF;
                final int status = Wire.getUnsignedShort(header, Protocol.STATUS_OFFSET);
                final long requestId = Wire.getLong(header, Protocol.REQUEST_ID_OFFSET);
                if (length < Wire.LENGTH_COUNTED_HEADER || version != Wire.VERSION)
                {
                    // The stream can no longer be split into frames.
                    final ProtocolException ex = new ProtocolException("malformed response frame: length " + length +
                        ", version " + version);
                    close(ex.getMessage(), ex);
                    return;
                }
                final long bodyLength = length - Wire.LENGTH_COUNTED_HEADER;
                if (bodyLength > maxAnyBody)
                {
                    // No server may send this (spec section 6): skipping it would tie the reader up for gigabytes.
                    final ProtocolException ex = new ProtocolException("response body of " + bodyLength +
                        " bytes is larger than any the protocol allows (" + maxAnyBody + ")");
                    close(ex.getMessage(), ex);
                    return;
                }
                if (opcode == Wire.NONE && requestId == 0 && status != StatusCode.OK)
                {
                    refused = status == StatusCode.BUSY;
                    // Taken out before closing, and failed after: its caller must not get in before the close.
                    final Pending<?> oversized = status == StatusCode.FRAME_TOO_LARGE ? takeOversizedPut() : null;
                    final ServerErrorException ex = new ServerErrorException("connection-level error from " +
                        address, status);
                    close("server closed the connection with " + StatusCode.name(status), ex);
                    if (oversized != null)
                    {
                        oversized.fail(new BlockTooLargeException("PUT of " + oversized.payloadLength + " bytes: " +
                            address + " refused a frame that large (FRAME_TOO_LARGE, connection closed); its " +
                            "maxBlockSize is below this client's"));
                    }
                    return;
                }
                final Pending<?> request = inFlight.get(requestId);
                if (request == null && !issued(requestId))
                {
                    // Not a late answer to a request that timed out: the peer is not answering this client.
                    final ProtocolException ex = new ProtocolException(Wire.opcodeName(opcode) + " response to " +
                        "request id " + requestId + ", which was never sent on this connection");
                    close(ex.getMessage(), ex);
                    return;
                }
                if (request != null)
                {
                    largestAnsweredFrame = Math.max(largestAnsweredFrame, request.frameLength());
                }
                if (request == null || status != StatusCode.OK || bodyLength > okBodyLimit(request))
                {
                    // A request that timed out, error bodies (ignored in v1) and bodies its operation cannot have.
                    in.skipNBytes(bodyLength);
                    lastReadNanos = System.nanoTime();
                    if (request != null && inFlight.remove(requestId, request))
                    {
                        release(request);
                        if (status == StatusCode.OK)
                        {
                            request.fail(new ProtocolException(Wire.opcodeName(opcode) + " response body of " +
                                bodyLength + " bytes, above the " + okBodyLimit(request) + " its request allows"));
                        }
                        else
                        {
                            request.complete(opcode, status, EMPTY);
                        }
                    }
                    continue;
                }
                final byte[] body = bodyLength == 0 ? EMPTY : new byte[(int)bodyLength];
                readBody(body);
                lastReadNanos = System.nanoTime();
                if (inFlight.remove(requestId, request))
                {
                    release(request);
                    request.complete(opcode, status, body);
                }
            }
            close("closed by the server", null);
        }
        catch (final IOException ex)
        {
            close("read failed: " + ex, ex);
        }
        catch (final RuntimeException | Error ex)
        {
            close("reader failed: " + ex, ex); // e.g. OutOfMemoryError for a body: every request fails, not waits
            throw ex;
        }
    }

    /**
     * The server answers FRAME_TOO_LARGE to the first frame above its limit. The outstanding PUT with the largest
     * frame is at least as large, so above the limit too and not executed; if it is also larger than every frame the
     * server answered here, it is to fail with {@link BlockTooLargeException}: a retry-safe
     * {@link ConnectionLostException} would only be retried into the same answer.
     *
     * @return that PUT, out of the in-flight map with its slot released, or null.
     */
    private Pending<?> takeOversizedPut()
    {
        Pending<?> largest = null;
        for (final Pending<?> request : inFlight.values())
        {
            if (request.opcode == Wire.PUT && (largest == null || request.frameLength() > largest.frameLength()))
            {
                largest = request;
            }
        }
        if (largest != null && largest.frameLength() > largestAnsweredFrame && inFlight.remove(largest.id, largest))
        {
            release(largest);
            return largest;
        }
        return null;
    }

    /** @return true if a request with this id was sent on this connection (it may have timed out since). */
    private boolean issued(final long requestId)
    {
        return requestId > 0 ? requestId <= highestSentId.get() : requestId < 0 && requestId >= lowestProbeId.get();
    }

    /**
     * @return the largest OK body the protocol allows in answer to {@code request} (spec section 5), so that no answer
     * makes this client allocate more: a PING cannot bring a megabyte.
     */
    private long okBodyLimit(final Pending<?> request)
    {
        return switch (request.opcode)
        {
            case Wire.PING, Wire.DELETE -> 0;
            case Wire.HEAD -> Wire.HEAD_BODY_LENGTH;
            case Wire.PUT -> Wire.HASH_LENGTH;
            case Wire.FIND_MISSING -> request.header.length - Wire.HEADER_LENGTH; // at most the hashes asked about
            case Wire.LIST -> Wire.MAX_LIST_BODY;
            case Wire.GET -> Protocol.MAX_BLOCK_SIZE; // another client may have stored a block above this one's limit
            default -> maxResponseBody; // STATS: text of no fixed size
        };
    }

    /** Reads a body in pieces, noting each one's arrival ({@link #lastProgressNanos}). */
    private void readBody(final byte[] body) throws IOException
    {
        for (int at = 0; at < body.length; )
        {
            final int n = in.read(body, at, Math.min(BODY_PIECE, body.length - at));
            if (n < 0)
            {
                throw new EOFException("connection closed inside a response body");
            }
            at += n;
            lastProgressNanos = System.nanoTime();
        }
    }

    /** @return false on a clean end of stream between frames. */
    private boolean readHeader(final byte[] header) throws IOException
    {
        final int first = in.read();
        if (first < 0)
        {
            return false;
        }
        header[0] = (byte)first;
        if (in.readNBytes(header, 1, Wire.HEADER_LENGTH - 1) != Wire.HEADER_LENGTH - 1)
        {
            throw new EOFException("connection closed inside a response header");
        }
        return true;
    }

    /** Marks the library's own threads, see {@link #isClientThread()}; daemon so they never keep a JVM alive. */
    static final class ClientThread extends Thread
    {
        ClientThread(final Runnable task, final String name)
        {
            super(task, name);
            setDaemon(true);
        }
    }

    /**
     * Where timed-out requests fail, and so where their callers' stages run: a few daemon threads for the JVM, idle
     * ones ending after a minute, so that a stage that blocks delays other timeouts' callers, never the timer.
     */
    private static final class Timeouts
    {
        static final ThreadPoolExecutor INSTANCE = create();

        private static ThreadPoolExecutor create()
        {
            final AtomicInteger n = new AtomicInteger();
            final ThreadPoolExecutor pool = new ThreadPoolExecutor(4, 4, 60, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(), task -> new ClientThread(task, "ringblocks-client-timeouts-" +
                    n.incrementAndGet()));
            pool.allowCoreThreadTimeOut(true);
            return pool;
        }
    }

    /**
     * One timer thread for all connections in the JVM: timeouts are rare events next to responses, and a
     * shared daemon thread needs no lifecycle management. It only retires requests; {@link Timeouts} fails them.
     */
    private static final class Timer
    {
        static final ScheduledThreadPoolExecutor INSTANCE = create();

        private static ScheduledThreadPoolExecutor create()
        {
            final ScheduledThreadPoolExecutor timer =
                new ScheduledThreadPoolExecutor(1, task -> new ClientThread(task, "ringblocks-client-timer"));
            timer.setRemoveOnCancelPolicy(true);
            return timer;
        }
    }
}
