package io.ringblocks.server;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Connection-level errors (protocol-spec section 4): the error frame is the last frame on the connection, earlier
 * requests still take effect, and the close is lingering so that a client still sending reads the frame whole.
 */
@Timeout(60)
class ConnectionErrorTest
{
    private static final int PUT = 2;
    private static final int HEAD = 4;
    private static final int OK = 0;
    private static final int UNSUPPORTED_VERSION = 6;
    private static final int FRAME_TOO_LARGE = 11;

    @TempDir
    Path dir;

    private RingblocksServer server;

    @BeforeEach
    void start()
    {
        server = RingblocksServer.start(ServerHarness.config(dir));
    }

    @AfterEach
    void stop()
    {
        server.close();
    }

    @Test
    void shouldSendTheErrorFrameLastWhileEarlierPutsStillCommit() throws Exception
    {
        final Random random = new Random(11);
        for (final boolean badVersion : new boolean[]{true, false})
        {
            final List<byte[]> blocks = new ArrayList<>();
            final List<byte[]> frames = new ArrayList<>();
            // A large PUT (its body bypasses the receive buffer) and small ones, all still committing when the bad
            // frame behind them is parsed.
            for (final int size : new int[]{512 * 1024, 3000, 100, 70_000})
            {
                final byte[] block = ServerOperationsTest.random(random, size);
                blocks.add(block);
                frames.add(RawClient.frame(1, PUT, 0, blocks.size(), block));
            }
            frames.add(badVersion ? RawClient.frame(2, 1, 0, 99, new byte[0]) :
                ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(12 + 32 + (1 << 20) + 1).array());
            final List<RawClient.Response> responses = new ArrayList<>();
            try (RawClient c = new RawClient(server.port()))
            {
                c.send(RawClient.concat(frames.toArray(new byte[0][])));
                while (true)
                {
                    try
                    {
                        responses.add(c.read());
                    }
                    catch (final EOFException end)
                    {
                        break;
                    }
                }
            }
            assertFalse(responses.isEmpty());
            final RawClient.Response last = responses.getLast();
            assertEquals(badVersion ? UNSUPPORTED_VERSION : FRAME_TOO_LARGE, last.status(), "the last frame: " + last);
            assertEquals(0, last.opcode());
            assertEquals(0L, last.requestId());
            for (final RawClient.Response r : responses.subList(0, responses.size() - 1))
            {
                assertEquals(OK, r.status(), "only answers queued before the error frame precede it: " + r);
                assertEquals(PUT, r.opcode());
            }
            // Every PUT took effect, answered or not.
            try (RawClient c = new RawClient(server.port()))
            {
                for (final byte[] block : blocks)
                {
                    assertEquals(OK, headEventually(c, ServerOperationsTest.sha256(block)), "block of " + block.length);
                }
            }
        }
    }

    /** The dropped PUTs may still be waiting for their commit when the client asks on a new connection. */
    private static int headEventually(final RawClient c, final byte[] hash) throws IOException, InterruptedException
    {
        final long deadline = System.nanoTime() + 10_000_000_000L;
        int status;
        do
        {
            status = c.call(HEAD, 0, 7, hash).status();
            if (status == OK)
            {
                return status;
            }
            Thread.sleep(20);
        }
        while (System.nanoTime() < deadline);
        return status;
    }

    @Test
    void shouldDeliverTheErrorFrameWholeToAClientThatKeepsSending() throws Exception
    {
        for (int round = 0; round < 5; round++)
        {
            final int junk = (256 << 10) << (round % 3); // 256 KiB .. 1 MiB after the bad frame
            try (Socket socket = connect())
            {
                final OutputStream out = socket.getOutputStream();
                final AtomicReference<Throwable> writeFailure = new AtomicReference<>();
                final Thread writer = Thread.ofPlatform().start(() ->
                {
                    try
                    {
                        out.write(RawClient.frame(2, 1, 0, 5, new byte[0]));
                        out.write(new byte[junk]);
                        out.flush();
                    }
                    catch (final IOException ex)
                    {
                        writeFailure.set(ex);
                    }
                });
                writer.join(); // reads nothing until everything is written: the worst case for the error frame
                assertNull(writeFailure.get(), "round " + round + ": the server reset the connection");
                final DataInputStream in = new DataInputStream(socket.getInputStream());
                final byte[] frame = new byte[16];
                in.readFully(frame);
                assertEquals("0c000000010006000000000000000000", java.util.HexFormat.of().formatHex(frame));
                assertEquals(-1, in.read(), "end of stream follows the error frame");
            }
        }
        // The worker counts a lingering close just after its shutdown, which the client may see first.
        assertTrue(awaitStats("lingering_closes 5\n"), server.statsText());
    }

