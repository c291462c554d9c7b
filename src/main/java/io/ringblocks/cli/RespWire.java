package io.ringblocks.cli;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * RESP2, the Redis protocol, for the same workload: a block is stored under its SHA-256 as 64 lowercase hex
 * characters — the address ringblocks would return — so both servers key, store and answer the same bytes.
 * <pre>
 *  PUT:  *3\r\n $3\r\n SET\r\n $64\r\n &lt;64 hex key&gt;\r\n $&lt;size&gt;\r\n &lt;block&gt;\r\n
 *  GET:  *2\r\n $3\r\n GET\r\n $64\r\n &lt;64 hex key&gt;\r\n
 *  DEL:  *2\r\n $3\r\n DEL\r\n $64\r\n &lt;64 hex key&gt;\r\n
 *  replies:  +OK\r\n | -ERR text\r\n | :n\r\n | $&lt;len&gt;\r\n &lt;len bytes&gt;\r\n | $-1\r\n (no such key)
 * </pre>
 * RESP has no request ids: replies come back in request order. Lengths are validated against the buffer before
 * any byte of a body is read.
 */
final class RespWire implements Wire
{
    static final RespWire INSTANCE = new RespWire();

    /** The reply is an error ({@code -ERR ...}); its text is the body. */
    static final int ERROR_REPLY = 1;
    /** A null bulk string ({@code $-1}): GET of a key that is not there. */
    static final int NULL_REPLY = 2;
    /** A simple string other than OK; its text is the body. */
    static final int OTHER_STATUS = 3;

    private static final byte[] SET_PREFIX = ascii("*3\r\n$3\r\nSET\r\n$64\r\n");
    private static final byte[] GET_PREFIX = ascii("*2\r\n$3\r\nGET\r\n$64\r\n");
    private static final byte[] DEL_PREFIX = ascii("*2\r\n$3\r\nDEL\r\n$64\r\n");
    private static final byte[] HEX = ascii("0123456789abcdef");
    private static final int KEY_LENGTH = 32;
    private static final int CRLF = 2;
    /** "$" + at most 10 digits + CRLF. */
    private static final int MAX_LENGTH_LINE = 13;
    /** A line (status, error, integer, bulk length) longer than this is not Redis talking. */
    private static final int MAX_LINE = 4096;

    private RespWire()
    {
    }

    private static byte[] ascii(final String text)
    {
        return text.getBytes(StandardCharsets.US_ASCII);
    }

    @Override
    public int maxRequestLength(final int size)
    {
        return SET_PREFIX.length + 2 * KEY_LENGTH + CRLF + MAX_LENGTH_LINE + size + CRLF;
    }

    @Override
    public boolean putNeedsKey()
    {
        return true;
    }

    @Override
    public boolean ordered()
    {
        return true;
    }

    @Override
    public void put(final ByteBuffer out, final long id, final byte[] block, final byte[] unique,
        final int uniqueLength, final byte[] key)
    {
        final int len = block.length;
        command(out, SET_PREFIX, key);
        out.put((byte)'$');
        putDecimal(out, len);
        crlf(out);
        out.put(block, 0, len - uniqueLength).put(unique, 0, uniqueLength);
        crlf(out);
    }

    @Override
    public void get(final ByteBuffer out, final long id, final byte[] key)
    {
        command(out, GET_PREFIX, key);
    }

    @Override
    public void delete(final ByteBuffer out, final long id, final byte[] key)
    {
        command(out, DEL_PREFIX, key);
    }

    private static void command(final ByteBuffer out, final byte[] prefix, final byte[] key)
    {
        out.put(prefix);
        for (int i = 0; i < KEY_LENGTH; i++)
        {
            out.put(HEX[(key[i] >>> 4) & 0xF]).put(HEX[key[i] & 0xF]);
        }
        crlf(out);
    }

    private static void crlf(final ByteBuffer out)
    {
        out.put((byte)'\r').put((byte)'\n');
    }

