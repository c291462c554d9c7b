package io.ringblocks.server;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import io.ringblocks.storage.StoreConfig;
import io.ringblocks.wire.Opcode;
import io.ringblocks.wire.Protocol;
import io.ringblocks.wire.Status;

import static io.ringblocks.server.ServerHarness.awaitStat;
import static io.ringblocks.server.ServerHarness.stat;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Seeded random request streams, as a careless or hostile client writes them: pipelined PUTs small and larger than
 * the receive buffer (some with VERIFY_HASH, right or wrong), whole and ranged GETs (some out of range), HEADs,
 * DELETEs and GETs of unknown hashes, unknown opcodes and undefined flags, cut into random pieces written with random
 * pauses, sometimes ended by a half-close or by a connection-level error (bad version, length below 12, a frame over
 * the limit). Every answer must be the right one for its request id, exactly once; a half-closed stream gets every
 * answer, then the end of stream; after a connection-level error the error frame is the last, then the end of stream.
 * Up to four streams run at once on connections of their own. The worker never counts a runtime fault. Runs in every
 * receive mode, with few request slots per connection and the smallest arena, so that throttling, multishot cancels,
 * held buffers and waits for the body budget all happen.
 */
@Timeout(180)
class HostileStreamTest
{
    private static final int STREAMS = 200;
    private static final int STORED = 16;

    /** One request: its frame and the answer it must get. */
    private record Expected(byte[] frame, int opcode, int status, byte[] body)
    {
    }

    @TempDir
    Path dir;

    @AfterEach
    void restore()
    {
        ReceiveMode.reset();
    }

    @ParameterizedTest
    @EnumSource(ReceiveMode.class)
    void shouldAnswerEveryRequestOfRandomStreamsRightAndOnlyThose(final ReceiveMode mode) throws Exception
    {
        // Relaxed: what is under test is the answers, not the flushes (which would only slow a slow disk's CI run).
        final StoreConfig store = ServerHarness.store(dir, 1L << 30).toBuilder().durable(false).conclude();
        final ServerConfig config = mode.apply(ServerConfig.builder(store).host("127.0.0.1").port(0).workers(1)
            .maxInFlight(4).recvBufferSize(16384).arenaSize(ServerConfig.MIN_ARENA_SIZE)).conclude();
        try (RingblocksServer server = RingblocksServer.start(config))
        {
            assumeTrue(mode == ReceiveMode.OWN_BUFFERS || stat(server, "recv_provided_buffer_workers") > 0,
                "no provided-buffer rings on this kernel");
            assumeTrue(mode != ReceiveMode.MULTISHOT || stat(server, "recv_multishot_workers") > 0,
                "no multishot receives on this kernel");
            final Random random = new Random(mode.ordinal() * 1000L + 7);
            final List<byte[]> stored = store(server, random);
            int stream = 0;
            while (stream < STREAMS)
            {
                // One to four streams at once, on connections of their own: they compete for provided buffers,
                // request slots and the body budget.
                final int together = 1 + random.nextInt(4);
                final List<Thread> threads = new ArrayList<>();
                final AtomicReference<Throwable> failure = new AtomicReference<>();
                for (int i = 0; i < together; i++, stream++)
                {
                    final long seed = random.nextLong();
                    final String what = mode + " stream " + stream + " (seed " + seed + ")";
                    threads.add(Thread.ofPlatform().start(() ->
                    {
                        try
                        {
                            runStream(server, new Random(seed), stored, what);
                        }
                        catch (final Throwable t)
                        {
                            failure.compareAndSet(null, t);
                        }
                    }));
                }
                for (final Thread t : threads)
                {
                    t.join();
                }
                if (failure.get() != null)
                {
                    throw new AssertionError(failure.get().getMessage(), failure.get());
                }
                assertEquals(0, server.errors(), "runtime faults after " + mode + " stream " + stream);
            }
            awaitStat(server, "partial_body_bytes", 0);
            awaitStat(server, "connections", 0);
            try (RawClient healthy = new RawClient(server.port()))
            {
                assertEquals(Status.OK, healthy.call(Opcode.PING, 0, 1, new byte[0]).status());
            }
        }
    }

    private static List<byte[]> store(final RingblocksServer server, final Random random) throws Exception
    {
        final List<byte[]> stored = new ArrayList<>();
        try (RawClient c = new RawClient(server.port()))
        {
            for (int i = 0; i < STORED; i++)
            {
                final byte[] block = bytes(random, 1 + random.nextInt(i % 2 == 0 ? 3000 : 60_000));
                assertEquals(Status.OK, c.call(Opcode.PUT, 0, i, block).status());
                stored.add(block);
            }
        }
        return stored;
    }

