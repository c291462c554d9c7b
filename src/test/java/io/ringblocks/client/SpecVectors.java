package io.ringblocks.client;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * A small reader of protocol-spec/vectors.txt (format in protocol-spec/README.md section 9), written here so
 * that the client tests need nothing from the server's packages.
 */
final class SpecVectors
{
    static final Path FILE = Path.of("protocol-spec", "vectors.txt");

    record Vector(String name, boolean newConnection, byte[] send, byte[] expect, byte[] expectStatus,
        boolean expectClose, int thenSendZeros)
    {
    }

    private SpecVectors()
    {
    }

    static List<Vector> load() throws IOException
    {
        final HexFormat hex = HexFormat.of();
        final List<Vector> vectors = new ArrayList<>();
        boolean newConnection = false;
        String name = null;
        byte[] send = null;
        byte[] expect = null;
        byte[] expectStatus = null;
        boolean expectClose = false;
        int zeros = 0;
        for (final String raw : Files.readAllLines(FILE))
        {
            final String line = raw.strip();
            if (line.isEmpty() || line.startsWith("#"))
            {
                continue;
            }
            final int colon = line.indexOf(':');
            final String key = line.substring(0, colon);
            final String value = line.substring(colon + 1).strip();
            switch (key)
            {
                case "connection" ->
                {
                    if (name != null)
                    {
                        vectors.add(new Vector(name, newConnection, send, expect, expectStatus, expectClose, zeros));
                        name = null;
                    }
                    newConnection = true;
                }
                case "name" ->
                {
                    if (name != null)
                    {
                        vectors.add(new Vector(name, newConnection, send, expect, expectStatus, expectClose, zeros));
                        newConnection = false;
                    }
                    name = value;
                    send = null;
                    expect = null;
                    expectStatus = null;
                    expectClose = false;
                    zeros = 0;
                }
                case "send" -> send = hex.parseHex(value);
                case "expect" -> expect = hex.parseHex(value);
                case "expect-status" -> expectStatus = hex.parseHex(value);
                case "expect-close" -> expectClose = Boolean.parseBoolean(value);
                case "then-send-zeros" -> zeros = Integer.parseInt(value);
                default -> throw new IllegalStateException("unknown vector line: " + line);
            }
        }
        if (name != null)
        {
            vectors.add(new Vector(name, newConnection, send, expect, expectStatus, expectClose, zeros));
        }
        return vectors;
    }
}