    /** Writes a non-negative int in decimal ASCII. */
    static void putDecimal(final ByteBuffer out, final int value)
    {
        int digits = 1;
        for (int v = value; v >= 10; v /= 10)
        {
            digits++;
        }
        final int at = out.position();
        int v = value;
        for (int i = digits - 1; i >= 0; i--)
        {
            out.put(at + i, (byte)('0' + v % 10));
            v /= 10;
        }
        out.position(at + digits);
    }

    @Override
    public boolean decode(final ByteBuffer in, final Reply reply) throws IOException
    {
        final int start = in.position();
        final int lineEnd = lineEnd(in, start);
        if (lineEnd < 0)
        {
            return false;
        }
        reply.slot = -1;
        reply.bodyOffset = start + 1;
        reply.bodyLength = lineEnd - start - 1;
        reply.length = lineEnd + CRLF - start;
        final byte type = in.get(start);
        switch (type)
        {
            case '+' -> reply.status = reply.bodyLength == 2 && in.get(start + 1) == 'O' && in.get(start + 2) == 'K' ?
                Reply.OK : OTHER_STATUS;
            case '-' -> reply.status = ERROR_REPLY;
            case ':' -> reply.status = Reply.OK;
            case '$' ->
            {
                final long length = parseLength(in, start + 1, lineEnd);
                if (length == -1)
                {
                    reply.status = NULL_REPLY;
                    reply.bodyLength = 0;
                    return true;
                }
                final int header = lineEnd + CRLF - start;
                if (length < 0 || length > in.capacity() - header - CRLF)
                {
                    throw new IOException("RESP bulk string of impossible length " + length);
                }
                if (in.limit() - start < header + length + CRLF)
                {
                    return false;
                }
                final int end = start + header + (int)length;
                if (in.get(end) != '\r' || in.get(end + 1) != '\n')
                {
                    throw new IOException("RESP bulk string of " + length + " bytes not followed by CRLF");
                }
                reply.status = Reply.OK;
                reply.bodyOffset = start + header;
                reply.bodyLength = (int)length;
                reply.length = header + (int)length + CRLF;
            }
            default -> throw new IOException("unexpected RESP reply type '" + (char)(type & 0xFF) + "'");
        }
        return true;
    }

    /** @return the index of the CR of the line starting at {@code start}, or -1 if its CRLF has not arrived. */
    private static int lineEnd(final ByteBuffer in, final int start) throws IOException
    {
        final int limit = Math.min(in.limit() - 1, start + MAX_LINE);
        for (int i = start; i < limit; i++)
        {
            if (in.get(i) == '\r' && in.get(i + 1) == '\n')
            {
                return i;
            }
        }
        if (in.limit() - start > MAX_LINE)
        {
            throw new IOException("RESP line longer than " + MAX_LINE + " bytes");
        }
        return -1;
    }

    /** @return the signed decimal in {@code [from, to)}; throws if it is not one or has more than 10 digits. */
    private static long parseLength(final ByteBuffer in, final int from, final int to) throws IOException
    {
        final boolean negative = to > from && in.get(from) == '-';
        final int first = negative ? from + 1 : from;
        if (first == to || to - first > 10)
        {
            throw new IOException("RESP bulk length is not a number");
        }
        long value = 0;
        for (int i = first; i < to; i++)
        {
            final int d = in.get(i) - '0';
            if (d < 0 || d > 9)
            {
                throw new IOException("RESP bulk length is not a number");
            }
            value = 10 * value + d;
        }
        return negative ? -value : value;
    }

    @Override
    public void describe(final ByteBuffer in, final Reply reply, final StringBuilder out)
    {
        if (reply.status == NULL_REPLY)
        {
            out.append("nil reply (no such key)");
            return;
        }
        out.append(reply.status == ERROR_REPLY ? "error reply: " : "unexpected reply: ");
        for (int i = 0; i < Math.min(reply.bodyLength, 200); i++)
        {
            out.append((char)(in.get(reply.bodyOffset + i) & 0xFF));
        }
    }
}
