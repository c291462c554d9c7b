package io.ringblocks.client;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.UnaryOperator;

/**
 * An in-memory protocol v1 server for client tests, on 127.0.0.1 with an ephemeral port and one thread per
 * connection. It validates requests as the spec's section 2.4 orders, so a client encoding bug surfaces as a
 * BAD_REQUEST in the tests, and has switches for the situations a real server produces only under load or
 * failure: responses in reverse order per batch, corrupted GET bytes, a dropped connection, delayed responses,
 * forced statuses, connection-level errors, a paused reader and rewritten responses.
 */
final class FakeServer implements AutoCloseable
{
    private static final HexFormat HEX = HexFormat.of();
    // The fake's own opcode table, independent of the client's, so that an encoding mistake is not mirrored.
    private static final int PING = 1;
    private static final int PUT = 2;
    private static final int GET = 3;
    private static final int HEAD = 4;
    private static final int DELETE = 5;
    private static final int STATS = 6;
    private static final int LIST = 7;
    private static final int FIND_MISSING = 8;

    private final ServerSocket listener;
    private final int maxBlockSize;
    private final Map<String, byte[]> blocks = new ConcurrentHashMap<>();
    private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
    private final AtomicInteger connections = new AtomicInteger();
    private final AtomicLong requests = new AtomicLong();
    private final Map<Integer, AtomicLong> requestsPerConnection = new ConcurrentHashMap<>();
    private final AtomicLong responses = new AtomicLong();
    private final AtomicInteger dropOnRequest = new AtomicInteger(-1);
    private final AtomicInteger forcedStatus = new AtomicInteger(-1);
    private final AtomicInteger connectionError = new AtomicInteger(-1);
    private volatile int reverseBatch = 1;
    private volatile boolean corruptGets;
    private volatile boolean corruptPuts;
    private volatile long delayMillis;
    private volatile CountDownLatch gate = new CountDownLatch(0);
    private final AtomicReference<UnaryOperator<byte[]>> rewriteNext = new AtomicReference<>();
    /** The next response goes out in pieces of this many bytes, {@link #trickleMillis} apart (0: at once). */
    private volatile int tricklePiece;
    private volatile long trickleMillis;
    private final Thread acceptor;

    FakeServer() throws IOException
    {
        this(1 << 20);
    }

    FakeServer(final int maxBlockSize) throws IOException
    {
        this.maxBlockSize = maxBlockSize;
        this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        this.acceptor = Thread.ofPlatform().daemon().name("fake-accept").start(this::acceptLoop);
    }

    int port()
    {
        return listener.getLocalPort();
    }

    ClientOptions.Builder options()
    {
        return ClientOptions.builder().host("127.0.0.1").port(port())
            .requestTimeout(Duration.ofSeconds(5))
            .connectTimeout(Duration.ofSeconds(2))
            .reconnectBackoff(Duration.ofMillis(10));
    }

    /** Answers each group of {@code size} consecutive requests of a connection in reverse order. */
    void reverseBatches(final int size)
    {
        reverseBatch = Math.max(1, size);
    }

    /** Flips a bit in the body of every successful GET response. */
    void corruptGets(final boolean on)
    {
        corruptGets = on;
    }

    /** Flips a bit in the payload of every PUT as it arrives, as damage on the way in would. */
    void corruptPuts(final boolean on)
    {
        corruptPuts = on;
    }

    /** Closes the connection, unanswered, on receiving the {@code n}-th request from now (one shot). */
    void dropOnRequest(final int n)
    {
        dropOnRequest.set(n);
    }

    /** Sleeps this long before writing each response. */
    void delayResponses(final Duration delay)
    {
        delayMillis = delay.toMillis();
    }

    /** Answers the next request with this status and no body, whatever it asked (one shot). */
    void forceStatus(final int status)
    {
        forcedStatus.set(status);
    }

    /** Answers the next request with a connection-level error (opcode 0, id 0) and closes (one shot). */
    void connectionError(final int status)
    {
        connectionError.set(status);
    }

    /**
     * Replaces the next response frame (header included) with what {@code rewrite} makes of it, which may be anything
     * a broken or hostile server could send (one shot).
     */
    void rewriteNextResponse(final UnaryOperator<byte[]> rewrite)
    {
        rewriteNext.set(rewrite);
    }

    /** Sends the next response slowly: {@code piece} bytes, then {@code millis} of pause, and so on. */
    void trickleNextResponse(final int piece, final long millis)
    {
        trickleMillis = millis;
        tricklePiece = piece;
    }

