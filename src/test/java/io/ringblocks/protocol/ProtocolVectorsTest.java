package io.ringblocks.protocol;

import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.ringblocks.wire.Opcode;
import io.ringblocks.wire.Protocol;
import io.ringblocks.wire.Status;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ProtocolVectorsTest
{
    private static final int MAX_BODY = Protocol.DEFAULT_MAX_BODY_LENGTH;
    private static List<TestVectors.Vector> vectors;

    @BeforeAll
    static void parseVectors() throws Exception
    {
        vectors = TestVectors.parse(
            Path.of(System.getProperty("basedir", ".")).resolve("protocol-spec").resolve("vectors.txt"));
    }

    @Test
    void shouldCoverEveryOperationAndTheBriefedErrors()
    {
        final Set<String> names = new HashSet<>();
        vectors.forEach(v -> names.add(v.name()));
        for (final String required : new String[]{
            "ping", "stats", "put-hello", "put-verify-world", "head-hello", "get-hello", "get-range-hello-1-3",
            "delete-hello", "get-deleted", "delete-deleted", "unknown-opcode-09", "list-first", "find-missing", "ping-bad-flags",
            "put-verify-mismatch", "put-empty", "get-short-hash", "unsupported-version", "frame-too-large" })
        {
            assertTrue(names.contains(required), required);
        }
        assertTrue(vectors.getFirst().newConnection());
    }

    @Test
    void shouldAgreeWithFrameDecoderAndValidator()
    {
        final RequestHeader header = new RequestHeader();
        for (final TestVectors.Vector v : vectors)
        {
            final int status = expectedStatus(v);
            final UnsafeBuffer send = new UnsafeBuffer(v.send());
            final int length = FrameDecoder.frameLength(send, 0, v.send().length);
            assertNotEquals(FrameDecoder.INCOMPLETE, length, v.name());
            final int frameStatus = FrameDecoder.check(length, MAX_BODY);
            if (frameStatus != Status.OK)
            {
                assertEquals(frameStatus, status, v.name());
                assertTrue(v.expectClose(), v.name() + " must close");
                assertEquals(4, v.send().length, v.name() + ": a rejected length prefix needs nothing after it");
                continue;
            }
            header.wrap(send, 0);
            final int validated =
                RequestValidator.validate(header, header.bodyLength(), Protocol.DEFAULT_MAX_BLOCK_SIZE);
            if (v.send().length == 4 + length)
            {
                assertEquals(0, v.thenSendZeros(), v.name() + ": a whole frame has nothing left to send");
            }
            else
            {
                // Only the header was sent: the server must be able to answer from it alone (section 2.3).
                assertTrue(v.send().length >= RequestHeader.HEADER_LENGTH && v.send().length < 4 + length, v.name());
                assertNotEquals(Status.OK, validated, v.name() + ": a header-only vector needs a header verdict");
                assertEquals(v.expectClose() ? 0 : 4 + length - v.send().length, v.thenSendZeros(),
                    v.name() + ": then-send-zeros completes the frame unless the server closes");
            }
            if (validated != Status.OK)
            {
                assertEquals(validated, status, v.name());
                assertEquals(validated == Status.UNSUPPORTED_VERSION, v.expectClose(), v.name());
            }
            else
            {
                assertFalse(v.expectClose(), v.name());
                assertTrue(status == Status.OK || status == Status.NOT_FOUND || status == Status.HASH_MISMATCH ||
                    status == Status.BAD_RANGE, v.name() + " expects a status only storage can decide: " + status);
            }
        }
    }

    @Test
    void shouldExpectWellFormedResponsesEchoingTheRequest()
    {
        final ResponseHeader response = new ResponseHeader();
        final RequestHeader request = new RequestHeader();
        for (final TestVectors.Vector v : vectors)
        {
            if (v.expect() == null)
            {
                continue;
            }
            final byte[] expect = v.expect();
            assertTrue(expect.length >= ResponseHeader.HEADER_LENGTH, v.name());
            response.wrap(new UnsafeBuffer(expect), 0);
            assertEquals(expect.length - 4, response.length(), v.name());
            assertEquals(Protocol.VERSION, response.version(), v.name());
            assertTrue(Status.isValid(response.status()), v.name());
            if (v.expectClose())
            {
                assertEquals(Opcode.NONE, response.opcode(), v.name());
                assertEquals(0L, response.requestId(), v.name());
            }
            else
            {
                request.wrap(new UnsafeBuffer(v.send()), 0);
                assertEquals(request.opcode(), response.opcode(), v.name());
                assertEquals(request.requestId(), response.requestId(), v.name());
            }
            if (response.status() != Status.OK)
            {
                assertEquals(0, response.bodyLength(), v.name() + ": errors carry no body in version 1");
                continue;
            }
            switch (response.opcode())
            {
                case Opcode.PING, Opcode.DELETE -> assertEquals(0, response.bodyLength(), v.name());
                case Opcode.PUT -> assertEquals(Protocol.HASH_LENGTH, response.bodyLength(), v.name());
                case Opcode.HEAD -> assertEquals(4, response.bodyLength(), v.name());
                case Opcode.GET -> assertTrue(response.bodyLength() > 0, v.name());
                case Opcode.LIST -> assertEquals(0, (response.bodyLength() - 36) % 36, v.name());
                case Opcode.FIND_MISSING -> assertEquals(0, response.bodyLength() % 32, v.name());
                default -> throw new AssertionError(v.name() + ": OK for opcode " + response.opcode());
            }
        }
    }

    @Test
    void shouldMatchReferenceServerByteForByte()
    {
        final ReferenceServer server = new ReferenceServer(Protocol.DEFAULT_MAX_BLOCK_SIZE);
        boolean open = false;
        for (final TestVectors.Vector v : vectors)
        {
            if (v.newConnection())
            {
                open = true;
            }
            assertTrue(open, v.name() + " is sent on a connection the server closed");
            final ReferenceServer.Answer answer = server.handle(v.send());
            if (v.expect() != null)
            {
                assertEquals(TestVectors.toHex(v.expect()), TestVectors.toHex(answer.response()), v.name());
            }
            else
            {
                final ResponseHeader header = new ResponseHeader().wrap(new UnsafeBuffer(answer.response()), 0);
                final RequestHeader request = new RequestHeader().wrap(new UnsafeBuffer(v.send()), 0);
                assertEquals(v.expectStatus(), header.status(), v.name());
                assertEquals(request.opcode(), header.opcode(), v.name());
                assertEquals(request.requestId(), header.requestId(), v.name());
            }
            assertEquals(v.expectClose(), answer.close(), v.name());
            open = !answer.close();
        }
    }

    private static int expectedStatus(final TestVectors.Vector v)
    {
        if (v.expect() != null)
        {
            return new ResponseHeader().wrap(new UnsafeBuffer(v.expect()), 0).status();
        }
        return v.expectStatus();
    }
}
