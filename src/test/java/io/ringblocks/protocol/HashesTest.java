package io.ringblocks.protocol;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class HashesTest
{
    private static final String HELLO = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

    @Test
    void shouldFormatSha256OfHello() throws Exception
    {
        final byte[] digest = MessageDigest.getInstance("SHA-256").digest("hello".getBytes(StandardCharsets.US_ASCII));
        assertEquals(HELLO, Hashes.toHex(digest));
    }

    @Test
    void shouldRoundTripThroughBufferAtOffset()
    {
        final UnsafeBuffer buffer = new UnsafeBuffer(new byte[40]);
        Hashes.fromHex(HELLO.toUpperCase(), buffer, 5);
        assertEquals(HELLO, Hashes.toHex(buffer, 5));
        assertEquals(0, buffer.getByte(4));
        assertEquals(0, buffer.getByte(37));
        assertEquals("x" + HELLO, Hashes.appendHex(buffer, 5, new StringBuilder("x")).toString());
        assertArrayEquals(Hashes.fromHex(HELLO), TestVectors.fromHex(HELLO));
    }

    @Test
    void shouldRejectMalformedHex()
    {
        assertThrows(IllegalArgumentException.class, () -> Hashes.fromHex(HELLO.substring(2)));
        assertThrows(IllegalArgumentException.class, () -> Hashes.fromHex(HELLO + "00"));
        assertThrows(IllegalArgumentException.class, () -> Hashes.fromHex("g" + HELLO.substring(1)));
        assertThrows(IllegalArgumentException.class, () -> Hashes.fromHex("\u0663" + HELLO.substring(1)));
        assertThrows(IllegalArgumentException.class, () -> Hashes.toHex(new byte[31]));
    }
}
