package io.ringblocks.client;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;

import io.ringblocks.wire.Protocol;

/**
 * Per-operation response decoding and the mapping from status codes to exceptions. Error messages name the
 * operation and the hash, computed only on the failure path.
 */
final class Responses
{
    private Responses()
    {
    }

    /** @return the exception a non-OK status means for the described request. */
    static RingblocksException error(final int status, final String request)
    {
        final String message = request + ": " + StatusCode.name(status);
        return switch (status)
        {
            case StatusCode.NOT_FOUND -> new NotFoundException(message);
            case StatusCode.BAD_REQUEST -> new BadRequestException(message);
            case StatusCode.HASH_MISMATCH -> new HashMismatchException(message);
            case StatusCode.BLOCK_TOO_LARGE -> new BlockTooLargeException(message);
            case StatusCode.NO_SPACE -> new NoSpaceException(message);
            case StatusCode.BAD_RANGE -> new BadRangeException(message);
            case StatusCode.BUSY -> new ServerBusyException(message);
            case StatusCode.CORRUPT -> new CorruptBlockException(message);
            default -> new ServerErrorException(message, status);
        };
    }

    static Pending.Decoder<Hash> put(final Hash expected)
    {
        return (status, body) ->
        {
            if (status != StatusCode.OK)
            {
                throw error(status, expected == null ? "PUT" : "PUT " + expected);
            }
            expectLength("PUT", body, Hash.LENGTH);
            final Hash hash = Hash.wrap(body);
            if (expected != null && !expected.equals(hash))
            {
                throw new IntegrityException("PUT verified against " + expected + " but the server answered " + hash);
            }
            return hash;
        };
    }

    static Pending.Decoder<byte[]> get(final Hash hash, final boolean verify)
    {
        return (status, body) ->
        {
            if (status != StatusCode.OK)
            {
                throw error(status, "GET " + hash);
            }
            if (verify && !hash.matches(body))
            {
                throw new IntegrityException("GET " + hash + ": the " + body.length +
                    " bytes received hash to " + Hash.of(body));
            }
            return body;
        };
    }

    static Pending.Decoder<byte[]> getRange(final Hash hash, final long offset, final int length)
    {
        return (status, body) ->
        {
            if (status != StatusCode.OK)
            {
                throw error(status, "GET " + hash + " range " + offset + "+" + length);
            }
            if ((length != 0 && body.length != length) || body.length == 0)
            {
                throw new ProtocolException("GET " + hash + " range " + offset + "+" + length + " returned " +
                    body.length + " bytes");
            }
            return body;
        };
    }

    static Pending.Decoder<OptionalInt> head(final Hash hash)
    {
        return (status, body) ->
        {
            if (status == StatusCode.NOT_FOUND)
            {
                return OptionalInt.empty();
            }
            if (status != StatusCode.OK)
            {
                throw error(status, "HEAD " + hash);
            }
            expectLength("HEAD", body, Wire.HEAD_BODY_LENGTH);
            final long length = Wire.getUnsignedInt(body, 0);
            if (length > Integer.MAX_VALUE)
            {
                throw new ProtocolException("HEAD " + hash + ": block length " + length + " exceeds an int");
            }
            return OptionalInt.of((int)length);
        };
    }

    static Pending.Decoder<Boolean> delete(final Hash hash)
    {
        return (status, body) ->
        {
            if (status == StatusCode.NOT_FOUND)
            {
                return Boolean.FALSE;
            }
            if (status != StatusCode.OK)
            {
                throw error(status, "DELETE " + hash);
            }
            return Boolean.TRUE;
        };
    }

