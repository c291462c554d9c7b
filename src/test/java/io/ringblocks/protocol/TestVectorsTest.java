package io.ringblocks.protocol;

import java.util.List;

import org.junit.jupiter.api.Test;

import io.ringblocks.wire.Status;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TestVectorsTest
{
    @Test
    void shouldParseVectorsConnectionsAndComments()
    {
        final List<TestVectors.Vector> vectors = TestVectors.parse(List.of(
            "# comment",
            "",
            "name: a",
            "send: 0C000000",
            "expect: 0c00",
            "name: b",
            "send: 01",
            "expect-status: 0100",
            "connection: new",
            "  # indented comment",
            "name: c",
            "send: 02",
            "expect: 03",
            "expect-close: true",
            "name: d",
            "send: 04",
            "expect: 05",
            "then-send-zeros: 40000"));
        assertEquals(4, vectors.size());

        final TestVectors.Vector a = vectors.get(0);
        assertEquals("a", a.name());
        assertEquals(3, a.line());
        assertTrue(a.newConnection());
        assertArrayEquals(new byte[]{ 0x0c, 0, 0, 0 }, a.send());
        assertArrayEquals(new byte[]{ 0x0c, 0 }, a.expect());
        assertEquals(TestVectors.NO_STATUS, a.expectStatus());
        assertFalse(a.expectClose());

        final TestVectors.Vector b = vectors.get(1);
        assertFalse(b.newConnection());
        assertNull(b.expect());
        assertEquals(Status.NOT_FOUND, b.expectStatus());

        final TestVectors.Vector c = vectors.get(2);
        assertTrue(c.newConnection());
        assertTrue(c.expectClose());
        assertEquals(0, c.thenSendZeros());
        assertEquals(40000, vectors.get(3).thenSendZeros());
    }

    @Test
    void shouldRejectMalformedFiles()
    {
        assertRejected("send: 00");
        assertRejected("name: a", "expect: 00");
        assertRejected("name: a", "send: 00");
        assertRejected("name: a", "send: 00", "expect: 00", "expect-status: 0000");
        assertRejected("name: a", "send: 00", "send: 00", "expect: 00");
        assertRejected("name: a", "send: 0", "expect: 00");
        assertRejected("name: a", "send: zz", "expect: 00");
        assertRejected("name: a", "send: 00", "expect-status: 00");
        assertRejected("name: a", "send: 00", "expect: 00", "expect-close: yes");
        assertRejected("name: a", "send: 00", "expect: 00", "connection: old");
        assertRejected("name: a", "send: 00", "expect: 00", "bogus: 1");
        assertRejected("name: a", "send: 00", "expect: 00", "no colon");
        assertRejected("name: a", "send: 00", "expect: 00", "name: a", "send: 00", "expect: 00");
        assertRejected("name: a", "send: 00", "expect: 00", "connection: new");
        assertRejected("name: ", "send: 00", "expect: 00");
        assertRejected("name: a", "send: 00", "expect: 00", "then-send-zeros: 0");
        assertRejected("name: a", "send: 00", "expect: 00", "then-send-zeros: x");
        assertRejected("name: a", "send: 00", "expect: 00", "then-send-zeros: 1", "then-send-zeros: 1");
    }

    @Test
    void shouldRoundTripHex()
    {
        assertEquals("00ff7f80", TestVectors.toHex(TestVectors.fromHex("00FF7f80")));
    }

    private static void assertRejected(final String... lines)
    {
        assertThrows(
            IllegalArgumentException.class, () -> TestVectors.parse(List.of(lines)), String.join(" | ", lines));
    }
}
