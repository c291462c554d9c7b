package io.ringblocks.cli;

import java.io.IOException;
import java.nio.ByteBuffer;

import io.ringblocks.protocol.RequestHeader;
import io.ringblocks.protocol.ResponseHeader;
import io.ringblocks.wire.Opcode;
import io.ringblocks.wire.Protocol;
import io.ringblocks.wire.Status;

/**
 * The ringblocks protocol for the load generator (protocol-spec/README.md); little-endian, buffers in that order.
 * <pre>
 *  request:  | length u32 | version u8 = 1 | opcode u8 | flags u16 = 0  | request id u64 | body (block or hash) |
 *  reply:    | length u32 | version u8     | opcode u8 | status u16     | request id u64 | body (block or hash) |
 *             0            4                5           6                8                16
 * </pre>
 * The request id carries the pipeline slot in its low 16 bits, so replies may come back in any order.
 */
final class RingblocksWire implements Wire
{
    static final RingblocksWire INSTANCE = new RingblocksWire();

    private static final int SLOT_MASK = 0xFFFF;

    private RingblocksWire()
    {
    }

    @Override
    public int maxRequestLength(final int size)
    {
        return RequestHeader.HEADER_LENGTH + Protocol.HASH_LENGTH + size;
    }

    @Override
    public boolean putNeedsKey()
    {
        return false;
    }

    @Override
    public boolean ordered()
    {
        return false;
    }

    @Override
    public void put(final ByteBuffer out, final long id, final byte[] block, final byte[] unique,
        final int uniqueLength, final byte[] key)
    {
        final int len = block.length;
        header(out, Protocol.MIN_LENGTH + len, Opcode.PUT, id);
        out.put(block, 0, len - uniqueLength).put(unique, 0, uniqueLength);
    }

    @Override
    public void get(final ByteBuffer out, final long id, final byte[] key)
    {
        header(out, Protocol.MIN_LENGTH + Protocol.HASH_LENGTH, Opcode.GET, id);
        out.put(key, 0, Protocol.HASH_LENGTH);
    }

    @Override
    public void delete(final ByteBuffer out, final long id, final byte[] key)
    {
        header(out, Protocol.MIN_LENGTH + Protocol.HASH_LENGTH, Opcode.DELETE, id);
        out.put(key, 0, Protocol.HASH_LENGTH);
    }

    private static void header(final ByteBuffer out, final int length, final int opcode, final long id)
    {
        out.putInt(length).put((byte)Protocol.VERSION).put((byte)opcode).putShort((short)0).putLong(id);
    }

    @Override
    public boolean decode(final ByteBuffer in, final Reply reply) throws IOException
    {
        final int start = in.position();
        if (in.remaining() < ResponseHeader.HEADER_LENGTH)
        {
            return false;
        }
        final int length = in.getInt(start + ResponseHeader.LENGTH_OFFSET);
        if (length < Protocol.MIN_LENGTH || length > in.capacity() - Protocol.LENGTH_FIELD_LENGTH)
        {
            throw new IOException("reply with impossible length " + Integer.toUnsignedString(length));
        }
        if (in.remaining() < Protocol.LENGTH_FIELD_LENGTH + length)
        {
            return false;
        }
        reply.length = Protocol.LENGTH_FIELD_LENGTH + length;
        reply.status = in.getShort(start + ResponseHeader.STATUS_OFFSET) & 0xFFFF;
        reply.slot = (int)(in.getLong(start + ResponseHeader.REQUEST_ID_OFFSET) & SLOT_MASK);
        reply.bodyOffset = start + ResponseHeader.HEADER_LENGTH;
        reply.bodyLength = length - Protocol.MIN_LENGTH;
        return true;
    }

    @Override
    public void describe(final ByteBuffer in, final Reply reply, final StringBuilder out)
    {
        out.append("status ").append(Status.name(reply.status));
    }
}
