package io.ringblocks.server;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A raw-socket protocol client for end-to-end tests: builds frames byte by byte (no client library, no server
 * classes) and reads responses whole.
 */
final class RawClient implements AutoCloseable
{
    /** A decoded response frame. */
    record Response(int opcode, int status, long requestId, byte[] body)
    {
    }

    final Socket socket;
    private final DataInputStream in;
    private final OutputStream out;

    RawClient(final int port) throws IOException
    {
        this(port, 0);
    }

    /** @param receiveBuffer SO_RCVBUF set before connecting (bounds what the server can push ahead), 0 = default. */
    RawClient(final int port, final int receiveBuffer) throws IOException
    {
        socket = new Socket();
        if (receiveBuffer > 0)
        {
            socket.setReceiveBufferSize(receiveBuffer);
        }
        socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
        socket.setSoTimeout(20_000);
        socket.setTcpNoDelay(true);
        in = new DataInputStream(socket.getInputStream());
        out = socket.getOutputStream();
    }

    static byte[] frame(final int version, final int opcode, final int flags, final long requestId, final byte[] body)
    {
        final ByteBuffer b = ByteBuffer.allocate(16 + body.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(12 + body.length).put((byte)version).put((byte)opcode).putShort((short)flags).putLong(requestId);
        b.put(body);
        return b.array();
    }

    static byte[] concat(final byte[]... parts)
    {
        int n = 0;
        for (final byte[] p : parts)
        {
            n += p.length;
        }
        final ByteBuffer b = ByteBuffer.allocate(n);
        for (final byte[] p : parts)
        {
            b.put(p);
        }
        return b.array();
    }

    static byte[] range(final byte[] hash, final long offset, final int length)
    {
        return ByteBuffer.allocate(44).order(ByteOrder.LITTLE_ENDIAN).put(hash).putLong(offset).putInt(length).array();
    }

    void send(final byte[] bytes) throws IOException
    {
        out.write(bytes);
        out.flush();
    }

    void send(final int opcode, final int flags, final long requestId, final byte[] body) throws IOException
    {
        send(frame(1, opcode, flags, requestId, body));
    }

    Response read() throws IOException
    {
        final byte[] head = new byte[16];
        in.readFully(head);
        final ByteBuffer h = ByteBuffer.wrap(head).order(ByteOrder.LITTLE_ENDIAN);
        final int length = h.getInt();
        final int version = h.get();
        if (version != 1 || length < 12)
        {
            throw new IOException("bad response header: length " + length + " version " + version);
        }
        final int opcode = h.get() & 0xFF;
        final int status = h.getShort() & 0xFFFF;
        final long id = h.getLong();
        final byte[] body = new byte[length - 12];
        in.readFully(body);
        return new Response(opcode, status, id, body);
    }

    /**
     * Reads the answers to {@code count} pipelined requests with ids 0..count-1, in whatever order they come.
     *
     * @return the answers by request id.
     * @throws IOException on an id out of range or answered twice, as on a broken stream.
     */
    Response[] readAnswers(final int count) throws IOException
    {
        final Response[] answers = new Response[count];
        for (int i = 0; i < count; i++)
        {
            final Response answer = read();
            final long id = answer.requestId();
            if (id < 0 || id >= count || answers[(int)id] != null)
            {
                throw new IOException("answer " + i + " has request id " + id + ": out of range or answered twice");
            }
            answers[(int)id] = answer;
        }
        return answers;
    }

    Response call(final int opcode, final int flags, final long requestId, final byte[] body) throws IOException
    {
        send(opcode, flags, requestId, body);
        return read();
    }

    /** @return true when the server closed the connection (EOF or reset) within the socket timeout. */
    boolean closedByServer()
    {
        try
        {
            return in.read() < 0;
        }
        catch (final EOFException e)
        {
            return true;
        }
        catch (final IOException e)
        {
            return !e.getMessage().contains("timed out");
        }
    }

    @Override
    public void close() throws IOException
    {
        socket.close();
    }
}
