package io.ringblocks.client;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Objects;

/**
 * One server of a cluster: its address and its weight, the share of blocks it owns relative to the others
 * (a member of weight 2 owns about twice as many as one of weight 1: give it twice the disk).
 * <p>
 * A member is identified by its address alone: a server replaced at the same {@code host:port} (with the same or
 * an empty data directory) owns the same blocks, and a weight change moves only the blocks that weight moves.
 */
public final class Member
{
    /** Largest weight accepted: 2^20 times the smallest sensible one is already a strange cluster. */
    public static final double MAX_WEIGHT = 1 << 20;

    private final String host;
    private final int port;
    private final double weight;
    private final long seed;

    /**
     * @param weight the member's relative share, {@code 0 < weight <= MAX_WEIGHT}.
     * @throws IllegalArgumentException on an empty host, a port outside 1..65535 or a bad weight.
     */
    public Member(final String host, final int port, final double weight)
    {
        Objects.requireNonNull(host, "host");
        if (host.isBlank() || host.indexOf(',') >= 0 || host.indexOf('=') >= 0)
        {
            throw new IllegalArgumentException("bad host: '" + host + "'");
        }
        if (port < 1 || port > 65535)
        {
            throw new IllegalArgumentException("port must be in 1..65535: " + port);
        }
        if (!(weight > 0) || weight > MAX_WEIGHT || Double.isNaN(weight))
        {
            throw new IllegalArgumentException("weight must be in (0, " + MAX_WEIGHT + "]: " + weight);
        }
        this.host = host;
        this.port = port;
        this.weight = weight;
        this.seed = seedOf(address());
    }

    /**
     * Parses {@code host:port} or {@code host:port=weight} (weight 1 when omitted).
     *
     * @throws IllegalArgumentException naming what is wrong with {@code text}.
     */
    public static Member parse(final String text)
    {
        Objects.requireNonNull(text, "text");
        final String s = text.strip();
        final int eq = s.indexOf('=');
        final String address = eq < 0 ? s : s.substring(0, eq);
        double weight = 1;
        if (eq >= 0)
        {
            try
            {
                weight = Double.parseDouble(s.substring(eq + 1));
            }
            catch (final NumberFormatException e)
            {
                throw new IllegalArgumentException("bad weight in member '" + text + "' (want host:port=weight)");
            }
        }
        final int colon = address.lastIndexOf(':');
        if (colon <= 0 || colon == address.length() - 1)
        {
            throw new IllegalArgumentException("bad member '" + text + "' (want host:port[=weight])");
        }
        final int port;
        try
        {
            port = Integer.parseInt(address.substring(colon + 1));
        }
        catch (final NumberFormatException e)
        {
            throw new IllegalArgumentException("bad port in member '" + text + "' (want host:port[=weight])");
        }
        return new Member(address.substring(0, colon), port, weight);
    }

    public String host()
    {
        return host;
    }

    public int port()
    {
        return port;
    }

    public double weight()
    {
        return weight;
    }

    /** @return {@code host:port}, the member's identity. */
    public String address()
    {
        return host + ":" + port;
    }

    /** The member's fixed contribution to every placement score (from its address, the same in every process). */
    long seed()
    {
        return seed;
    }

    private static long seedOf(final String address)
    {
        try
        {
            final byte[] d = MessageDigest.getInstance("SHA-256").digest(address.getBytes(StandardCharsets.UTF_8));
            long s = 0;
            for (int i = 0; i < 8; i++)
            {
                s = s << 8 | (d[i] & 0xFF);
            }
            return s;
        }
        catch (final NoSuchAlgorithmException e)
        {
            throw new IllegalStateException("SHA-256 is required by every Java platform", e);
        }
    }

    @Override
    public boolean equals(final Object other)
    {
        return other instanceof Member m && m.port == port && m.host.equals(host) && m.weight == weight;
    }

    @Override
    public int hashCode()
    {
        return host.hashCode() * 31 + port;
    }

    /** @return {@code host:port}, with {@code =weight} when the weight is not 1. */
    @Override
    public String toString()
    {
        return weight == 1 ? address() : address() + "=" + (weight == Math.rint(weight) ? Long.toString((long)weight) :
            Double.toString(weight));
    }
}
