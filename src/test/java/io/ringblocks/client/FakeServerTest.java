package io.ringblocks.client;

import java.io.DataInputStream;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.util.Arrays;
import java.util.HexFormat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The client tests trust the fake, so the fake is first held to every vector of the spec. */
@Timeout(20)
class FakeServerTest
{
    @Test
    void shouldAnswerEverySpecVectorByteForByte() throws Exception
    {
        final HexFormat hex = HexFormat.of();
        try (FakeServer server = new FakeServer())
        {
            Socket socket = null;
            int checked = 0;
            try
            {
                for (final SpecVectors.Vector vector : SpecVectors.load())
                {
                    if (socket == null || vector.newConnection())
                    {
                        if (socket != null)
                        {
                            socket.close();
                        }
                        socket = new Socket();
                        socket.connect(new InetSocketAddress("127.0.0.1", server.port()), 2000);
                        socket.setSoTimeout(5000);
                    }
                    socket.getOutputStream().write(vector.send());
                    final DataInputStream in = new DataInputStream(socket.getInputStream());
                    final byte[] header = new byte[16];
                    in.readFully(header);
                    final int length = (header[0] & 0xFF) | (header[1] & 0xFF) << 8 | (header[2] & 0xFF) << 16;
                    final byte[] response = Arrays.copyOf(header, 4 + length);
                    in.readFully(response, 16, length - 12);
                    if (vector.expect() != null)
                    {
                        assertEquals(hex.formatHex(vector.expect()), hex.formatHex(response), vector.name());
                    }
                    else
                    {
                        assertEquals(hex.formatHex(vector.expectStatus()), hex.formatHex(response, 6, 8),
                            vector.name());
                        assertEquals(hex.formatHex(vector.send(), 4, 6), hex.formatHex(response, 4, 6));
                        assertEquals(hex.formatHex(vector.send(), 8, 16), hex.formatHex(response, 8, 16));
                    }
                    if (vector.thenSendZeros() > 0)
                    {
                        socket.getOutputStream().write(new byte[vector.thenSendZeros()]);
                    }
                    if (vector.expectClose())
                    {
                        assertTrue(closed(socket.getInputStream()), vector.name());
                    }
                    checked++;
                }
            }
            finally
            {
                if (socket != null)
                {
                    socket.close();
                }
            }
            assertTrue(checked >= 40, "vectors checked: " + checked);
        }
    }

    private static boolean closed(final InputStream in) throws Exception
    {
        try
        {
            return in.read() < 0;
        }
        catch (final SocketException reset)
        {
            return true;
        }
    }
}
