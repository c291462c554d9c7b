package io.ringblocks.client;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Objects;

/**
 * A block's address: the 32-byte SHA-256 of its content. Immutable, so it can be shared between threads and
 * used as a map key; the array it wraps never escapes ({@link #bytes()} returns a copy), because a hash that
 * changed after being used as a key or sent to the server would silently address a different block.
 */
public final class Hash
{
    /** Length of a hash in bytes. */
    public static final int LENGTH = 32;
    /** Length of a hash in hex digits. */
    public static final int HEX_LENGTH = 2 * LENGTH;

    private static final HexFormat HEX = HexFormat.of();

    private final byte[] bytes;

    private Hash(final byte[] bytes)
    {
        this.bytes = bytes;
    }

    /**
     * Computes the address of a block.
     *
     * @param content the block's bytes.
     * @return SHA-256 of {@code content}.
     */
    public static Hash of(final byte[] content)
    {
        Objects.requireNonNull(content, "content");
        return new Hash(sha256().digest(content));
    }

    /**
     * Wraps a binary digest, for hashes that arrive from elsewhere (an index, another system).
     *
     * @param hash exactly 32 bytes; copied, so the caller may reuse the array.
     * @return the hash.
     * @throws IllegalArgumentException if {@code hash} is not 32 bytes long.
     */
    public static Hash fromBytes(final byte[] hash)
    {
        Objects.requireNonNull(hash, "hash");
        if (hash.length != LENGTH)
        {
            throw new IllegalArgumentException("hash must be 32 bytes: " + hash.length);
        }
        return new Hash(hash.clone());
    }

    /**
     * Parses the usual text form of a SHA-256.
     *
     * @param hex exactly 64 hex digits, either case.
     * @return the hash.
     * @throws IllegalArgumentException if {@code hex} is not exactly 64 ASCII hex digits.
     */
    public static Hash fromHex(final String hex)
    {
        Objects.requireNonNull(hex, "hex");
        if (hex.length() != HEX_LENGTH)
        {
            throw new IllegalArgumentException("hash must be 64 hex digits: " + hex.length());
        }
        for (int i = 0; i < HEX_LENGTH; i++)
        {
            final char c = hex.charAt(i);
            final boolean digit = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
            if (!digit)
            {
                throw new IllegalArgumentException("not a hex digit at index " + i + ": '" + c + "'");
            }
        }
        return new Hash(HEX.parseHex(hex));
    }

    /** Wraps a digest received from the wire without copying; the caller hands over the array. */
    static Hash wrap(final byte[] hash)
    {
        if (hash.length != LENGTH)
        {
            throw new IllegalArgumentException("hash must be 32 bytes: " + hash.length);
        }
        return new Hash(hash);
    }

    /** @return a fresh SHA-256 digester; {@code MessageDigest} is not thread-safe, so one per computation. */
    static MessageDigest sha256()
    {
        try
        {
            return MessageDigest.getInstance("SHA-256");
        }
        catch (final NoSuchAlgorithmException ex)
        {
            throw new IllegalStateException("every Java platform must provide SHA-256", ex);
        }
    }

    /** Copies the 32 bytes into a request frame under construction, without the copy {@link #bytes()} makes. */
    void copyTo(final byte[] destination, final int offset)
    {
        System.arraycopy(bytes, 0, destination, offset, LENGTH);
    }

    /**
     * @return the 64 lower-case hex digits, the form used in logs and on command lines.
     */
    public String toHex()
    {
        return HEX.formatHex(bytes);
    }

    /**
     * @return a copy of the 32 digest bytes; a copy, so that this value stays immutable.
     */
    public byte[] bytes()
    {
        return bytes.clone();
    }

    /**
     * Checks content against this address, for callers that obtained bytes outside the verified GET path.
     *
     * @param content candidate block bytes.
     * @return true if SHA-256 of {@code content} equals this hash.
     */
    public boolean matches(final byte[] content)
    {
        Objects.requireNonNull(content, "content");
        return MessageDigest.isEqual(sha256().digest(content), bytes);
    }

    /**
     * @param other any object.
     * @return true if {@code other} is a {@code Hash} with the same 32 bytes.
     */
    @Override
    public boolean equals(final Object other)
    {
        return this == other || (other instanceof Hash that && Arrays.equals(bytes, that.bytes));
    }

    /**
     * @return the first four digest bytes: SHA-256 output is uniformly distributed, so they spread as well as
     * a hash over all 32 would.
     */
    @Override
    public int hashCode()
    {
        return (bytes[0] & 0xFF) << 24 | (bytes[1] & 0xFF) << 16 | (bytes[2] & 0xFF) << 8 | (bytes[3] & 0xFF);
    }

    /**
     * @return the same as {@link #toHex()}, so hashes print readably in logs and assertion messages.
     */
    @Override
    public String toString()
    {
        return toHex();
    }
}
