package io.ringblocks.server;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Random;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import io.ringblocks.wire.Opcode;
import io.ringblocks.wire.Protocol;

import static io.ringblocks.server.ServerHarness.awaitStat;
import static io.ringblocks.server.ServerHarness.stat;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A connection waiting for requests keeps one multishot receive armed: many arrivals are served by one receive
 * submission, what arrives while the connection cannot take it (requests at their bound, a large body received in
 * place) is held in order, and a peer that finishes sending gets every answer before the close.
 */
@Timeout(60)
class MultishotRecvTest
{
    private static final int ARRIVALS = 200;

    @TempDir
    Path dir;

    @Test
    void shouldServeManyArrivalsFromOneReceiveSubmission() throws Exception
    {
        final long submissions = submissionsForSeparateArrivals(true);
        // Where the kernel refuses multishot receives (before 6.0) the worker falls back: one per arrival.
        assertTrue(submissions < ARRIVALS / 4 || multishotRefused,
            ARRIVALS + " arrivals took " + submissions + " receive submissions");
    }

    @Test
    void shouldPostOneReceivePerArrivalWhenMultishotIsOff() throws Exception
    {
        final long submissions = submissionsForSeparateArrivals(false);
        assertTrue(submissions >= ARRIVALS, ARRIVALS + " arrivals took only " + submissions + " receive submissions");
    }

    private boolean multishotRefused;

    /** PINGs sent one at a time, each after the previous answer: every one is an arrival of its own. */
    private long submissionsForSeparateArrivals(final boolean multishot) throws Exception
    {
        final ServerConfig config = ServerHarness.config(dir).toBuilder().workers(1).multishotRecv(multishot)
            .conclude();
        try (RingblocksServer server = RingblocksServer.start(config);
            RawClient client = new RawClient(server.port()))
        {
            assertEquals(0, client.call(Opcode.PING, 0, 1, new byte[0]).status());
            if (!multishot)
            {
                assertEquals(0, stat(server, "recv_multishot_workers"));
            }
            final long before = stat(server, "recv_submissions");
            for (int i = 0; i < ARRIVALS; i++)
            {
                final RawClient.Response answer = client.call(Opcode.PING, 0, 100 + i, new byte[0]);
                assertEquals(0, answer.status());
                assertEquals(100 + i, answer.requestId());
            }
            final long submissions = stat(server, "recv_submissions") - before;
            multishotRefused = stat(server, "recv_multishot_workers") == 0;
            // Waiting for its next request, the connection holds no receive buffer of its own.
            awaitStat(server, "recv_buffers_held", 0);
            return submissions;
        }
    }

    @Test
    void shouldKeepEveryByteInOrderWhenAClientSendsFasterThanItIsServed() throws Exception
    {
        // Four requests in flight at most: the worker stops taking bytes long before the client stops sending.
        final ServerConfig config = ServerHarness.config(dir).toBuilder().workers(1).maxInFlight(4).conclude();
        final Random random = new Random(47);
        final byte[][] stored = new byte[6][];
        final int requests = 600;
        final byte[][] puts = new byte[requests][];
        try (RingblocksServer server = RingblocksServer.start(config);
            RawClient client = new RawClient(server.port()))
        {
            for (int i = 0; i < stored.length; i++)
            {
                stored[i] = new byte[1 + random.nextInt(40_000)];
                random.nextBytes(stored[i]);
                assertEquals(0, client.call(Opcode.PUT, 0, 10_000 + i, stored[i]).status());
            }
            // PUTs of 1 B to 200 KiB (those over the receive buffer go straight into a block buffer), GETs of stored
            // blocks and PINGs, written by another thread as fast as the socket takes them.
            final ByteArrayOutputStream stream = new ByteArrayOutputStream();
            for (int id = 0; id < requests; id++)
            {
                switch (id % 3)
                {
                    case 0 ->
                    {
                        puts[id] = new byte[1 + random.nextInt(random.nextInt(8) == 0 ? 200_000 : 3_000)];
                        random.nextBytes(puts[id]);
                        stream.write(RawClient.frame(Protocol.VERSION, Opcode.PUT, 0, id, puts[id]));
                    }
                    case 1 -> stream.write(RawClient.frame(Protocol.VERSION, Opcode.GET, 0, id,
                        sha256(stored[id % stored.length])));
                    default -> stream.write(RawClient.frame(Protocol.VERSION, Opcode.PING, 0, id, new byte[0]));
                }
            }
            final AtomicReference<IOException> writeFailure = new AtomicReference<>();
            final Thread writer = Thread.ofPlatform().start(() ->
            {
                try
                {
                    final byte[] bytes = stream.toByteArray();
                    for (int at = 0; at < bytes.length; at += 7_001)
                    {
                        client.send(java.util.Arrays.copyOfRange(bytes, at, Math.min(bytes.length, at + 7_001)));
                    }
                }
                catch (final IOException e)
                {
                    writeFailure.set(e);
                }
            });
            final RawClient.Response[] answers = client.readAnswers(requests);
            for (int id = 0; id < requests; id++)
            {
                final RawClient.Response answer = answers[id];
                assertEquals(0, answer.status(), "status of " + id);
                switch (id % 3)
                {
                    case 0 -> assertArrayEquals(sha256(puts[id]), answer.body(), "hash of PUT " + id);
                    case 1 -> assertArrayEquals(stored[id % stored.length], answer.body(), "body of GET " + id);
                    default -> assertEquals(Opcode.PING, answer.opcode());
                }
            }
            writer.join();
            assertNull(writeFailure.get());
            // Every PUT is readable afterwards with exactly its bytes.
            for (int id = 0; id < requests; id += 3)
            {
                assertArrayEquals(puts[id], client.call(Opcode.GET, 0, 50_000 + id, sha256(puts[id])).body());
            }
            assertEquals(0, stat(server, "protocol_errors"));
        }
    }

