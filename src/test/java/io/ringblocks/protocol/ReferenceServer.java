package io.ringblocks.protocol;

import java.io.ByteArrayOutputStream;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;

import org.agrona.concurrent.UnsafeBuffer;

import io.ringblocks.wire.Flags;
import io.ringblocks.wire.Opcode;
import io.ringblocks.wire.Protocol;
import io.ringblocks.wire.Status;

/**
 * An in-memory model of the server's protocol behaviour built only from the codec classes, so that the spec's
 * vectors are checked byte for byte against an implementation of the README's rules before a real server exists.
 */
final class ReferenceServer
{
    /** One answer: the response bytes and whether the server closes the connection after them. */
    record Answer(byte[] response, boolean close)
    {
    }

    private final Map<String, byte[]> blocks = new HashMap<>();
    private final int maxBlockSize;
    private final RequestHeader header = new RequestHeader();

    ReferenceServer(final int maxBlockSize)
    {
        this.maxBlockSize = maxBlockSize;
    }

    /**
     * @param request one frame, just a length prefix that the server must reject without reading further, or the
     *                header of a frame that the header alone decides (its body is then skipped, section 2.3).
     */
    Answer handle(final byte[] request)
    {
        final UnsafeBuffer in = new UnsafeBuffer(request);
        final int length = FrameDecoder.frameLength(in, 0, request.length);
        if (length == FrameDecoder.INCOMPLETE)
        {
            throw new IllegalArgumentException("not even a length prefix");
        }
        final int frameStatus = FrameDecoder.check(length, Protocol.maxBodyLength(maxBlockSize));
        if (frameStatus != Status.OK)
        {
            return new Answer(response(Opcode.NONE, frameStatus, 0L, new byte[0]), true);
        }
        if (request.length < RequestHeader.HEADER_LENGTH || request.length > 4 + length)
        {
            throw new IllegalArgumentException("a vector holds one frame, or at least its header");
        }
        header.wrap(in, 0);
        final int status = RequestValidator.validate(header, header.bodyLength(), maxBlockSize);
        if (status == Status.OK && !FrameDecoder.isComplete(length, request.length))
        {
            throw new IllegalArgumentException("a valid header is answered only once its whole frame is in");
        }
        if (status == Status.UNSUPPORTED_VERSION)
        {
            return new Answer(response(Opcode.NONE, status, 0L, new byte[0]), true);
        }
        final int opcode = header.opcode();
        final long requestId = header.requestId();
        if (status != Status.OK)
        {
            return new Answer(response(opcode, status, requestId, new byte[0]), false);
        }
        final byte[] body = Arrays.copyOfRange(request, RequestHeader.HEADER_LENGTH, request.length);
        return new Answer(execute(opcode, header.flags(), requestId, body, in), false);
    }

