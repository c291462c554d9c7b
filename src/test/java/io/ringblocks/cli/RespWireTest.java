package io.ringblocks.cli;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RespWireTest
{
    private static final byte[] KEY = HexFormat.of().parseHex(
        "00ff10a5" + "0123456789abcdef".repeat(3) + "deadbeef");

    private static String written(final ByteBuffer out)
    {
        return new String(out.array(), 0, out.position(), StandardCharsets.ISO_8859_1);
    }

    /** The text at the start of a receive buffer with room to spare, as the load generator decodes it. */
    private static ByteBuffer bytes(final String text)
    {
        return ByteBuffer.allocate(1024).put(text.getBytes(StandardCharsets.ISO_8859_1)).flip();
    }

    @Test
    void shouldEncodeSetWithTheHexKeyAndTheBlockWithItsUniqueTail()
    {
        final ByteBuffer out = ByteBuffer.allocate(RespWire.INSTANCE.maxRequestLength(12));
        RespWire.INSTANCE.put(out, 99, "hello world!".getBytes(StandardCharsets.US_ASCII),
            "ABCDEFGH".getBytes(StandardCharsets.US_ASCII), 8, KEY);
        assertEquals("*3\r\n$3\r\nSET\r\n$64\r\n" + HexFormat.of().formatHex(KEY) + "\r\n$12\r\nhellABCDEFGH\r\n",
            written(out));
        assertTrue(out.position() <= out.capacity());
    }

    @Test
    void shouldEncodeGetAndDelete()
    {
        final ByteBuffer out = ByteBuffer.allocate(256);
        RespWire.INSTANCE.get(out, 1, KEY);
        RespWire.INSTANCE.delete(out, 2, KEY);
        final String hex = HexFormat.of().formatHex(KEY);
        assertEquals("*2\r\n$3\r\nGET\r\n$64\r\n" + hex + "\r\n*2\r\n$3\r\nDEL\r\n$64\r\n" + hex + "\r\n",
            written(out));
    }

    @Test
    void shouldWriteDecimalLengths()
    {
        for (final int value : new int[] {0, 7, 10, 99, 4096, 524288, Integer.MAX_VALUE})
        {
            final ByteBuffer out = ByteBuffer.allocate(16);
            RespWire.putDecimal(out, value);
            assertEquals(Integer.toString(value), written(out));
        }
    }

    @Test
    void shouldDecodeEachReplyTypeOnlyOnceItHasArrivedWhole() throws IOException
    {
        final String[] replies = {"+OK\r\n", "-ERR wrong number of arguments\r\n", ":1\r\n", "$5\r\nhe\r\no\r\n",
            "$-1\r\n", "+QUEUED\r\n", "$0\r\n\r\n"};
        final int[] statuses = {Wire.Reply.OK, RespWire.ERROR_REPLY, Wire.Reply.OK, Wire.Reply.OK,
            RespWire.NULL_REPLY, RespWire.OTHER_STATUS, Wire.Reply.OK};
        final Wire.Reply reply = new Wire.Reply();
        for (int i = 0; i < replies.length; i++)
        {
            final String text = replies[i] + "+OK\r\n"; // the next reply must not be swallowed
            for (int cut = 0; cut < replies[i].length(); cut++)
            {
                assertFalse(RespWire.INSTANCE.decode(bytes(replies[i].substring(0, cut)), reply), replies[i] + cut);
            }
            final ByteBuffer in = bytes(text);
            assertTrue(RespWire.INSTANCE.decode(in, reply), replies[i]);
            assertEquals(statuses[i], reply.status, replies[i]);
            assertEquals(replies[i].length(), reply.length, replies[i]);
            assertEquals(-1, reply.slot);
            assertEquals(0, in.position(), "decode leaves the buffer where it was");
        }
        final Wire.Reply bulk = new Wire.Reply();
        final ByteBuffer in = bytes("xx$5\r\nhe\r\no\r\n");
        in.position(2);
        assertTrue(RespWire.INSTANCE.decode(in, bulk));
        assertEquals("he\r\no", new String(in.array(), bulk.bodyOffset, bulk.bodyLength, StandardCharsets.US_ASCII));
        final StringBuilder why = new StringBuilder();
        final ByteBuffer error = bytes("-ERR no\r\n");
        RespWire.INSTANCE.decode(error, bulk);
        RespWire.INSTANCE.describe(error, bulk, why);
        assertEquals("error reply: ERR no", why.toString());
    }

    @Test
    void shouldRefuseWhatIsNotARespReply()
    {
        final Wire.Reply reply = new Wire.Reply();
        for (final String bad : new String[] {"*1\r\n", "$abc\r\n", "$-5\r\n", "$\r\n", "$99999999999\r\n",
            "$3\r\nabcXY", "hello\r\n", "$2000\r\n"})
        {
            assertThrows(IOException.class, () -> RespWire.INSTANCE.decode(bytes(bad), reply), bad);
        }
        final ByteBuffer endless = ByteBuffer.allocate(8192);
        endless.put((byte)'+').position(endless.capacity()).flip();
        assertThrows(IOException.class, () -> RespWire.INSTANCE.decode(endless, reply), "a line without an end");
    }
}
