package io.ringblocks.protocol;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Parser for {@code protocol-spec/vectors.txt}, public so that both the codec tests and the server's end-to-end
 * test replay the same file. Not on the request path.
 * <p>
 * Format: {@code #} comments and blank lines are ignored; every other line is {@code key: value}. A vector starts
 * with {@code name:} and has one {@code send:} (request bytes as hex) and either {@code expect:} (the exact response
 * bytes as hex) or {@code expect-status:} (the response's two status bytes as hex, for responses whose body varies;
 * then only the header fields are checked). An optional {@code expect-close: true} says the server closes the
 * connection after that response. An optional {@code then-send-zeros: N} says {@code send} held only the start of
 * a frame that the server answers from its header: after reading the response the runner sends the remaining
 * {@code N} body bytes (zeros), which the server skips. A line {@code connection: new} before a vector's {@code name:} says the vector
 * runs on a fresh connection; the first vector always does. Vectors run in file order, one at a time, each
 * response read before the next request is sent.
 */
public final class TestVectors
{
    /** No expected status: the vector gives exact {@link Vector#expect() bytes} instead. */
    public static final int NO_STATUS = -1;

    /**
     * One request/response exchange.
     *
     * @param line          1-based line of its {@code name:} in the file, for failure messages.
     * @param name          unique name.
     * @param newConnection true if the runner must open a new connection before sending it.
     * @param send          the request bytes.
     * @param expect        the exact response bytes, or null when only {@code expectStatus} is given.
     * @param expectStatus  the expected status when {@code expect} is null, else {@link #NO_STATUS}.
     * @param expectClose   true if the server closes the connection after its response.
     * @param thenSendZeros body bytes (zeros) to send after the response was read: the rest of the frame; 0 if none.
     */
    public record Vector(
        int line, String name, boolean newConnection, byte[] send, byte[] expect, int expectStatus,
        boolean expectClose, int thenSendZeros)
    {
    }

    private TestVectors()
    {
    }

    /** @return the vectors of the file at {@code path}, in file order. */
    public static List<Vector> parse(final Path path) throws IOException
    {
        return parse(Files.readAllLines(path, StandardCharsets.UTF_8));
    }

    /**
     * @param lines the file's lines.
     * @return the vectors, in order.
     * @throws IllegalArgumentException naming the line, on any malformed or incomplete vector.
     */
    public static List<Vector> parse(final List<String> lines)
    {
        final List<Vector> vectors = new ArrayList<>();
        final Builder current = new Builder();
        boolean pendingNewConnection = true;
        for (int i = 0; i < lines.size(); i++)
        {
            final int lineNo = i + 1;
            final String line = lines.get(i).strip();
            if (line.isEmpty() || line.startsWith("#"))
            {
                continue;
            }
            final int colon = line.indexOf(':');
            if (colon < 0)
            {
                throw new IllegalArgumentException("line " + lineNo + ": expected 'key: value': " + line);
            }
            final String key = line.substring(0, colon).strip();
            final String value = line.substring(colon + 1).strip();
            switch (key)
            {
                case "connection" ->
                {
                    if (!value.equals("new"))
                    {
                        throw new IllegalArgumentException("line " + lineNo + ": only 'connection: new' exists");
                    }
                    current.finish(vectors);
                    pendingNewConnection = true;
                }
                case "name" ->
                {
                    current.finish(vectors);
                    for (final Vector v : vectors)
                    {
                        if (v.name().equals(value))
                        {
                            throw new IllegalArgumentException("line " + lineNo + ": duplicate name " + value);
                        }
                    }
                    current.start(lineNo, value, pendingNewConnection);
                    pendingNewConnection = false;
                }
                case "send" -> current.send = current.once(current.send, fromHex(value, lineNo), key, lineNo);
                case "expect" -> current.expect = current.once(current.expect, fromHex(value, lineNo), key, lineNo);
                case "expect-status" ->
                {
                    final byte[] status = current.once(current.status, fromHex(value, lineNo), key, lineNo);
                    if (status.length != 2)
                    {
                        throw new IllegalArgumentException("line " + lineNo + ": expect-status is 2 bytes of hex");
                    }
                    current.status = status;
                }
                case "expect-close" ->
                {
                    current.requireStarted(key, lineNo);
                    if (!value.equals("true"))
                    {
                        throw new IllegalArgumentException("line " + lineNo + ": only 'expect-close: true' exists");
                    }
                    current.close = true;
                }
                case "then-send-zeros" ->
                {
                    current.requireStarted(key, lineNo);
                    if (current.zeros != 0)
                    {
                        throw new IllegalArgumentException("line " + lineNo + ": second " + key);
                    }
                    try
                    {
                        current.zeros = Integer.parseInt(value);
                    }
                    catch (final NumberFormatException e)
                    {
                        throw new IllegalArgumentException("line " + lineNo + ": " + key + " needs a count", e);
                    }
                    if (current.zeros < 1)
                    {
                        throw new IllegalArgumentException("line " + lineNo + ": " + key + " must be >= 1");
                    }
                }
                default -> throw new IllegalArgumentException("line " + lineNo + ": unknown key " + key);
            }
        }
        current.finish(vectors);
        if (pendingNewConnection && !vectors.isEmpty())
        {
            throw new IllegalArgumentException("'connection: new' at the end of the file starts no vector");
        }
        return List.copyOf(vectors);
    }

    /**
     * @param hex an even number of hex digits, no separators (either case).
     * @return the bytes.
     */
    public static byte[] fromHex(final String hex)
    {
        return fromHex(hex, 0);
    }

    /** @return lower-case hex of {@code bytes}, for messages. */
    public static String toHex(final byte[] bytes)
    {
        return java.util.HexFormat.of().formatHex(bytes);
    }

    private static byte[] fromHex(final String hex, final int lineNo)
    {
        try
        {
            return java.util.HexFormat.of().parseHex(hex);
        }
        catch (final IllegalArgumentException e)
        {
            throw new IllegalArgumentException("line " + lineNo + ": " + e.getMessage(), e);
        }
    }

    private static final class Builder
    {
        private int line;
        private String name;
        private boolean newConnection;
        private byte[] send;
        private byte[] expect;
        private byte[] status;
        private boolean close;
        private int zeros;

        void start(final int line, final String name, final boolean newConnection)
        {
            if (name.isEmpty())
            {
                throw new IllegalArgumentException("line " + line + ": empty name");
            }
            this.line = line;
            this.name = name;
            this.newConnection = newConnection;
        }

        void requireStarted(final String key, final int lineNo)
        {
            if (name == null)
            {
                throw new IllegalArgumentException("line " + lineNo + ": " + key + " before any name:");
            }
        }

        byte[] once(final byte[] existing, final byte[] value, final String key, final int lineNo)
        {
            requireStarted(key, lineNo);
            if (existing != null)
            {
                throw new IllegalArgumentException("line " + lineNo + ": second " + key + " in vector " + name);
            }
            return value;
        }

        void finish(final List<Vector> vectors)
        {
            if (name == null)
            {
                return;
            }
            if (send == null || send.length == 0)
            {
                throw new IllegalArgumentException("line " + line + ": vector " + name + " has no send:");
            }
            if ((expect == null) == (status == null))
            {
                throw new IllegalArgumentException(
                    "line " + line + ": vector " + name + " needs exactly one of expect: and expect-status:");
            }
            final int expectStatus = status == null ? NO_STATUS : (status[0] & 0xFF) | (status[1] & 0xFF) << 8;
            vectors.add(new Vector(line, name, newConnection, send, expect, expectStatus, close, zeros));
            name = null;
            send = null;
            expect = null;
            status = null;
            close = false;
            zeros = 0;
        }
    }
}