    /** Holds every request that arrives from now on, once its length prefix is read, until {@link #resume()}. */
    void pause()
    {
        gate = new CountDownLatch(1);
    }

    void resume()
    {
        gate.countDown();
    }

    int connectionsAccepted()
    {
        return connections.get();
    }

    long requestsReceived()
    {
        return requests.get();
    }

    /** @return requests received per connection, in accept order. */
    List<Long> requestsPerConnection()
    {
        final List<Long> counts = new ArrayList<>();
        for (int i = 1; i <= connections.get(); i++)
        {
            counts.add(requestsPerConnection.get(i).get());
        }
        return counts;
    }

    long responsesSent()
    {
        return responses.get();
    }

    boolean stores(final Hash hash)
    {
        return blocks.containsKey(hash.toHex());
    }

    /**
     * Stops listening and drops every connection. Waits for the accept thread: closing a listener that another
     * thread is blocked accepting on only takes effect once that thread has left accept(), and until then the
     * kernel still completes new connections, so a "connect to a closed server" test would succeed spuriously.
     */
    @Override
    public void close() throws IOException
    {
        resume();
        listener.close();
        try
        {
            acceptor.join(5_000);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
        for (final Socket socket : sockets)
        {
            socket.close();
        }
    }

    /** Waits until at least {@code n} connections were accepted: the client's connect returns before that. */
    int awaitConnections(final int n) throws InterruptedException
    {
        final long deadline = System.nanoTime() + 5_000_000_000L;
        while (connections.get() < n && System.nanoTime() < deadline)
        {
            Thread.sleep(1);
        }
        return connections.get();
    }

    private void acceptLoop()
    {
        try
        {
            while (true)
            {
                final Socket socket = listener.accept();
                socket.setTcpNoDelay(true);
                sockets.add(socket);
                final int n = connections.incrementAndGet();
                final AtomicLong counter = new AtomicLong();
                requestsPerConnection.put(n, counter);
                Thread.ofPlatform().daemon().name("fake-conn-" + n).start(() -> serve(socket, counter));
            }
        }
        catch (final IOException ex)
        {
            // listener closed
        }
    }

    private void serve(final Socket socket, final AtomicLong connectionRequests)
    {
        try (socket)
        {
            final DataInputStream in = new DataInputStream(new BufferedInputStream(socket.getInputStream()));
            final OutputStream out = new BufferedOutputStream(socket.getOutputStream());
            final List<byte[]> batch = new ArrayList<>();
            while (true)
            {
                final byte[] lengthBytes = new byte[4];
                try
                {
                    in.readFully(lengthBytes);
                }
                catch (final EOFException ex)
                {
                    return;
                }
                gate.await();
                requests.incrementAndGet();
                connectionRequests.incrementAndGet();
                if (dropOnRequest.get() > 0 && dropOnRequest.decrementAndGet() == 0)
                {
                    return;
                }
                final long length = ByteBuffer.wrap(lengthBytes).order(ByteOrder.LITTLE_ENDIAN).getInt() & 0xFFFFFFFFL;
                if (length < 12)
                {
                    writeAndClose(socket, out, response(0, StatusCode.BAD_REQUEST, 0, new byte[0]));
                    return;
                }
                if (length > 12 + 32 + maxBlockSize)
                {
                    writeAndClose(socket, out, response(0, StatusCode.FRAME_TOO_LARGE, 0, new byte[0]));
                    return;
                }
                // Like the real server (protocol-spec 2.3): judge the header before the body has arrived.
                final byte[] rest = new byte[(int)length];
                in.readFully(rest, 0, 12);
                final int status = connectionError.getAndSet(-1);
                if (status >= 0)
                {
                    writeAndClose(socket, out, response(0, status, 0, new byte[0]));
                    return;
                }
                if ((rest[0] & 0xFF) != 1)
                {
                    writeAndClose(socket, out, response(0, StatusCode.UNSUPPORTED_VERSION, 0, new byte[0]));
                    return;
                }
                final int early = forcedStatus.get() < 0 ? headerStatus(rest, (int)length - 12) : -1;
                final int skip = early < 0 ? 0 : (int)length - 12;
                final byte[] answer;
                if (early >= 0)
                {
                    answer = response(rest[1] & 0xFF, early, ByteBuffer.wrap(rest).order(ByteOrder.LITTLE_ENDIAN)
                        .getLong(4), new byte[0]);
                }
                else
                {
                    in.readFully(rest, 12, rest.length - 12);
                    answer = handle(ByteBuffer.wrap(rest).order(ByteOrder.LITTLE_ENDIAN));
                }
                final UnaryOperator<byte[]> rewrite = rewriteNext.getAndSet(null);
                batch.add(rewrite == null ? answer : rewrite.apply(answer));
                if (batch.size() >= reverseBatch)
                {
                    for (int i = batch.size() - 1; i >= 0; i--)
                    {
                        if (delayMillis > 0)
                        {
                            out.flush();
                            Thread.sleep(delayMillis);
                        }
                        write(out, batch.get(i));
                        responses.incrementAndGet();
                    }
                    batch.clear();
                    out.flush();
                }
                in.skipNBytes(skip);
            }
        }
        catch (final IOException | InterruptedException ex)
        {
            // connection closed by the client or by close()
        }
        finally
        {
            sockets.remove(socket);
        }
    }

    private void write(final OutputStream out, final byte[] response) throws IOException, InterruptedException
    {
        final int piece = tricklePiece;
        if (piece <= 0)
        {
            out.write(response);
            return;
        }
        tricklePiece = 0;
        for (int at = 0; at < response.length; at += piece)
        {
            out.write(response, at, Math.min(piece, response.length - at));
            out.flush();
            Thread.sleep(trickleMillis);
        }
    }

    /**
     * A connection-level error frame, closed lingeringly as the spec's section 4 says: unread input at close would make
     * the kernel send a reset, which can destroy the frame before the client reads it.
     */
    private void writeAndClose(final Socket socket, final OutputStream out, final byte[] response) throws IOException
    {
        out.write(response);
        out.flush();
        socket.shutdownOutput();
        socket.setSoTimeout(1_000);
        try
        {
            socket.getInputStream().skip(Long.MAX_VALUE); // returns at the client's end of stream
        }
        catch (final java.net.SocketTimeoutException ex)
        {
            // the client kept the connection open for a second: close it anyway, as the real server does
        }
    }

    /** @return the status a header alone decides (per-request validation failures), or -1. */
    private int headerStatus(final byte[] header, final int bodyLength)
    {
        final int opcode = header[1] & 0xFF;
        final int flags = (header[2] & 0xFF) | (header[3] & 0xFF) << 8;
        if (opcode < 1 || opcode > 8)
        {
            return StatusCode.UNKNOWN_OPCODE;
        }
        final int allowedFlags = opcode == PUT || opcode == GET || opcode == LIST ? 1 : 0;
        if ((flags & ~allowedFlags) != 0 || !bodyLengthLegal(opcode, flags, bodyLength))
        {
            return StatusCode.BAD_REQUEST;
        }
        return opcode == PUT && bodyLength - (flags == 1 ? 32 : 0) > maxBlockSize ? StatusCode.BLOCK_TOO_LARGE : -1;
    }

    /** @return the response, or null for an unsupported version (connection-level error). */
    private byte[] handle(final ByteBuffer frame)
    {
        final int version = frame.get(0) & 0xFF;
        final int opcode = frame.get(1) & 0xFF;
        final int flags = frame.getShort(2) & 0xFFFF;
        final long id = frame.getLong(4);
        final byte[] body = Arrays.copyOfRange(frame.array(), 12, frame.capacity());
        if (version != 1)
        {
            return null;
        }
        final int forced = forcedStatus.getAndSet(-1);
        if (forced >= 0)
        {
            return response(opcode, forced, id, new byte[0]);
        }
        if (opcode < 1 || opcode > 8)
        {
            return response(opcode, StatusCode.UNKNOWN_OPCODE, id, new byte[0]);
        }
        final int allowedFlags = opcode == PUT || opcode == GET || opcode == LIST ? 1 : 0;
        if ((flags & ~allowedFlags) != 0 || !bodyLengthLegal(opcode, flags, body.length))
        {
            return response(opcode, StatusCode.BAD_REQUEST, id, new byte[0]);
        }
        switch (opcode)
        {
            case PING:
                return response(opcode, StatusCode.OK, id, new byte[0]);
            case STATS:
                return response(opcode, StatusCode.OK, id, ("uptime_ms 7\nblocks " + blocks.size() + "\nrequests " +
                    requests.get() + "\n").getBytes(StandardCharsets.UTF_8));
            case PUT:
            {
                final int payloadOffset = flags == 1 ? 32 : 0;
                final byte[] payload = Arrays.copyOfRange(body, payloadOffset, body.length);
                if (corruptPuts && payload.length > 0)
                {
                    payload[payload.length / 2] ^= 0x10;
                }
                if (payload.length > maxBlockSize)
                {
                    return response(opcode, StatusCode.BLOCK_TOO_LARGE, id, new byte[0]);
                }
                final byte[] hash = sha256(payload);
                if (flags == 1 && !Arrays.equals(hash, 0, 32, body, 0, 32))
                {
                    return response(opcode, StatusCode.HASH_MISMATCH, id, new byte[0]);
                }
                blocks.putIfAbsent(HEX.formatHex(hash), payload);
                return response(opcode, StatusCode.OK, id, hash);
            }
            case LIST:
                return list(flags, id, body);
            case FIND_MISSING:
            {
                final ByteArrayOutputStream missing = new ByteArrayOutputStream();
                for (int at = 0; at < body.length; at += 32)
                {
                    if (!blocks.containsKey(HEX.formatHex(body, at, at + 32)))
                    {
                        missing.write(body, at, 32);
                    }
                }
                return response(opcode, StatusCode.OK, id, missing.toByteArray());
            }
            default:
                break;
        }
        final String key = HEX.formatHex(body, 0, 32);
        final byte[] block = blocks.get(key);
        if (block == null)
        {
            return response(opcode, StatusCode.NOT_FOUND, id, new byte[0]);
        }
        switch (opcode)
        {
            case HEAD:
                return response(opcode, StatusCode.OK, id,
                    ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(block.length).array());
            case DELETE:
                blocks.remove(key);
                return response(opcode, StatusCode.OK, id, new byte[0]);
            default:
            {
                byte[] out = block;
                if (flags == 1)
                {
                    final long offset = ByteBuffer.wrap(body).order(ByteOrder.LITTLE_ENDIAN).getLong(32);
                    final long len = ByteBuffer.wrap(body).order(ByteOrder.LITTLE_ENDIAN).getInt(40) & 0xFFFFFFFFL;
                    if (offset < 0 || offset >= block.length || offset + len > block.length)
                    {
                        return response(opcode, StatusCode.BAD_RANGE, id, new byte[0]);
                    }
                    out = Arrays.copyOfRange(block, (int)offset, len == 0 ? block.length : (int)(offset + len));
                }
                if (corruptGets)
                {
                    out = out.clone();
                    out[out.length / 2] ^= 0x10;
                }
                return response(opcode, StatusCode.OK, id, out);
            }
        }
    }

    /** Spec section 5.7, from its own reading: hex keys sort like the hashes' bytes. */
    private byte[] list(final int flags, final long id, final byte[] body)
    {
        final int raw = ByteBuffer.wrap(body).order(ByteOrder.LITTLE_ENDIAN).getInt(32);
        final int limit = raw >= 1 && raw <= 4096 ? raw : 4096;
        final NavigableMap<String, byte[]> sorted = new TreeMap<>(blocks);
        final NavigableMap<String, byte[]> tail = flags == 1 ? sorted :
            sorted.tailMap(HEX.formatHex(body, 0, 32), false);
        final ByteBuffer out = ByteBuffer.allocate(36 + 36 * Math.min(limit, tail.size())).order(ByteOrder.LITTLE_ENDIAN);
        byte[] next = Arrays.copyOfRange(body, 0, 32);
        out.position(36);
        int visited = 0;
        for (final Map.Entry<String, byte[]> e : tail.entrySet())
        {
            if (visited == limit)
            {
                break;
            }
            next = HEX.parseHex(e.getKey());
            out.put(next).putInt(e.getValue().length);
            visited++;
        }
        out.putInt(0, visited == limit ? 1 : 0);
        out.put(4, next);
        return response(LIST, StatusCode.OK, id, out.array());
    }

    private boolean bodyLengthLegal(final int opcode, final int flags, final int length)
    {
        return switch (opcode)
        {
            case PING, STATS -> length == 0;
            case LIST -> length == 36;
            case FIND_MISSING -> length >= 32 && length <= 127 * 32 && length % 32 == 0;
            case PUT -> length > (flags == 1 ? 32 : 0);
            case GET -> length == (flags == 1 ? 44 : 32);
            default -> length == 32;
        };
    }

    static byte[] response(final int opcode, final int status, final long id, final byte[] body)
    {
        final ByteBuffer out = ByteBuffer.allocate(16 + body.length).order(ByteOrder.LITTLE_ENDIAN);
        out.putInt(12 + body.length).put((byte)1).put((byte)opcode).putShort((short)status).putLong(id).put(body);
        return out.array();
    }

    static byte[] sha256(final byte[] bytes)
    {
        try
        {
            return MessageDigest.getInstance("SHA-256").digest(bytes);
        }
        catch (final NoSuchAlgorithmException ex)
        {
            throw new IllegalStateException(ex);
        }
    }
}