    @Test
    void shouldCloseAPeerThatNeverStopsSendingAtTheLingerDeadline() throws Exception
    {
        try (Socket socket = connect())
        {
            final OutputStream out = socket.getOutputStream();
            final AtomicReference<Throwable> writeFailure = new AtomicReference<>();
            final Thread writer = Thread.ofPlatform().start(() ->
            {
                try
                {
                    out.write(RawClient.frame(2, 1, 0, 5, new byte[0]));
                    final byte[] junk = new byte[64 << 10];
                    while (true)
                    {
                        out.write(junk);
                    }
                }
                catch (final IOException ex)
                {
                    writeFailure.set(ex);
                }
            });
            final InputStream in = socket.getInputStream();
            final byte[] frame = new byte[16];
            new DataInputStream(in).readFully(frame);
            assertEquals(FRAME_TOO_LARGE - 5, frame[6]); // UNSUPPORTED_VERSION
            writer.join(20_000);
            assertFalse(writer.isAlive(), "the server must close a peer that never stops sending");
            assertNotNull(writeFailure.get());
        }
        assertTrue(awaitStats("lingering_closes_cut 1\n"), server.statsText());
    }

    private Socket connect() throws IOException
    {
        final Socket socket = new Socket();
        socket.connect(new InetSocketAddress("127.0.0.1", server.port()), 5_000);
        socket.setSoTimeout(20_000);
        return socket;
    }

    /** @return true once the STATS text contains {@code line}, false after 20 s. */
    private boolean awaitStats(final String line) throws InterruptedException
    {
        final long deadline = System.nanoTime() + 20_000_000_000L;
        while (!server.statsText().contains(line))
        {
            if (System.nanoTime() > deadline)
            {
                return false;
            }
            Thread.sleep(10);
        }
        return true;
    }

    @Test
    void shouldSendTheErrorFrameOnceARequestSlotFreesWhenNoneWasFree() throws Exception
    {
        final ServerConfig config = ServerHarness.config(dir.resolve("full")).toBuilder().workers(1).maxInFlight(16)
            .blockCacheSize(0).conclude();
        assertEquals(1024, config.requestSlots());
        final byte[] block = ServerOperationsTest.random(new Random(12), 1 << 20);
        try (RingblocksServer full = RingblocksServer.start(config))
        {
            final List<RawClient> hogs = new ArrayList<>();
            try
            {
                try (RawClient c = new RawClient(full.port()))
                {
                    assertEquals(OK, c.call(PUT, 0, 1, block).status());
                }
                // Clients that pipeline GETs of 1 MiB and never read: the arena fills with answers they do not take, the
                // GETs behind them wait for buffers, and together they hold every request slot.
                final byte[] gets = new byte[16 * (16 + 32)];
                for (int i = 0; i < 16; i++)
                {
                    System.arraycopy(RawClient.frame(1, 3, 0, i, ServerOperationsTest.sha256(block)), 0, gets,
                        i * 48, 48);
                }
                for (int i = 0; i < 70; i++)
                {
                    final RawClient hog = new RawClient(full.port(), 4096);
                    hogs.add(hog);
                    hog.send(gets);
                }
                ServerHarness.awaitStat(full, "in_flight", 1024);
                try (RawClient bad = new RawClient(full.port()))
                {
                    bad.send(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(5).array()); // length < 12
                    bad.socket.setSoTimeout(500);
                    assertThrows(java.net.SocketTimeoutException.class, bad::read, "no slot for the answer yet");
                    for (final RawClient hog : hogs)
                    {
                        hog.close();
                    }
                    bad.socket.setSoTimeout(20_000);
                    final RawClient.Response error = bad.read();
                    assertEquals(0, error.opcode());
                    assertEquals(0, error.requestId());
                    assertEquals(ServerOperationsTest.BAD_REQUEST, error.status());
                    assertThrows(EOFException.class, bad::read, "the error frame is the last one");
                }
            }
            finally
            {
                for (final RawClient hog : hogs)
                {
                    hog.close();
                }
            }
        }
    }
}