    private byte[] execute(
        final int opcode, final int flags, final long requestId, final byte[] body, final UnsafeBuffer in)
    {
        final int bodyOffset = RequestHeader.HEADER_LENGTH;
        switch (opcode)
        {
            case Opcode.PING:
                return response(opcode, Status.OK, requestId, new byte[0]);
            case Opcode.STATS:
                return response(opcode, Status.OK, requestId,
                    ("uptime_ms 0\nblocks " + blocks.size() + "\n").getBytes(StandardCharsets.UTF_8));
            case Opcode.PUT:
            {
                final boolean verify = Flags.isSet(flags, Flags.VERIFY_HASH);
                final byte[] payload = Arrays.copyOfRange(body, verify ? Protocol.HASH_LENGTH : 0, body.length);
                final byte[] hash = sha256(payload);
                if (verify && !Arrays.equals(hash, 0, 32, body, 0, 32))
                {
                    return response(opcode, Status.HASH_MISMATCH, requestId, new byte[0]);
                }
                blocks.putIfAbsent(Hashes.toHex(hash), payload);
                return response(opcode, Status.OK, requestId, hash);
            }
            case Opcode.LIST:
                return list(flags, requestId, in, bodyOffset);
            case Opcode.FIND_MISSING:
            {
                final ByteArrayOutputStream missing = new ByteArrayOutputStream();
                for (int at = 0; at < body.length; at += Protocol.HASH_LENGTH)
                {
                    if (!blocks.containsKey(Hashes.toHex(in, bodyOffset + at)))
                    {
                        missing.write(body, at, Protocol.HASH_LENGTH);
                    }
                }
                return response(opcode, Status.OK, requestId, missing.toByteArray());
            }
            default:
                break;
        }
        final String key = Hashes.toHex(in, bodyOffset);
        final byte[] block = blocks.get(key);
        if (block == null)
        {
            return response(opcode, Status.NOT_FOUND, requestId, new byte[0]);
        }
        switch (opcode)
        {
            case Opcode.HEAD:
            {
                final byte[] out = new byte[4];
                new UnsafeBuffer(out).putInt(0, block.length, ByteOrder.LITTLE_ENDIAN);
                return response(opcode, Status.OK, requestId, out);
            }
            case Opcode.DELETE:
                blocks.remove(key);
                return response(opcode, Status.OK, requestId, new byte[0]);
            default: // GET
                if (!Flags.isSet(flags, Flags.RANGE))
                {
                    return response(opcode, Status.OK, requestId, block);
                }
                final long offset = RangeBody.offset(in, bodyOffset);
                final int length = RangeBody.length(in, bodyOffset);
                if (RangeBody.check(offset, length, block.length) != Status.OK)
                {
                    return response(opcode, Status.BAD_RANGE, requestId, new byte[0]);
                }
                final int from = (int)offset;
                return response(opcode, Status.OK, requestId,
                    Arrays.copyOfRange(block, from, from + RangeBody.resolvedLength(offset, length, block.length)));
        }
    }

    /** Section 5.7: hex keys sort like the hashes' bytes, so a TreeMap of them is hash order. */
    private byte[] list(final int flags, final long requestId, final UnsafeBuffer in, final int bodyOffset)
    {
        final int limit = ListBody.effectiveLimit(ListBody.limit(in, bodyOffset));
        final NavigableMap<String, byte[]> sorted = new TreeMap<>(blocks);
        final NavigableMap<String, byte[]> tail = Flags.isSet(flags, Flags.FIRST) ? sorted :
            sorted.tailMap(Hashes.toHex(in, bodyOffset), false);
        final ByteArrayOutputStream entries = new ByteArrayOutputStream();
        final byte[] next = new byte[Protocol.HASH_LENGTH];
        in.getBytes(bodyOffset + ListBody.AFTER_OFFSET, next);
        int visited = 0;
        for (final Map.Entry<String, byte[]> e : tail.entrySet())
        {
            if (visited == limit)
            {
                break;
            }
            final byte[] hash = HexFormat.of().parseHex(e.getKey());
            entries.writeBytes(hash);
            entries.writeBytes(new byte[]{(byte)e.getValue().length, (byte)(e.getValue().length >>> 8),
                (byte)(e.getValue().length >>> 16), (byte)(e.getValue().length >>> 24)});
            System.arraycopy(hash, 0, next, 0, hash.length);
            visited++;
        }
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(new byte[]{(byte)(visited == limit ? 1 : 0), 0, 0, 0});
        out.writeBytes(next);
        out.writeBytes(entries.toByteArray());
        return response(Opcode.LIST, Status.OK, requestId, out.toByteArray());
    }

    private static byte[] response(final int opcode, final int status, final long requestId, final byte[] body)
    {
        final byte[] out = new byte[ResponseHeader.HEADER_LENGTH + body.length];
        final UnsafeBuffer buffer = new UnsafeBuffer(out);
        final ResponseHeaderEncoder encoder = new ResponseHeaderEncoder().wrap(buffer, 0);
        encoder.encode(opcode, status, requestId, body.length);
        buffer.putBytes(encoder.bodyOffset(), body);
        return out;
    }

    static byte[] sha256(final byte[] bytes)
    {
        try
        {
            return MessageDigest.getInstance("SHA-256").digest(bytes);
        }
        catch (final NoSuchAlgorithmException ex)
        {
            throw new IllegalStateException(ex);
        }
    }
}