    private static void runStream(final RingblocksServer server, final Random random, final List<byte[]> stored,
        final String what) throws Exception
    {
        final int count = 1 + random.nextInt(40);
        final Map<Long, Expected> expected = new HashMap<>();
        final ByteArrayOutputStream stream = new ByteArrayOutputStream();
        for (long id = 1; id <= count; id++)
        {
            final Expected e = request(random, id, stored);
            expected.put(id, e);
            stream.write(e.frame());
        }
        final int ending = random.nextInt(10); // 0..2: a connection-level error; 3..5: a half-close; else neither
        final int fatal = ending < 3 ? fatalFrame(random, ending, stream) : -1;
        final boolean halfClose = ending >= 3 && ending <= 5;
        final byte[] bytes = stream.toByteArray();
        try (RawClient client = new RawClient(server.port()))
        {
            final AtomicReference<Throwable> writeFailure = new AtomicReference<>();
            final Thread writer = Thread.ofPlatform().daemon().start(() ->
            {
                try
                {
                    writeInPieces(client.socket.getOutputStream(), bytes, random);
                    if (halfClose)
                    {
                        client.socket.shutdownOutput();
                    }
                }
                catch (final IOException | InterruptedException ex)
                {
                    writeFailure.set(ex); // only after a connection-level error may the server stop reading
                }
            });
            final Map<Long, RawClient.Response> answers = new HashMap<>();
            RawClient.Response last = null;
            while (fatal >= 0 || halfClose || answers.size() < count)
            {
                final RawClient.Response r;
                try
                {
                    r = client.read();
                }
                catch (final EOFException end)
                {
                    break;
                }
                last = r;
                if (r.opcode() == 0)
                {
                    break; // a connection-level error: checked below
                }
                assertNull(answers.put(r.requestId(), r), what + ": request " + r.requestId() + " answered twice");
            }
            writer.join(20_000);
            assertFalse(writer.isAlive(), what + ": the writer is still blocked");
            for (final Map.Entry<Long, RawClient.Response> a : answers.entrySet())
            {
                final Expected e = expected.get(a.getKey());
                assertNotNull(e, what + ": an answer to request " + a.getKey() + ", never sent");
                check(e, a.getValue(), what + ", request " + a.getKey());
            }
            if (fatal >= 0)
            {
                assertNotNull(last, what + ": no error frame");
                assertEquals(0, last.opcode(), what + ": the last frame is the connection-level error, not " + last);
                assertEquals(fatal, last.status(), what + ": " + last);
                assertEquals(0, last.requestId(), what);
                assertTrue(client.closedByServer(), what + ": the connection stays open after " + fatal);
            }
            else
            {
                assertNull(writeFailure.get(), what + ": the server stopped reading a healthy stream");
                assertEquals(count, answers.size(), what + ": answers");
                if (halfClose)
                {
                    assertTrue(client.closedByServer(), what + ": not closed after the half-close was answered");
                }
            }
        }
    }

    private static Expected request(final Random random, final long id, final List<byte[]> stored)
        throws Exception
    {
        final byte[] known = stored.get(random.nextInt(stored.size()));
        final byte[] unknown = bytes(random, 32);
        return switch (random.nextInt(12))
        {
            case 0, 1 ->
            {
                // Mostly small, sometimes larger than the receive buffer (received in place into a block buffer).
                final byte[] block = bytes(random, 1 + random.nextInt(random.nextInt(4) == 0 ? 70_000 : 6000));
                yield expect(Opcode.PUT, 0, id, block, Status.OK, sha256(block));
            }
            case 2 ->
            {
                final byte[] block = bytes(random, 1 + random.nextInt(40_000));
                final boolean right = random.nextBoolean();
                final byte[] claimed = right ? sha256(block) : unknown;
                yield expect(Opcode.PUT, 0x0001, id, RawClient.concat(claimed, block),
                    right ? Status.OK : Status.HASH_MISMATCH, right ? sha256(block) : new byte[0]);
            }
            case 3, 4 -> expect(Opcode.GET, 0, id, sha256(known), Status.OK, known);
            case 5 ->
            {
                final int offset = random.nextInt(known.length + 2);
                final int length = random.nextInt(known.length + 2 - offset);
                final boolean valid = offset < known.length && offset + length <= known.length;
                final int end = length == 0 ? known.length : offset + length;
                yield expect(Opcode.GET, 0x0001, id, RawClient.range(sha256(known), offset, length),
                    valid ? Status.OK : Status.BAD_RANGE, valid ? Arrays.copyOfRange(known, offset, end) : new byte[0]);
            }
            case 6 -> expect(Opcode.HEAD, 0, id, sha256(known), Status.OK,
                ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(known.length).array());
            case 7 -> expect(random.nextBoolean() ? Opcode.GET : Opcode.HEAD, 0, id, unknown, Status.NOT_FOUND,
                new byte[0]);
            case 8 -> expect(Opcode.DELETE, 0, id, unknown, Status.NOT_FOUND, new byte[0]);
            case 9 -> expect(Opcode.PING, 0, id, new byte[0], Status.OK, new byte[0]);
            case 10 -> expect(0x09 + random.nextInt(0xFF - 0x09 + 1), 0, id, bytes(random, random.nextInt(30_000)),
                Status.UNKNOWN_OPCODE, new byte[0]); // any opcode past the last defined one, high bit included
            default -> malformed(random, id, known);
        };
    }

