package io.ringblocks.client;

import java.util.List;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Answers the decoders must refuse rather than turn into a plausible result. */
class ResponsesTest
{
    private static final Hash A = Hash.of(new byte[]{1});
    private static final Hash B = Hash.of(new byte[]{2});
    private static final Hash C = Hash.of(new byte[]{3});

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

    @Test
    void shouldRefuseAListPageThatIsTooLongNamesAnImpossibleLengthOrDoesNotAscend()
    {
        final List<Hash> sorted = new java.util.ArrayList<>(List.of(A, B, C));
        sorted.sort((x, y) -> java.util.Arrays.compareUnsigned(x.bytes(), y.bytes()));
        final Hash lo = sorted.get(0);
        final Hash mid = sorted.get(1);
        final Hash hi = sorted.get(2);
        final ListPage ok = Responses.list(lo, 2).decode(StatusCode.OK, page(mid, 5L, hi, 1L << 20));
        assertEquals(List.of(new ListPage.Entry(mid, 5), new ListPage.Entry(hi, 1 << 20)), ok.entries());
        assertEquals(2, Responses.list(null, 2).decode(StatusCode.OK, page(lo, 1L, mid, 1L)).entries()
            .size());
        for (final byte[] bad : List.of(page(mid, 1L, hi, 1L, hi, 1L), page(mid, 0L), page(mid, (1L << 20) + 1),
            page(mid, 0xFFFF_FFFFL), page(hi, 1L, mid, 1L), page(mid, 1L, mid, 1L), page(lo, 1L)))
        {
            assertThrows(ProtocolException.class, () -> Responses.list(lo, 2).decode(StatusCode.OK, bad));
        }
    }
}