    @Test
    void shouldAnswerEverythingAPeerSentBeforeItFinishedSending() throws Exception
    {
        final ServerConfig config = ServerHarness.config(dir).toBuilder().workers(1).maxInFlight(8).conclude();
        final int requests = 300;
        try (RingblocksServer server = RingblocksServer.start(config);
            RawClient client = new RawClient(server.port()))
        {
            final byte[] block = new byte[5_000];
            new Random(5).nextBytes(block);
            assertEquals(0, client.call(Opcode.PUT, 0, 1, block).status());
            final ByteArrayOutputStream stream = new ByteArrayOutputStream();
            for (int id = 0; id < requests; id++)
            {
                stream.write(id % 2 == 0 ? RawClient.frame(Protocol.VERSION, Opcode.GET, 0, id, sha256(block)) :
                    RawClient.frame(Protocol.VERSION, Opcode.PING, 0, id, new byte[0]));
            }
            client.send(stream.toByteArray());
            client.socket.shutdownOutput(); // end of stream right behind the requests
            final RawClient.Response[] answers = client.readAnswers(requests);
            for (int id = 0; id < requests; id++)
            {
                assertEquals(0, answers[id].status(), "status of " + id);
                if (id % 2 == 0)
                {
                    assertArrayEquals(block, answers[id].body(), "body of " + id);
                }
            }
            assertTrue(client.closedByServer(), "the server closes once everything is answered");
        }
    }

    @Test
    void shouldCloseAConnectionWhosePeerFinishedSendingInTheMiddleOfABody() throws Exception
    {
        // One request in flight at most, and that one is the PUT whose body can never complete.
        final ServerConfig config = ServerHarness.config(dir).toBuilder().workers(1).maxInFlight(1).conclude();
        try (RingblocksServer server = RingblocksServer.start(config);
            RawClient client = new RawClient(server.port()))
        {
            final byte[] frame = RawClient.frame(Protocol.VERSION, Opcode.PUT, 0, 1, new byte[100_000]);
            client.send(java.util.Arrays.copyOf(frame, 40_000));
            client.socket.shutdownOutput();
            assertTrue(client.closedByServer(), "the cut-short PUT keeps its connection open");
            awaitStat(server, "partial_body_bytes", 0);
        }
    }

    @Test
    void shouldNotLetAClientThatNeverReadsTakeTheProvidedBuffers() throws Exception
    {
        // A client pipelines PINGs and reads none of the answers: its requests reach their bound, its multishot
        // receive is cancelled and the rest of its bytes wait in the socket, not in the worker's provided buffers.
        final ServerConfig config = ServerHarness.config(dir).toBuilder().workers(1).maxInFlight(4).conclude();
        try (RingblocksServer server = RingblocksServer.start(config);
            RawClient flooder = new RawClient(server.port(), 16 << 10);
            RawClient other = new RawClient(server.port()))
        {
            final ByteArrayOutputStream stream = new ByteArrayOutputStream();
            for (int id = 0; id < 200_000; id++)
            {
                stream.write(RawClient.frame(Protocol.VERSION, Opcode.PING, 0, id, new byte[0]));
            }
            final Thread writer = Thread.ofPlatform().daemon().start(() ->
            {
                try
                {
                    flooder.send(stream.toByteArray()); // blocks once the server stops reading
                }
                catch (final IOException ignored)
                {
                    // closed at the end of the test
                }
            });
            Thread.sleep(300);
            for (int i = 0; i < 100; i++)
            {
                assertEquals(i, other.call(Opcode.PING, 0, i, new byte[0]).requestId());
            }
            assertEquals(0, stat(server, "recv_provided_exhausted"), "the flooder took every provided buffer");
            flooder.close();
            writer.join(5_000);
        }
    }

    private static byte[] sha256(final byte[] bytes) throws Exception
    {
        return MessageDigest.getInstance("SHA-256").digest(bytes);
    }
}
