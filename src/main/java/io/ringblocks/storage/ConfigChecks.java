package io.ringblocks.storage;

/**
 * The checks the configuration builders' {@code conclude()} methods share, so that every message has one shape:
 * the field's name, the allowed range, then the bad value ({@code "maxBlockSize must be a power of two in
 * 4096..1048576: 3000"}). Each throws {@link IllegalArgumentException} and returns the value otherwise.
 */
public final class ConfigChecks
{
    private ConfigChecks()
    {
    }

    /** @return {@code value} when it is in {@code min..max}. */
    public static long inRange(final String field, final long value, final long min, final long max)
    {
        if (value < min || value > max)
        {
            throw new IllegalArgumentException(field + " must be in " + min + ".." + max + ": " + value);
        }
        return value;
    }

    /** @return {@code value} when it is in {@code min..max}. */
    public static int inRange(final String field, final int value, final int min, final int max)
    {
        return (int)inRange(field, (long)value, min, max);
    }

    /** @return {@code value} when it is a power of two in {@code min..max}. */
    public static long powerOfTwo(final String field, final long value, final long min, final long max)
    {
        if (value < min || value > max || Long.bitCount(value) != 1)
        {
            throw new IllegalArgumentException(field + " must be a power of two in " + min + ".." + max + ": " +
                value);
        }
        return value;
    }

    /** @return {@code value} when it is a power of two in {@code min..max}. */
    public static int powerOfTwo(final String field, final int value, final int min, final int max)
    {
        return (int)powerOfTwo(field, (long)value, min, max);
    }

    /** @return {@code value} when it is a multiple of {@code unit} in {@code min..max}. */
    public static long multipleOf(final String field, final long value, final long unit, final long min,
        final long max)
    {
        if (value < min || value > max || value % unit != 0)
        {
            throw new IllegalArgumentException(field + " must be a multiple of " + unit + " in " + min + ".." + max +
                ": " + value);
        }
        return value;
    }

    /** @return {@code value} when it is not null. */
    public static <T> T required(final String field, final T value)
    {
        if (value == null)
        {
            throw new IllegalArgumentException(field + " is required: null");
        }
        return value;
    }
}
