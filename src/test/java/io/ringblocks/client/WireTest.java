package io.ringblocks.client;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class WireTest
{
    private static final Hash HELLO = Hash.of(ascii("hello"));
    private static final Hash WORLD = Hash.of(ascii("world"));

    private static byte[] ascii(final String text)
    {
        return text.getBytes(StandardCharsets.US_ASCII);
    }

    private static byte[] frame(final byte[] header, final byte[] payload)
    {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(header);
        out.writeBytes(payload);
        return out.toByteArray();
    }

    @Test
    void shouldEncodeEveryClientRequestExactlyAsTheSpecVectors() throws Exception
    {
        final Map<String, byte[]> encoded = new LinkedHashMap<>();
        encoded.put("ping", Wire.empty(Wire.PING, 1));
        encoded.put("stats", Wire.empty(Wire.STATS, 2));
        encoded.put("put-hello", frame(Wire.put(3, 5), ascii("hello")));
        encoded.put("put-hello-again", frame(Wire.put(4, 5), ascii("hello")));
        encoded.put("put-verify-world", frame(Wire.putVerified(5, WORLD, 5), ascii("world")));
        encoded.put("head-hello", Wire.hashOnly(Wire.HEAD, 6, HELLO));
        encoded.put("get-hello", Wire.hashOnly(Wire.GET, 7, HELLO));
        encoded.put("get-world", Wire.hashOnly(Wire.GET, 8, WORLD));
        encoded.put("get-range-hello-1-3", Wire.getRange(9, HELLO, 1, 3));
        encoded.put("get-range-hello-2-to-end", Wire.getRange(10, HELLO, 2, 0));
        encoded.put("get-range-hello-whole", Wire.getRange(11, HELLO, 0, 5));
        encoded.put("get-range-past-end", Wire.getRange(12, HELLO, 3, 5));
        encoded.put("get-range-offset-at-end", Wire.getRange(13, HELLO, 5, 0));
        encoded.put("get-range-huge-offset", Wire.getRange(14, HELLO, -1L, 1));
        encoded.put("delete-hello", Wire.hashOnly(Wire.DELETE, 15, HELLO));
        encoded.put("get-deleted", Wire.hashOnly(Wire.GET, 16, HELLO));
        encoded.put("head-deleted", Wire.hashOnly(Wire.HEAD, 17, HELLO));
        encoded.put("delete-deleted", Wire.hashOnly(Wire.DELETE, 18, HELLO));
        encoded.put("get-range-deleted", Wire.getRange(19, HELLO, 0, 1));
        encoded.put("put-verify-mismatch", frame(Wire.putVerified(20, HELLO, 5), ascii("HELLO")));
        encoded.put("ping-large-request-id", Wire.empty(Wire.PING, 0xfedcba9876543210L));

        final List<SpecVectors.Vector> vectors = SpecVectors.load();
        int matched = 0;
        for (final SpecVectors.Vector vector : vectors)
        {
            final byte[] mine = encoded.get(vector.name());
            if (mine != null)
            {
                assertEquals(HexFormat.of().formatHex(vector.send()), HexFormat.of().formatHex(mine), vector.name());
                matched++;
            }
        }
        assertEquals(encoded.size(), matched, "every encoded request has a vector");
    }

    @Test
    void shouldDecodeSpecResponsesIntoValuesAndTypedExceptions()
    {
        final HexFormat hex = HexFormat.of();
        assertEquals(HELLO, Responses.put(null).decode(0, hex.parseHex(
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")));
        assertEquals(OptionalInt.of(5), Responses.head(HELLO).decode(0, hex.parseHex("05000000")));
        assertEquals(OptionalInt.empty(), Responses.head(HELLO).decode(StatusCode.NOT_FOUND, new byte[0]));
        assertEquals(true, Responses.delete(HELLO).decode(0, new byte[0]));
        assertEquals(false, Responses.delete(HELLO).decode(StatusCode.NOT_FOUND, new byte[0]));
        assertArrayEquals(ascii("ell"), Responses.getRange(HELLO, 1, 3).decode(0, ascii("ell")));
        assertArrayEquals(ascii("hello"), Responses.get(HELLO, true).decode(0, ascii("hello")));
        assertThrows(BadRangeException.class, () -> Responses.getRange(HELLO, 3, 5).decode(StatusCode.BAD_RANGE,
            new byte[0]));
        assertThrows(IntegrityException.class, () -> Responses.get(HELLO, true).decode(0, ascii("hellO")));
        assertArrayEquals(ascii("hellO"), Responses.get(HELLO, false).decode(0, ascii("hellO")));
        assertThrows(ProtocolException.class, () -> Responses.head(HELLO).decode(0, new byte[3]));
        assertThrows(ProtocolException.class, () -> Responses.put(null).decode(0, new byte[31]));
        assertThrows(ProtocolException.class, () -> Responses.getRange(HELLO, 1, 3).decode(0, ascii("el")));
        assertThrows(IntegrityException.class, () -> Responses.put(WORLD).decode(0, HELLO.bytes()));
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 400})
    void shouldMapEveryStatusToItsTypedException(final int status)
    {
        final RingblocksException ex = Responses.error(status, "GET x");
        final Class<? extends RingblocksException> expected = switch (status)
        {
            case 1 -> NotFoundException.class;
            case 2 -> BadRequestException.class;
            case 3 -> HashMismatchException.class;
            case 4 -> BlockTooLargeException.class;
            case 5 -> NoSpaceException.class;
            case 8 -> BadRangeException.class;
            case 9 -> ServerBusyException.class;
            case 13 -> CorruptBlockException.class;
            default -> ServerErrorException.class;
        };
        assertInstanceOf(expected, ex);
        assertEquals(status, ex.status());
        assertEquals(StatusCode.name(status), ex.statusName());
        assertTrue(ex.getMessage().startsWith("GET x: "), ex.getMessage());
    }

    @Test
    void shouldNameStatusCodesAsTheSpecTable()
    {
        final String[] names = {"OK", "NOT_FOUND", "BAD_REQUEST", "HASH_MISMATCH", "BLOCK_TOO_LARGE", "NO_SPACE",
            "UNSUPPORTED_VERSION", "UNKNOWN_OPCODE", "BAD_RANGE", "BUSY", "INTERNAL_ERROR", "FRAME_TOO_LARGE",
            "SHUTTING_DOWN", "CORRUPT"};
        for (int i = 0; i < names.length; i++)
        {
            assertEquals(names[i], StatusCode.name(i));
        }
        assertEquals(12, StatusCode.SHUTTING_DOWN);
        assertEquals(13, StatusCode.CORRUPT);
        assertEquals("STATUS_99", StatusCode.name(99));
        assertEquals("NONE", StatusCode.name(StatusCode.NONE));
    }

    @Test
    void shouldParseStatsLinesAndSkipMalformedOnes()
    {
        final Map<String, Long> stats = Responses.parseStats(
            "uptime_ms 1234\nblocks 2\nbroken\nspaced  3\nneg -4\nnotanumber x\nbig 99999999999999999999\n\n");
        assertEquals(List.of("uptime_ms", "blocks", "neg"), List.copyOf(stats.keySet()));
        assertEquals(1234L, stats.get("uptime_ms"));
        assertEquals(-4L, stats.get("neg"));
        assertThrows(UnsupportedOperationException.class, () -> stats.put("x", 1L));
        assertTrue(Responses.parseStats("").isEmpty());
    }
}
