package io.ringblocks.client;

import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HashTest
{
    private static final String HELLO = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
    private static final byte[] HELLO_BYTES = "hello".getBytes(StandardCharsets.US_ASCII);

    @Test
    void shouldComputeSha256OfContent()
    {
        final Hash hash = Hash.of(HELLO_BYTES);
        assertEquals(HELLO, hash.toHex());
        assertEquals(HELLO, hash.toString());
        assertEquals(hash, Hash.fromHex(HELLO));
        assertEquals(hash, Hash.fromHex(HELLO.toUpperCase()));
        assertEquals(hash.hashCode(), Hash.fromHex(HELLO).hashCode());
        assertEquals(0x2cf24dba, hash.hashCode());
    }

    @Test
    void shouldKeepItsBytesImmutable()
    {
        final byte[] raw = Hash.of(HELLO_BYTES).bytes();
        final Hash hash = Hash.fromBytes(raw);
        raw[0] ^= 1;
        assertEquals(HELLO, hash.toHex());
        final byte[] copy = hash.bytes();
        assertNotSame(copy, hash.bytes());
        copy[1] ^= 1;
        assertEquals(HELLO, hash.toHex());
        assertArrayEquals(Hash.fromHex(HELLO).bytes(), hash.bytes());
    }

    @Test
    void shouldMatchOnlyItsOwnContent()
    {
        final Hash hash = Hash.fromHex(HELLO);
        assertTrue(hash.matches(HELLO_BYTES));
        assertFalse(hash.matches("hellO".getBytes(StandardCharsets.US_ASCII)));
        assertFalse(hash.matches(new byte[0]));
        assertNotEquals(hash, Hash.of(new byte[] {1}));
        assertNotEquals(hash, HELLO);
        assertNotEquals(hash, null);
    }

    @Test
    void shouldRejectMalformedInput()
    {
        assertThrows(IllegalArgumentException.class, () -> Hash.fromHex(HELLO.substring(1)));
        assertThrows(IllegalArgumentException.class, () -> Hash.fromHex(HELLO + "0"));
        assertThrows(IllegalArgumentException.class, () -> Hash.fromHex("g" + HELLO.substring(1)));
        assertThrows(IllegalArgumentException.class, () -> Hash.fromHex("\u0663" + HELLO.substring(1)));
        assertThrows(IllegalArgumentException.class, () -> Hash.fromHex(" " + HELLO.substring(1)));
        assertThrows(IllegalArgumentException.class, () -> Hash.fromHex(""));
        assertThrows(IllegalArgumentException.class, () -> Hash.fromBytes(new byte[31]));
        assertThrows(IllegalArgumentException.class, () -> Hash.fromBytes(new byte[33]));
        assertThrows(NullPointerException.class, () -> Hash.fromHex(null));
        assertThrows(NullPointerException.class, () -> Hash.of(null));
    }
}
