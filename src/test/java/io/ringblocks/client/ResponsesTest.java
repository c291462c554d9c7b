package io.ringblocks.client;

import java.util.List;

import org.junit.jupiter.api.Test;

import io.ringblocks.wire.Protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Answers the decoders must refuse rather than turn into a plausible result, and what a failing decoder leaves. */
class ResponsesTest
{
    private static final Hash A = Hash.of(new byte[]{1});
    private static final Hash B = Hash.of(new byte[]{2});
    private static final Hash C = Hash.of(new byte[]{3});
    /** A, B and C in ascending (LIST) order. */
    private static final Hash LO = ascending().get(0);
    private static final Hash MID = ascending().get(1);
    private static final Hash HI = ascending().get(2);

    private static List<Hash> ascending()
    {
        final List<Hash> sorted = new java.util.ArrayList<>(List.of(A, B, C));
        sorted.sort((x, y) -> java.util.Arrays.compareUnsigned(x.bytes(), y.bytes()));
        return sorted;
    }

    private static byte[] bodyOf(final Hash... hashes)
    {
        final byte[] body = new byte[hashes.length * Hash.LENGTH];
        for (int i = 0; i < hashes.length; i++)
        {
            System.arraycopy(hashes[i].bytes(), 0, body, i * Hash.LENGTH, Hash.LENGTH);
        }
        return body;
    }

    @Test
    void shouldFailTheRequestWhenItsDecoderThrowsAnError()
    {
        final Pending<Void> request = new Pending<>(1, Wire.PING, Wire.empty(Wire.PING, 1), null, 0, 0,
            (status, body) ->
            {
                throw new LinkageError("decoding"); // an Error (OutOfMemoryError would abort the test run)
            });
        request.complete(Wire.PING, StatusCode.OK, new byte[0]);
        assertTrue(request.future.isCompletedExceptionally(), "completed, not left waiting for ever");
        final java.util.concurrent.ExecutionException ex = assertThrows(java.util.concurrent.ExecutionException.class,
            request.future::get);
        assertInstanceOf(LinkageError.class, ex.getCause());
    }

    @Test
    void shouldAcceptAFindMissingAnswerOfRequestedHashesInRequestOrder()
    {
        assertEquals(List.of(A, C), Responses.findMissing(List.of(A, B, C)).decode(StatusCode.OK, bodyOf(A, C)));
        assertEquals(List.of(), Responses.findMissing(List.of(A, B, C)).decode(StatusCode.OK, new byte[0]));
    }

    @Test
    void shouldRefuseAFindMissingAnswerNamingAHashNotAskedAboutOrOutOfOrder()
    {
        final Hash stranger = Hash.of(new byte[]{9});
        assertThrows(ProtocolException.class,
            () -> Responses.findMissing(List.of(A, B)).decode(StatusCode.OK, bodyOf(stranger)));
        assertThrows(ProtocolException.class,
            () -> Responses.findMissing(List.of(A, B)).decode(StatusCode.OK, bodyOf(B, A)));
        assertThrows(ProtocolException.class,
            () -> Responses.findMissing(List.of(A, B)).decode(StatusCode.OK, bodyOf(A, A)));
        assertThrows(ProtocolException.class,
            () -> Responses.findMissing(List.of(A, B)).decode(StatusCode.OK, new byte[31]));
    }

    /** A LIST page: more = 0, next = zeros, then (hash, length) entries. */
    private static byte[] page(final Object... hashAndLength)
    {
        final java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(Wire.LIST_HEADER + hashAndLength.length / 2 *
            Wire.LIST_ENTRY).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.position(Wire.LIST_HEADER);
        for (int i = 0; i < hashAndLength.length; i += 2)
        {
            b.put(((Hash)hashAndLength[i]).bytes()).putInt((int)(long)(Long)hashAndLength[i + 1]);
        }
        return b.array();
    }

    /** {@link #page} with more = 1 and the given next cursor. */
    private static byte[] pageGoingOn(final Hash next, final Object... hashAndLength)
    {
        final byte[] page = page(hashAndLength);
        page[Protocol.LIST_MORE_OFFSET] = 1;
        System.arraycopy(next.bytes(), 0, page, Protocol.LIST_NEXT_OFFSET, Hash.LENGTH);
        return page;
    }

    @Test
    void shouldRefuseAListPageThatGoesOnWithoutMovingItsCursorForward()
    {
        assertEquals(HI, Responses.list(LO, 2).decode(StatusCode.OK, pageGoingOn(HI, MID, 5L)).next(),
            "beyond the last entry: blocks deleted meanwhile");
        assertEquals(MID, Responses.list(LO, 2).decode(StatusCode.OK, pageGoingOn(MID)).next(), "an empty page");
        assertEquals(MID, Responses.list(null, 2).decode(StatusCode.OK, pageGoingOn(MID, LO, 1L, MID, 1L)).next());
        for (final byte[] bad : List.of(pageGoingOn(LO), pageGoingOn(LO, MID, 1L), pageGoingOn(MID, HI, 1L)))
        {
            assertThrows(ProtocolException.class, () -> Responses.list(LO, 2).decode(StatusCode.OK, bad));
        }
        assertThrows(ProtocolException.class,
            () -> Responses.list(null, 2).decode(StatusCode.OK, pageGoingOn(LO, LO, 1L, MID, 1L)));
    }

    @Test
    void shouldRefuseAListPageThatIsTooLongNamesAnImpossibleLengthOrDoesNotAscend()
    {
        final ListPage ok = Responses.list(LO, 2).decode(StatusCode.OK, page(MID, 5L, HI, 1L << 20));
        assertEquals(List.of(new ListPage.Entry(MID, 5), new ListPage.Entry(HI, 1 << 20)), ok.entries());
        assertEquals(2, Responses.list(null, 2).decode(StatusCode.OK, page(LO, 1L, MID, 1L)).entries()
            .size());
        for (final byte[] bad : List.of(page(MID, 1L, HI, 1L, HI, 1L), page(MID, 0L), page(MID, (1L << 20) + 1),
            page(MID, 0xFFFF_FFFFL), page(HI, 1L, MID, 1L), page(MID, 1L, MID, 1L), page(LO, 1L)))
        {
            assertThrows(ProtocolException.class, () -> Responses.list(LO, 2).decode(StatusCode.OK, bad));
        }
    }
}
