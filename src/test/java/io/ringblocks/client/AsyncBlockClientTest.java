package io.ringblocks.client;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(15)
class AsyncBlockClientTest
{
    private FakeServer server;

    @BeforeEach
    void setUp() throws Exception
    {
        server = new FakeServer();
    }

    @AfterEach
    void tearDown() throws Exception
    {
        server.close();
    }

    private static byte[] block(final int i, final int length)
    {
        final byte[] block = new byte[length];
        for (int j = 0; j < length; j++)
        {
            block[j] = (byte)(i * 31 + j * 7 + (i >>> 8));
        }
        ByteBuffer.wrap(block).putInt(0, i);
        return block;
    }

    /** @return the exception a future failed with, unwrapped. */
    private static Throwable failure(final CompletableFuture<?> future)
    {
        final CompletionException ex = assertThrows(CompletionException.class, future::join);
        return ex.getCause();
    }

    private static void awaitTrue(final java.util.function.BooleanSupplier condition) throws InterruptedException
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!condition.getAsBoolean())
        {
            assertTrue(System.nanoTime() < deadline, "condition not reached in 5 s");
            Thread.sleep(2);
        }
    }

    /**
     * Lets the paused server answer from another thread after {@code millis}, so that the test thread can block
     * meanwhile; {@code released} is set just before, so an assertion can tell whether the release had happened.
     */
    private Thread resumeServerAfter(final long millis, final AtomicBoolean released)
    {
        return Thread.ofPlatform().daemon().name("resume-fake-server").start(() ->
        {
            try
            {
                Thread.sleep(millis);
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt(); // release anyway rather than leave the test hanging
            }
            released.set(true);
            server.resume();
        });
    }

    @Test
    void shouldOfferEveryOperationAsFutures()
    {
        try (AsyncBlockClient client = AsyncBlockClient.connect("127.0.0.1", server.port()))
        {
            final byte[] hello = "hello".getBytes(StandardCharsets.US_ASCII);
            final Hash hash = client.put(hello).join();
            assertEquals(hash, client.put(hello, hash).join());
            assertEquals(hash, client.put(ByteBuffer.wrap(hello)).join());
            assertArrayEquals(hello, client.get(hash).join());
            assertEquals(5, client.get(hash, ByteBuffer.allocate(5)).join());
            assertArrayEquals("ll".getBytes(StandardCharsets.US_ASCII), client.getRange(hash, 2, 2).join());
            assertEquals(OptionalInt.of(5), client.head(hash).join());
            assertEquals(1L, client.stats().join().get("blocks"));
            assertTrue(client.ping().join().toNanos() >= 0);
            assertTrue(client.delete(hash).join());
            assertInstanceOf(NotFoundException.class, failure(client.get(hash)));
            assertInstanceOf(NotFoundException.class, failure(client.get(hash, ByteBuffer.allocate(5))));
            assertEquals(0, client.inFlight());
        }
    }

    @Test
    void shouldMatchOutOfOrderResponsesById()
    {
        try (AsyncBlockClient client = AsyncBlockClient.connect(server.options().build()))
        {
            final int n = 8;
            final List<Hash> hashes = new ArrayList<>();
            for (int i = 0; i < n; i++)
            {
                hashes.add(client.put(block(i, 100 + i)).join());
            }
            server.reverseBatches(n);
            server.pause(); // so that every completion callback below is attached before any response exists
            final List<CompletableFuture<byte[]>> gets = new ArrayList<>();
            final List<CompletableFuture<OptionalInt>> heads = new ArrayList<>();
            for (int i = 0; i < n; i++)
            {
                gets.add(client.get(hashes.get(i)));
            }
            for (int i = 0; i < n; i++)
            {
                heads.add(client.head(hashes.get(i)));
            }
            // Completion order proves the server reversed them: the last GET of the batch completes first.
            final List<Integer> completionOrder = java.util.Collections.synchronizedList(new ArrayList<>());
            for (int i = 0; i < n; i++)
            {
                final int index = i;
                gets.get(i).thenRun(() -> completionOrder.add(index));
            }
            server.resume();
            for (int i = 0; i < n; i++)
            {
                assertArrayEquals(block(i, 100 + i), gets.get(i).join(), "GET " + i);
                assertEquals(OptionalInt.of(100 + i), heads.get(i).join(), "HEAD " + i);
            }
            assertEquals(List.of(7, 6, 5, 4, 3, 2, 1, 0), completionOrder);
        }
    }

    @Test
    void shouldPipelineAThousandRequestsOnOneConnection()
    {
        server.reverseBatches(10);
        try (AsyncBlockClient client = AsyncBlockClient.connect(server.options().build()))
        {
            final int n = 1000;
            final List<CompletableFuture<Hash>> puts = new ArrayList<>(n);
            for (int i = 0; i < n; i++)
            {
                puts.add(client.put(block(i, 64 + i % 200)));
            }
            final List<CompletableFuture<byte[]>> gets = new ArrayList<>(n);
            for (int i = 0; i < n; i++)
            {
                assertEquals(Hash.of(block(i, 64 + i % 200)), puts.get(i).join());
                gets.add(client.get(puts.get(i).join()));
            }
            for (int i = 0; i < n; i++)
            {
                assertArrayEquals(block(i, 64 + i % 200), gets.get(i).join(), "block " + i);
            }
            assertEquals(1, server.connectionsAccepted());
            assertEquals(2L * n, server.requestsReceived());
            assertEquals(0, client.inFlight());
        }
    }

    @Test
    void shouldTimeOutASlowRequestAndDiscardItsLateResponse() throws Exception
    {
        try (AsyncBlockClient client = AsyncBlockClient.connect(
            server.options().requestTimeout(Duration.ofMillis(150)).build()))
        {
            final Hash first = client.put(block(1, 50)).join();
            final Hash second = client.put(block(2, 60)).join();
            // The server holds the GET until resumed, so only the timeout can end it however long a thread stalls
            // (a mere response delay races the timer on a loaded machine).
            server.pause();
            final long start = System.nanoTime();
            final Throwable ex = failure(client.get(first));
            final long elapsedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertInstanceOf(RequestTimeoutException.class, ex);
            assertEquals(StatusCode.NONE, ((RingblocksException)ex).status());
            // Not before the 150 ms timeout; the upper bound only tells the 150 ms timer from the 5 s default one
            // and leaves room for scheduling stalls.
            assertTrue(elapsedMillis >= 140 && elapsedMillis < 2_500, "timed out after " + elapsedMillis + " ms");
            assertEquals(0, client.inFlight(), "a timed-out request gives back its slot");
            final long answered = server.responsesSent();
            server.resume();
            awaitTrue(() -> server.responsesSent() > answered);
            // The late GET response (block 1) arrives first and must not be taken for this request's answer.
            assertArrayEquals(block(2, 60), client.get(second).join());
            assertEquals(1, server.connectionsAccepted(), "a timeout does not close the connection");
        }
    }

    @Test
    void shouldCloseAConnectionThatStaysSilentAfterATimeoutAndReconnectForTheNextRequest() throws Exception
    {
        try (AsyncBlockClient client = AsyncBlockClient.connect(
            server.options().requestTimeout(Duration.ofMillis(100)).build()))
        {
            client.ping().join();
            server.pause(); // reads, answers nothing: from the client, a peer gone silent
            assertInstanceOf(RequestTimeoutException.class, failure(client.ping()));
            assertEquals(1, server.connectionsAccepted(), "one timeout alone closes nothing");
            // Nothing read since: the connection PINGs itself and, unanswered for 2 s, closes.
            awaitTrue(() -> !client.connected());
            assertEquals(1, server.connectionsAccepted());
            server.resume();
            client.ping().join();
            assertEquals(2, server.connectionsAccepted(), "the next request connected afresh");
        }
    }

    @Test
    void shouldCloseAConnectionWhoseResponseStallsHalfwayAfterATimeout() throws Exception
    {
        try (AsyncBlockClient client = AsyncBlockClient.connect(
            server.options().requestTimeout(Duration.ofMillis(100)).build()))
        {
            client.ping().join();
            server.rewriteNextResponse(frame ->
            {
                server.pause(); // and answer nothing more, the liveness PING included
                // A header that announces 64 body bytes, followed by 10 of them: the rest never comes.
                final ByteBuffer stalled = ByteBuffer.allocate(26).order(java.nio.ByteOrder.LITTLE_ENDIAN);
                return stalled.put(frame, 0, 16).putInt(0, 12 + 64).array();
            });
            assertInstanceOf(RequestTimeoutException.class, failure(client.ping()));
            // A header alone is no sign of life: the connection PINGs itself and, unanswered for 2 s, closes.
            awaitTrue(() -> !client.connected());
            server.resume();
            client.ping().join();
            assertEquals(2, server.connectionsAccepted(), "the next request connected afresh");
        }
    }

    @Test
    void shouldKeepAConnectionWhoseLongAnswerIsStillArrivingWhenItsPingIsLate() throws Exception
    {
        final byte[] block = new byte[64 * 1024];
        new java.util.Random(9).nextBytes(block);
        try (AsyncBlockClient client = AsyncBlockClient.connect(
            server.options().requestTimeout(Duration.ofMillis(100)).build()))
        {
            final Hash hash = client.put(block).join();
            // 4 KiB every 200 ms: the answer takes about 3.2 s, longer than the GET's timeout and the PING's 2 s,
            // and the liveness PING waits behind it on the server.
            server.trickleNextResponse(4096, 200);
            assertInstanceOf(RequestTimeoutException.class, failure(client.get(hash)));
            Thread.sleep(3_500);
            assertTrue(client.connected(), "slow, not silent: the connection stays");
            client.ping().join();
            assertEquals(1, server.connectionsAccepted());
        }
    }

    @Test
    void shouldMakeCallersBeyondMaxInFlightWaitForASlot() throws InterruptedException
    {
        try (AsyncBlockClient client = AsyncBlockClient.connect(
            server.options().maxInFlight(2).requestTimeout(Duration.ofSeconds(3)).build()))
        {
            // a and b hold both slots until another thread lets the server answer, 200 ms after start at the
            // earliest: c's wait then cannot be cut short by the test thread stalling after the first two pings.
            server.pause();
            final CompletableFuture<Duration> a = client.ping();
            final CompletableFuture<Duration> b = client.ping();
            assertEquals(2, client.inFlight());
            final AtomicBoolean released = new AtomicBoolean();
            final long start = System.nanoTime();
            final Thread releaser = resumeServerAfter(200, released);
            final CompletableFuture<Duration> c = client.ping(); // blocks until a's response frees a slot
            final long waitedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            // (a's slot is released just before a's future completes, so a.isDone() may still be false here.)
            assertTrue(released.get(), "c got a slot before the server could answer a or b");
            assertTrue(waitedMillis >= 150, "waited " + waitedMillis + " ms for a slot");
            assertTrue(client.inFlight() <= 2);
            a.join();
            b.join();
            c.join();
            assertEquals(0, client.inFlight());
            releaser.join();
        }
    }

    @Test
    void shouldNotWaitForASlotOnAClientThread()
    {
        try (AsyncBlockClient client = AsyncBlockClient.connect(server.options().maxInFlight(2).build()))
        {
            // Held until resumed, so that a cannot be done before thenCompose is attached: otherwise the nested
            // pings would run on the test thread, where waiting for a slot is allowed and succeeds.
            server.pause();
            final CompletableFuture<Duration> a = client.ping();
            final CompletableFuture<Duration> b = client.ping();
            // On the reader thread, a's slot is free again and b still holds the other: the first nested ping
            // takes the last slot, the second must fail at once instead of stalling the reader that frees slots.
            final CompletableFuture<Duration> nested = a.thenCompose(ignored ->
            {
                client.ping();
                return client.ping();
            });
            assertFalse(a.isDone(), "the nested pings must run on the reader thread, when a's response arrives");
            server.resume();
            final Throwable ex = failure(nested);
            assertInstanceOf(RequestTimeoutException.class, ex);
            assertTrue(ex.getMessage().contains("in-flight slots"), ex.getMessage());
            b.join();
        }
    }

    @Test
    void shouldGiveASlotBackAtOnceWhenTheCallerCancelsOrCompletesTheFuture()
    {
        try (AsyncBlockClient client = AsyncBlockClient.connect(
            server.options().maxInFlight(1).requestTimeout(Duration.ofSeconds(10)).build()))
        {
            server.pause(); // nothing is answered: only the caller can end these requests before their timeout
            final CompletableFuture<Duration> cancelled = client.ping();
            assertEquals(1, client.inFlight());
            assertTrue(cancelled.cancel(false));
            assertEquals(0, client.inFlight(), "cancelled: its slot is free at once, not at its timeout");
            final CompletableFuture<byte[]> completed = client.get(Hash.of(new byte[]{1}));
            assertTrue(completed.complete(new byte[0]));
            assertEquals(0, client.inFlight(), "completed by the caller: likewise");
            // A derived future (GET into a buffer) passes the cancellation on to its request.
            final CompletableFuture<Integer> into = client.get(Hash.of(new byte[]{2}), ByteBuffer.allocate(16));
            assertEquals(1, client.inFlight());
            into.cancel(false);
            assertEquals(0, client.inFlight());
            final long start = System.nanoTime();
            final CompletableFuture<Duration> next = client.ping(); // would wait 10 s for a slot held by a ghost
            assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(5), "took a free slot");
            server.resume();
            next.join();
            assertEquals(0, client.inFlight());
        }
    }

    @Test
    void shouldNotLetAStageThatBlocksOnATimeoutHoldBackOtherTimeouts() throws Exception
    {
        try (AsyncBlockClient client = AsyncBlockClient.connect(
            server.options().requestTimeout(Duration.ofMillis(200)).build()))
        {
            server.pause();
            final java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
            final CompletableFuture<Duration> blocked = client.ping();
            blocked.whenComplete((v, e) ->
            {
                try
                {
                    release.await(10, TimeUnit.SECONDS); // a caller's stage that blocks where it runs
                }
                catch (final InterruptedException ex)
                {
                    Thread.currentThread().interrupt();
                }
            });
            Thread.sleep(50);
            final long start = System.nanoTime();
            final CompletableFuture<Duration> other = client.ping();
            assertInstanceOf(RequestTimeoutException.class, failure(other));
            final long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            release.countDown();
            assertTrue(millis < 5_000, "the other request's timeout waited for the blocked stage: " + millis + " ms");
        }
    }

    @Test
    void shouldNeverWriteTheCallersBufferOnceTheCallerGaveUpOnTheFuture() throws Exception
    {
        try (AsyncBlockClient client = AsyncBlockClient.connect(server.options().build()))
        {
            final Hash hash = client.put(block(1, 6)).join();
            server.pause(); // the GET stays unanswered until the caller has given up
            final ByteBuffer destination = ByteBuffer.allocate(8);
            final CompletableFuture<Integer> read = client.get(hash, destination);
            assertInstanceOf(java.util.concurrent.TimeoutException.class,
                failure(read.orTimeout(50, TimeUnit.MILLISECONDS)));
            // orTimeout completes the future on the JDK's delay thread, which goes on to run its dependent stages.
            awaitTrue(() -> client.inFlight() == 0); // giving up on the future gives back the request's slot
            server.resume();
            client.ping().join(); // answered after the GET, on the same connection
            assertEquals(0, destination.position(), "the buffer was not written after the caller gave up");
        }
    }

    @Test
    void shouldTimeOutCallersWhoseSlotHoldersNeverAnswer()
    {
        try (AsyncBlockClient client = AsyncBlockClient.connect(
            server.options().maxInFlight(1).requestTimeout(Duration.ofMillis(200)).build()))
        {
            // The holder is never answered (the server is only resumed by tearDown), so both must end by timeout
            // however long any thread stalls; a delayed answer could beat a stalled timer.
            server.pause();
            final long start = System.nanoTime();
            final CompletableFuture<Duration> holder = client.ping();
            final CompletableFuture<Duration> waiter = client.ping();
            assertInstanceOf(RequestTimeoutException.class, failure(holder));
            assertInstanceOf(RequestTimeoutException.class, failure(waiter));
            final long elapsedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            // About one 200 ms timeout each at most; the bound leaves room for stalls yet is far below a hang.
            assertTrue(elapsedMillis < 5_000, "both failed within about one request timeout: " + elapsedMillis + " ms");
            assertEquals(0, client.inFlight());
        }
    }

    @Test
    void shouldFailInFlightRequestsWithConnectionLostAndReconnectForTheNext()
    {
        try (AsyncBlockClient client = AsyncBlockClient.connect(server.options().build()))
        {
            final Hash hash = client.put(block(5, 500)).join();
            server.pause();
            server.dropOnRequest(1);
            final List<CompletableFuture<?>> inFlight = List.of(client.ping(), client.get(hash), client.head(hash),
                client.put(block(6, 10)));
            assertEquals(4, client.inFlight());
            server.resume();
            for (final CompletableFuture<?> future : inFlight)
            {
                final Throwable ex = failure(future);
                assertInstanceOf(ConnectionLostException.class, ex);
                assertTrue(ex.getMessage().contains("127.0.0.1:" + server.port()), ex.getMessage());
            }
            assertEquals(0, client.inFlight(), "lost requests give back their slots");
            assertArrayEquals(block(5, 500), client.get(hash).join());
            assertTrue(client.ping().join().toNanos() >= 0);
            assertEquals(2, server.connectionsAccepted());
        }
    }

    /** @return {@code frame} (a response) with {@code extra} zero bytes added to its body. */
    private static byte[] withLongerBody(final byte[] frame, final int extra)
    {
        final ByteBuffer longer = ByteBuffer.allocate(frame.length + extra).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        return longer.put(frame).putInt(0, frame.length - 4 + extra).array();
    }

    @Test
    void shouldCloseTheConnectionOnAResponseToARequestNeverSent()
    {
        try (AsyncBlockClient client = AsyncBlockClient.connect(
            server.options().requestTimeout(Duration.ofSeconds(2)).build()))
        {
            client.ping().join();
            server.rewriteNextResponse(frame -> ByteBuffer.wrap(frame.clone()).order(java.nio.ByteOrder.LITTLE_ENDIAN)
                .putLong(8, Long.MAX_VALUE).array());
            final Throwable ex = failure(client.ping());
            assertInstanceOf(ConnectionLostException.class, ex, "not left to time out");
            assertInstanceOf(ProtocolException.class, ex.getCause());
            assertTrue(client.ping().join().toNanos() >= 0, "reconnected");
            assertEquals(2, server.connectionsAccepted());
        }
    }

    @Test
    void shouldRefuseAnOkBodyLongerThanItsOperationAllows()
    {
        try (AsyncBlockClient client = AsyncBlockClient.connect(server.options().build()))
        {
            final Hash hash = client.put(block(3, 40)).join();
            server.rewriteNextResponse(frame -> withLongerBody(frame, 64));
            assertInstanceOf(ProtocolException.class, failure(client.ping()), "a PING answer has no body");
            server.rewriteNextResponse(frame -> withLongerBody(frame, 1));
            assertInstanceOf(ProtocolException.class, failure(client.delete(hash)), "nor has a DELETE answer");
            server.rewriteNextResponse(frame -> withLongerBody(frame, 64));
            assertInstanceOf(ProtocolException.class, failure(client.findMissing(List.of(hash, Hash.of(new byte[1])))),
                "a FIND_MISSING answer names at most the hashes asked about");
            assertTrue(client.ping().join().toNanos() >= 0, "the frames stayed in step: the connection is usable");
            assertEquals(1, server.connectionsAccepted());
        }
    }

    @Test
    void shouldTreatAConnectionLevelErrorAsALostConnection()
    {
        try (AsyncBlockClient client = AsyncBlockClient.connect(server.options().build()))
        {
            client.ping().join();
            server.connectionError(StatusCode.FRAME_TOO_LARGE);
            final Throwable ex = failure(client.ping());
            assertInstanceOf(ConnectionLostException.class, ex);
            final ServerErrorException cause = assertInstanceOf(ServerErrorException.class, ex.getCause());
            assertEquals(StatusCode.FRAME_TOO_LARGE, cause.status());
            assertEquals("FRAME_TOO_LARGE", cause.statusName());
            assertTrue(client.ping().join().toNanos() >= 0, "reconnected");
            assertEquals(2, server.connectionsAccepted());
        }
    }

    @Test
    void shouldGiveUpReconnectingAfterTheConfiguredAttempts() throws Exception
    {
        final AsyncBlockClient client = AsyncBlockClient.connect(server.options().reconnectAttempts(2).build());
        try (client)
        {
            client.ping().join();
            server.close();
            awaitTrue(() -> failure(client.ping()) instanceof ConnectionLostException &&
                client.inFlight() == 0);
            final Throwable ex = failure(client.ping());
            assertInstanceOf(ConnectionLostException.class, ex);
            assertTrue(ex.getMessage().contains("after 2 attempts"), ex.getMessage());
        }
        try (AsyncBlockClient noReconnect = AsyncBlockClient.connect(
            (server = new FakeServer()).options().reconnectAttempts(0).build()))
        {
            server.dropOnRequest(1);
            assertInstanceOf(ConnectionLostException.class, failure(noReconnect.ping()));
            final Throwable ex = failure(noReconnect.ping());
            assertTrue(ex.getMessage().contains("after 0 attempts"), ex.getMessage());
            assertEquals(1, server.connectionsAccepted());
        }
    }

    /** Pings from {@code callers} threads released together; returns how each failed. */
    private static List<Throwable> concurrentPingFailures(final AsyncBlockClient client, final int callers)
        throws InterruptedException
    {
        final java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
        final List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
        final List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < callers; i++)
        {
            threads.add(Thread.ofPlatform().name("caller-" + i).start(() ->
            {
                try
                {
                    go.await();
                    failures.add(failure(client.ping()));
                }
                catch (final InterruptedException ex)
                {
                    Thread.currentThread().interrupt();
                }
            }));
        }
        go.countDown();
        for (final Thread thread : threads)
        {
            thread.join();
        }
        return failures;
    }

    /** @return a client that was connected to the server, which is gone now (connections to it are refused). */
    private AsyncBlockClient clientOfAStoppedServer(final ClientOptions options) throws Exception
    {
        final AsyncBlockClient client = AsyncBlockClient.connect(options);
        client.ping().join();
        server.close();
        awaitTrue(() -> !client.connected());
        return client;
    }

    @Test
    void shouldShareAFailedReconnectRoundWithConcurrentCallersInsteadOfEachTryingAgain() throws Exception
    {
        // A round is 3 attempts with pauses of 500 ms and 1 s between them; its failure is shared for the 2 s pause
        // that would come next.
        try (AsyncBlockClient client = clientOfAStoppedServer(server.options().reconnectAttempts(3)
            .reconnectBackoff(Duration.ofMillis(500)).requestTimeout(Duration.ofSeconds(10)).build()))
        {
            final List<Throwable> failures = concurrentPingFailures(client, 4);
            int shared = 0;
            for (final Throwable ex : failures)
            {
                assertInstanceOf(ConnectionLostException.class, ex);
                assertTrue(ex.getMessage().contains("after 3 attempts"), ex.getMessage());
                shared += ex.getMessage().contains("the next attempt is due") ? 1 : 0;
            }
            assertEquals(3, shared, "one caller ran the round, the others waited for it and shared its failure");
            final Throwable next = failure(client.ping());
            assertTrue(next.getMessage().contains("the next attempt is due"), "not due yet: " + next.getMessage());
        }
    }

    @Test
    void shouldFailUnsentWithinTheRequestTimeoutWhenReconnectingWouldTakeLonger() throws Exception
    {
        // A full round would take 1 + 2 + 2 + 2 s of pauses; each request may take 300 ms.
        try (AsyncBlockClient client = clientOfAStoppedServer(server.options().reconnectAttempts(5)
            .reconnectBackoff(Duration.ofSeconds(1)).requestTimeout(Duration.ofMillis(300)).build()))
        {
            for (final Throwable ex : concurrentPingFailures(client, 3))
            {
                if (ex instanceof ConnectionLostException shared)
                {
                    // A caller behind the first gets the outcome of the round the timeout cut short.
                    assertTrue(shared.getMessage().contains("not re-established within a request's timeout"),
                        shared.getMessage());
                    continue;
                }
                final RequestTimeoutException timedOut = assertInstanceOf(RequestTimeoutException.class, ex);
                assertFalse(timedOut.sent(), "never sent: " + ex.getMessage());
                assertInstanceOf(java.io.IOException.class, timedOut.getCause(), "the failed attempt is the cause");
            }
            assertEquals(0, client.inFlight());
        }
    }

    @Test
    void shouldNotReconnectToAServerThatRefusedTheConnectionBeforeTheBackoff()
    {
        try (AsyncBlockClient client = AsyncBlockClient.connect(
            server.options().reconnectBackoff(Duration.ofSeconds(10)).build()))
        {
            server.connectionError(StatusCode.BUSY); // how a server at its connection limit refuses one
            assertInstanceOf(ServerBusyException.class, failure(client.ping()));
            final Throwable again = failure(client.ping());
            assertInstanceOf(ServerBusyException.class, again);
            assertTrue(again.getMessage().contains("not reconnecting before"), again.getMessage());
            assertEquals(1, server.connectionsAccepted(), "not asked again within the backoff");
            assertEquals(0, client.inFlight());
        }
    }

    @Test
    void shouldStopAReconnectInProgressWhenClosedInsteadOfWaitingForIt() throws Exception
    {
        // A full round would take 1 + 2 + 2 + 2 s of pauses.
        final AsyncBlockClient client = clientOfAStoppedServer(server.options().reconnectAttempts(5)
            .reconnectBackoff(Duration.ofSeconds(1)).requestTimeout(Duration.ofSeconds(30)).build());
        final CompletableFuture<Throwable> reconnecting = new CompletableFuture<>();
        final Thread caller = Thread.ofPlatform().name("reconnecting-caller")
            .start(() -> reconnecting.complete(failure(client.ping())));
        awaitTrue(() -> caller.getState() == Thread.State.TIMED_WAITING); // pausing between attempts
        client.close();
        final Throwable ex = reconnecting.join();
        assertInstanceOf(IllegalStateException.class, ex, "the round stopped at the close: " + ex);
        assertTrue(ex.getMessage().contains("closed"), ex.getMessage());
    }

    @Test
    void shouldFailOutstandingRequestsOnClose()
    {
        final AsyncBlockClient client = AsyncBlockClient.connect(server.options().build());
        server.delayResponses(Duration.ofSeconds(2));
        final CompletableFuture<Duration> pending = client.ping();
        client.close();
        final Throwable ex = failure(pending);
        assertInstanceOf(ConnectionLostException.class, ex);
        assertTrue(ex.getMessage().contains("client closed"), ex.getMessage());
        assertInstanceOf(IllegalStateException.class, failure(client.ping()));
    }
}