    /**
     * @param after        the request's cursor, null for the first page: every entry must lie beyond it.
     * @param limit        the request's page size: no page holds more.
     */
    static Pending.Decoder<ListPage> list(final Hash after, final int limit)
    {
        final byte[] cursor = after == null ? null : after.bytes();
        return (status, body) ->
        {
            if (status != StatusCode.OK)
            {
                throw error(status, "LIST");
            }
            if (body.length < Wire.LIST_HEADER || (body.length - Wire.LIST_HEADER) % Wire.LIST_ENTRY != 0)
            {
                throw new ProtocolException("LIST: response body of " + body.length + " bytes");
            }
            final int n = (body.length - Wire.LIST_HEADER) / Wire.LIST_ENTRY;
            if (n > limit)
            {
                throw new ProtocolException("LIST: " + n + " entries in a page of at most " + limit);
            }
            final List<ListPage.Entry> entries = new ArrayList<>(n);
            for (int i = 0; i < n; i++)
            {
                final int at = Wire.LIST_HEADER + i * Wire.LIST_ENTRY;
                final long length = Wire.getUnsignedInt(body, at + Protocol.LIST_ENTRY_LENGTH_OFFSET);
                if (length < 1 || length > Protocol.MAX_BLOCK_SIZE) // whatever this client's own limit
                {
                    throw new ProtocolException("LIST: entry " + i + " names a block of " + length + " bytes");
                }
                // Ascending, beyond the cursor: a listing that goes back or repeats would loop or double count.
                final boolean ascends = i == 0 ? cursor == null ||
                    Arrays.compareUnsigned(body, at, at + Hash.LENGTH, cursor, 0, Hash.LENGTH) > 0 :
                    Arrays.compareUnsigned(body, at, at + Hash.LENGTH, body, at - Wire.LIST_ENTRY,
                        at - Wire.LIST_ENTRY + Hash.LENGTH) > 0;
                if (!ascends)
                {
                    throw new ProtocolException("LIST: entry " + i + " is not beyond the one before it");
                }
                entries.add(new ListPage.Entry(Hash.fromBytes(Arrays.copyOfRange(body, at, at + Hash.LENGTH)),
                    (int)length));
            }
            final boolean more = Wire.getUnsignedInt(body, Protocol.LIST_MORE_OFFSET) != 0;
            if (more)
            {
                checkNextCursor(body, cursor, n);
            }
            return new ListPage(List.copyOf(entries), more, Hash.fromBytes(
                Arrays.copyOfRange(body, Protocol.LIST_NEXT_OFFSET, Protocol.LIST_NEXT_OFFSET + Hash.LENGTH)));
        };
    }

    /**
     * A page that goes on must move the cursor forward, past the request's and not before its own last entry (the
     * server's next is the last hash it looked at): otherwise {@code while (page.more())} would ask for the same
     * page, or go back, for ever.
     */
    private static void checkNextCursor(final byte[] body, final byte[] after, final int entries)
    {
        final int next = Protocol.LIST_NEXT_OFFSET;
        if (after != null && Arrays.compareUnsigned(body, next, next + Hash.LENGTH, after, 0, Hash.LENGTH) <= 0)
        {
            throw new ProtocolException("LIST: more follows, but the next cursor is not beyond the request's");
        }
        final int last = Wire.LIST_HEADER + (entries - 1) * Wire.LIST_ENTRY;
        if (entries > 0 && Arrays.compareUnsigned(body, next, next + Hash.LENGTH, body, last, last + Hash.LENGTH) < 0)
        {
            throw new ProtocolException("LIST: more follows, but the next cursor lies before the page's last entry");
        }
    }

    /**
     * @param requested the hashes asked about, in request order: the answer must be some of them, in that order (an
     *                  answer naming a hash never asked about would report a stored block missing, or hide a missing
     *                  one behind it).
     */
    static Pending.Decoder<List<Hash>> findMissing(final List<Hash> requested)
    {
        return (status, body) ->
        {
            if (status != StatusCode.OK)
            {
                throw error(status, "FIND_MISSING");
            }
            if (body.length % Hash.LENGTH != 0)
            {
                throw new ProtocolException("FIND_MISSING: response body of " + body.length + " bytes");
            }
            final List<Hash> missing = new ArrayList<>(body.length / Hash.LENGTH);
            int next = 0;
            for (int at = 0; at < body.length; at += Hash.LENGTH)
            {
                final Hash hash = Hash.fromBytes(Arrays.copyOfRange(body, at, at + Hash.LENGTH));
                while (next < requested.size() && !requested.get(next).equals(hash))
                {
                    next++;
                }
                if (next == requested.size())
                {
                    throw new ProtocolException("FIND_MISSING: the answer names " + hash +
                        ", not one of the hashes asked about in their order");
                }
                next++;
                missing.add(hash);
            }
            return missing;
        };
    }

    static Pending.Decoder<Map<String, Long>> stats()
    {
        return (status, body) ->
        {
            if (status != StatusCode.OK)
            {
                throw error(status, "STATS");
            }
            return parseStats(new String(body, StandardCharsets.UTF_8));
        };
    }

    /**
     * Parses {@code name value\n} lines in order. Lines that do not have that shape are skipped rather than
     * failing the call: the metric set is explicitly not part of the protocol, so a newer server's additions
     * must not break an older client.
     */
    static Map<String, Long> parseStats(final String text)
    {
        final Map<String, Long> stats = new LinkedHashMap<>();
        for (final String line : text.split("\n"))
        {
            final int space = line.indexOf(' ');
            if (space <= 0 || space != line.lastIndexOf(' '))
            {
                continue;
            }
            try
            {
                stats.put(line.substring(0, space), Long.parseLong(line.substring(space + 1)));
            }
            catch (final NumberFormatException ex)
            {
                // Not a decimal value this client can represent: ignore the line, see above.
            }
        }
        return Collections.unmodifiableMap(stats);
    }

    private static void expectLength(final String operation, final byte[] body, final int length)
    {
        if (body.length != length)
        {
            throw new ProtocolException(operation + " response body is " + body.length + " bytes, expected " + length);
        }
    }
}
