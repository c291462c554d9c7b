package io.ringblocks.cli;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.Locale;

/**
 * Parses human sizes such as {@code 4k}, {@code 64KiB}, {@code 512m}, {@code 1g}, {@code 1048576}, and durations
 * such as {@code 500ms}, {@code 2.5s}, {@code 1m}.
 */
public final class Sizes
{
    private static final java.util.regex.Pattern DURATION = java.util.regex.Pattern.compile("\\d+(\\.\\d+)?(ms|s|m)?");

    private Sizes()
    {
    }

    /**
     * @throws IllegalArgumentException for anything that is not a positive size.
     */
    public static long parse(final String text)
    {
        final String s = text.trim().toLowerCase(Locale.ROOT).replace("ib", "").replace("b", "");
        if (s.isEmpty())
        {
            throw new IllegalArgumentException("empty size");
        }
        long multiplier = 1;
        String digits = s;
        final char unit = s.charAt(s.length() - 1);
        switch (unit)
        {
            case 'k' -> multiplier = 1L << 10;
            case 'm' -> multiplier = 1L << 20;
            case 'g' -> multiplier = 1L << 30;
            case 't' -> multiplier = 1L << 40;
            default ->
            {
            }
        }
        if (multiplier != 1)
        {
            digits = s.substring(0, s.length() - 1);
        }
        try
        {
            final long value = Math.multiplyExact(Long.parseLong(digits.trim()), multiplier);
            if (value <= 0)
            {
                throw new IllegalArgumentException("size must be positive: " + text);
            }
            return value;
        }
        catch (final NumberFormatException | ArithmeticException e)
        {
            throw new IllegalArgumentException("not a size: '" + text + "' (use e.g. 4096, 64k, 512m, 1g)");
        }
    }

    /**
     * @return the duration in nanoseconds: {@code ms}, {@code s} (the default unit) or {@code m} suffixes.
     * @throws IllegalArgumentException for anything that is not a duration >= 0.
     */
    public static long durationNanos(final String text)
    {
        final String t = text.trim().toLowerCase(Locale.ROOT);
        try
        {
            if (!DURATION.matcher(t).matches())
            {
                throw new NumberFormatException(); // Double.parseDouble alone would take 1d, 2f or 0x1p4
            }
            // Decimal arithmetic: 1.001s is exactly 1001 ms, which binary floating point would make 1000.999999 ms.
            final BigDecimal nanos;
            if (t.endsWith("ms"))
            {
                nanos = new BigDecimal(t.substring(0, t.length() - 2)).scaleByPowerOfTen(6);
            }
            else if (t.endsWith("m"))
            {
                nanos = new BigDecimal(t.substring(0, t.length() - 1)).multiply(BigDecimal.valueOf(60_000_000_000L));
            }
            else
            {
                nanos = new BigDecimal(t.endsWith("s") ? t.substring(0, t.length() - 1) : t).scaleByPowerOfTen(9);
            }
            return nanos.setScale(0, RoundingMode.DOWN).longValueExact(); // below a nanosecond does not count
        }
        catch (final NumberFormatException | ArithmeticException e)
        {
            throw new IllegalArgumentException("not a duration: '" + text + "' (use e.g. 500ms, 5s, 1m)");
        }
    }

    /**
     * @return {@code bytes} in the largest binary unit that divides it ({@code 1g}, {@code 64m}, {@code 4k},
     * {@code 1000}), which {@link #parse} reads back; {@code 0} stays {@code 0}.
     */
    public static String format(final long bytes)
    {
        final char[] units = {'t', 'g', 'm', 'k'};
        for (int i = 0; i < units.length; i++)
        {
            final int shift = 40 - 10 * i;
            if (bytes != 0 && bytes % (1L << shift) == 0)
            {
                return (bytes >> shift) + String.valueOf(units[i]);
            }
        }
        return Long.toString(bytes);
    }

    /**
     * @return {@code nanos} as the largest of {@code m}, {@code s} and {@code ms} that holds it exactly (fractions
     * of a millisecond as a decimal), which {@link #durationNanos} reads back; {@code 0} stays {@code 0}.
     */
    public static String formatNanos(final long nanos)
    {
        if (nanos == 0)
        {
            return "0";
        }
        if (nanos % 60_000_000_000L == 0)
        {
            return nanos / 60_000_000_000L + "m";
        }
        if (nanos % 1_000_000_000L == 0)
        {
            return nanos / 1_000_000_000L + "s";
        }
        return java.math.BigDecimal.valueOf(nanos, 6).stripTrailingZeros().toPlainString() + "ms";
    }
}
