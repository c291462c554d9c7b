package io.ringblocks.protocol;

import org.junit.jupiter.api.Test;

import io.ringblocks.wire.Flags;
import io.ringblocks.wire.Opcode;
import io.ringblocks.wire.Protocol;
import io.ringblocks.wire.Status;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConstantsTest
{
    @Test
    void shouldNameEveryOpcode()
    {
        assertEquals("PING", Opcode.name(Opcode.PING));
        assertEquals("PUT", Opcode.name(Opcode.PUT));
        assertEquals("GET", Opcode.name(Opcode.GET));
        assertEquals("HEAD", Opcode.name(Opcode.HEAD));
        assertEquals("DELETE", Opcode.name(Opcode.DELETE));
        assertEquals("STATS", Opcode.name(Opcode.STATS));
        assertEquals("NONE", Opcode.name(Opcode.NONE));
        assertEquals("OPCODE_9", Opcode.name(9));
        assertEquals("OPCODE_-1", Opcode.name(-1));
    }

    @Test
    void shouldKnowValidOpcodes()
    {
        assertFalse(Opcode.isValid(0));
        for (int op = 1; op <= 8; op++)
        {
            assertTrue(Opcode.isValid(op));
        }
        assertFalse(Opcode.isValid(9));
        assertFalse(Opcode.isValid(0xFF));
    }

    @Test
    void shouldPinStatusCodesAndNames()
    {
        final String[] names =
            {
                "OK", "NOT_FOUND", "BAD_REQUEST", "HASH_MISMATCH", "BLOCK_TOO_LARGE", "NO_SPACE",
                "UNSUPPORTED_VERSION", "UNKNOWN_OPCODE", "BAD_RANGE", "BUSY", "INTERNAL_ERROR", "FRAME_TOO_LARGE",
                "SHUTTING_DOWN", "CORRUPT"
            };
        final int[] codes =
            {
                Status.OK, Status.NOT_FOUND, Status.BAD_REQUEST, Status.HASH_MISMATCH, Status.BLOCK_TOO_LARGE,
                Status.NO_SPACE, Status.UNSUPPORTED_VERSION, Status.UNKNOWN_OPCODE, Status.BAD_RANGE, Status.BUSY,
                Status.INTERNAL_ERROR, Status.FRAME_TOO_LARGE, Status.SHUTTING_DOWN, Status.CORRUPT
            };
        for (int i = 0; i < codes.length; i++)
        {
            assertEquals(i, codes[i]);
            assertEquals(names[i], Status.name(i));
            assertTrue(Status.isValid(i));
        }
        assertFalse(Status.isValid(99));
        assertEquals("STATUS_99", Status.name(99));
    }

    @Test
    void shouldAllowOnlyDefinedFlagBits()
    {
        assertEquals(Flags.VERIFY_HASH, Flags.allowed(Opcode.PUT));
        assertEquals(Flags.RANGE, Flags.allowed(Opcode.GET));
        assertEquals(Flags.FIRST, Flags.allowed(Opcode.LIST));
        for (final int op : new int[]{ Opcode.PING, Opcode.HEAD, Opcode.DELETE, Opcode.STATS, Opcode.FIND_MISSING, 0,
            9, 0xFF })
        {
            assertEquals(0, Flags.allowed(op));
            assertTrue(Flags.isValid(op, 0));
            assertFalse(Flags.isValid(op, 1));
        }
        assertTrue(Flags.isValid(Opcode.PUT, Flags.VERIFY_HASH));
        assertFalse(Flags.isValid(Opcode.PUT, 0x0002));
        assertFalse(Flags.isValid(Opcode.GET, 0x8001));
        assertTrue(Flags.isSet(0x0003, Flags.RANGE));
        assertFalse(Flags.isSet(0x0002, Flags.RANGE));
    }

    @Test
    void shouldDeriveDefaultLimits()
    {
        assertEquals(1_048_576, Protocol.DEFAULT_MAX_BLOCK_SIZE);
        assertEquals(1_048_608, Protocol.DEFAULT_MAX_BODY_LENGTH);
        assertEquals(1_048_620, Protocol.DEFAULT_MAX_LENGTH);
        assertEquals(Protocol.DEFAULT_MAX_LENGTH, Protocol.maxLength(Protocol.DEFAULT_MAX_BLOCK_SIZE));
        assertEquals(12 + 32 + 4096, Protocol.maxLength(4096));
    }
}