    /** A request the server answers BAD_REQUEST or BLOCK_TOO_LARGE, skipping its body, and goes on. */
    private static Expected malformed(final Random random, final long id, final byte[] known) throws Exception
    {
        final byte[] none = new byte[0];
        return switch (random.nextInt(8))
        {
            case 0 -> expect(Opcode.GET, 0x8000, id, sha256(known), Status.BAD_REQUEST, none); // undefined flag
            case 1 -> expect(Opcode.PUT, 0x0002, id, known, Status.BAD_REQUEST, none);
            case 2 -> expect(random.nextBoolean() ? Opcode.HEAD : Opcode.DELETE, 0x0100, id, sha256(known),
                Status.BAD_REQUEST, none);
            case 3 -> expect(Opcode.PING, 0x0001, id, none, Status.BAD_REQUEST, none);
            case 4 -> expect(Opcode.GET, 0, id, Arrays.copyOf(sha256(known), 31), Status.BAD_REQUEST, none);
            case 5 -> expect(Opcode.PUT, 0, id, none, Status.BAD_REQUEST, none); // empty payload
            case 6 -> expect(Opcode.PUT, 0x0001, id, bytes(random, 1 + random.nextInt(32)), Status.BAD_REQUEST,
                none); // VERIFY_HASH with no payload after the hash
            default -> expect(Opcode.PUT, 0, id, new byte[StoreConfig.DEFAULT_MAX_BLOCK_SIZE + 1 + random.nextInt(32)],
                Status.BLOCK_TOO_LARGE, none); // within the frame limit, so only this request is refused
        };
    }

    private static Expected expect(final int opcode, final int flags, final long id, final byte[] body,
        final int status, final byte[] answer)
    {
        return new Expected(RawClient.frame(Protocol.VERSION, opcode, flags, id, body), opcode, status, answer);
    }

    /** Appends a frame that ends the connection; returns the status its error frame carries. */
    private static int fatalFrame(final Random random, final int kind, final ByteArrayOutputStream stream)
        throws IOException
    {
        final ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
        final int status = switch (kind)
        {
            case 0 ->
            {
                b.putInt(12).put((byte)2).put((byte)Opcode.PING).putShort((short)0).putLong(999);
                yield Status.UNSUPPORTED_VERSION;
            }
            case 1 ->
            {
                b.putInt(random.nextInt(12)).put((byte)1).put((byte)Opcode.PING).putShort((short)0).putLong(999);
                yield Status.BAD_REQUEST;
            }
            default ->
            {
                b.putInt(12 + 32 + (1 << 20) + 1 + random.nextInt(1 << 20)).put((byte)1).put((byte)Opcode.PUT)
                    .putShort((short)0).putLong(999);
                yield Status.FRAME_TOO_LARGE;
            }
        };
        stream.write(b.array());
        stream.write(bytes(random, random.nextInt(3000))); // whatever follows is never read as requests
        return status;
    }

    private static void check(final Expected e, final RawClient.Response r, final String what)
    {
        assertEquals(e.opcode(), r.opcode(), what + ": opcode");
        assertEquals(e.status(), r.status(), what + ": status " + Status.name(r.status()));
        assertArrayEquals(e.body(), r.body(), what + ": body");
    }

    private static void writeInPieces(final OutputStream out, final byte[] bytes, final Random random)
        throws IOException, InterruptedException
    {
        int at = 0;
        while (at < bytes.length)
        {
            final int piece = Math.min(bytes.length - at, 1 + random.nextInt(random.nextBoolean() ? 64 : 40_000));
            out.write(bytes, at, piece);
            out.flush();
            at += piece;
            if (random.nextInt(8) == 0)
            {
                Thread.sleep(1); // lets the server take what came so far: receives land mid-frame
            }
        }
    }

    private static byte[] bytes(final Random random, final int length)
    {
        final byte[] b = new byte[length];
        random.nextBytes(b);
        return b;
    }

    private static byte[] sha256(final byte[] bytes) throws Exception
    {
        return MessageDigest.getInstance("SHA-256").digest(bytes);
    }
}
