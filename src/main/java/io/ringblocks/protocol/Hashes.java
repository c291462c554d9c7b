package io.ringblocks.protocol;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import io.ringblocks.wire.Protocol;

/**
 * Lower-case hex text of 32-byte SHA-256 block addresses, for logs, the spec's test vectors and command-line
 * tooling. Not on the request path, so these may allocate; parsing accepts either case and rejects anything that
 * is not exactly 64 hex digits, so a typo in a vector fails loudly.
 */
public final class Hashes
{
    public static final int HASH_LENGTH = Protocol.HASH_LENGTH;
    public static final int HEX_LENGTH = 2 * HASH_LENGTH;

    private static final char[] DIGITS = "0123456789abcdef".toCharArray();

    private Hashes()
    {
    }

    /** Appends the 64 hex digits of the hash at {@code offset} to {@code out}. */
    public static StringBuilder appendHex(final DirectBuffer buffer, final int offset, final StringBuilder out)
    {
        for (int i = 0; i < HASH_LENGTH; i++)
        {
            final int b = buffer.getByte(offset + i) & 0xFF;
            out.append(DIGITS[b >>> 4]).append(DIGITS[b & 0xF]);
        }
        return out;
    }

    /** @return the 64 hex digits of the hash at {@code offset}. */
    public static String toHex(final DirectBuffer buffer, final int offset)
    {
        return appendHex(buffer, offset, new StringBuilder(HEX_LENGTH)).toString();
    }

    /** @return the 64 hex digits of a 32-byte hash. */
    public static String toHex(final byte[] hash)
    {
        if (hash.length != HASH_LENGTH)
        {
            throw new IllegalArgumentException("hash must be 32 bytes: " + hash.length);
        }
        return toHex(new UnsafeBuffer(hash), 0);
    }

    /**
     * Parses 64 hex digits into 32 bytes at {@code offset}.
     *
     * @throws IllegalArgumentException if {@code hex} is not exactly 64 hex digits.
     */
    public static void fromHex(final CharSequence hex, final MutableDirectBuffer buffer, final int offset)
    {
        if (hex.length() != HEX_LENGTH)
        {
            throw new IllegalArgumentException("hash must be 64 hex digits: " + hex.length());
        }
        for (int i = 0; i < HASH_LENGTH; i++)
        {
            buffer.putByte(offset + i, (byte)((digit(hex, 2 * i) << 4) | digit(hex, 2 * i + 1)));
        }
    }

    /** @return the 32 bytes of a 64-hex-digit hash. */
    public static byte[] fromHex(final CharSequence hex)
    {
        final byte[] hash = new byte[HASH_LENGTH];
        fromHex(hex, new UnsafeBuffer(hash), 0);
        return hash;
    }

    private static int digit(final CharSequence hex, final int index)
    {
        final char c = hex.charAt(index);
        if (c >= '0' && c <= '9')
        {
            return c - '0';
        }
        if (c >= 'a' && c <= 'f')
        {
            return c - 'a' + 10;
        }
        if (c >= 'A' && c <= 'F')
        {
            return c - 'A' + 10;
        }
        throw new IllegalArgumentException("not a hex digit at " + index + ": '" + c + "'");
    }
}
