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
}
