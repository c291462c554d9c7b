package io.ringblocks.cli;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class SizesTest
{
    @Test
    void shouldParseSizesWithBinaryUnits()
    {
        assertEquals(4096, Sizes.parse("4k"));
        assertEquals(64L << 10, Sizes.parse("64KiB"));
        assertEquals(512L << 20, Sizes.parse("512m"));
        assertEquals(1L << 30, Sizes.parse("1g"));
        assertEquals(1048576, Sizes.parse("1048576"));
    }

    @Test
    void shouldRejectWhatIsNotAPositiveSize()
    {
        for (final String bad : new String[]{"", "lots", "0", "-4k", "4q"})
        {
            assertThrows(IllegalArgumentException.class, () -> Sizes.parse(bad), bad);
        }
    }

    @Test
    void shouldParseDurationsInMillisecondsSecondsAndMinutes()
    {
        assertEquals(500_000_000L, Sizes.durationNanos("500ms"));
        assertEquals(2_500_000_000L, Sizes.durationNanos("2.5s"));
        assertEquals(5_000_000_000L, Sizes.durationNanos("5"));
        assertEquals(60_000_000_000L, Sizes.durationNanos("1m"));
        assertEquals(0, Sizes.durationNanos("0s"));
    }

    @Test
    void shouldRejectWhatIsNotADuration()
    {
        for (final String bad : new String[]{"", "soon", "-1s", "5h", "NaNs", "1d", "2f", "0x1p4", "1e3"})
        {
            assertThrows(IllegalArgumentException.class, () -> Sizes.durationNanos(bad), bad);
        }
    }

    @Test
    void shouldFormatSizesAndDurationsSoThatTheyParseBack()
    {
        assertEquals("1g", Sizes.format(1L << 30));
        assertEquals("64m", Sizes.format(64L << 20));
        assertEquals("4k", Sizes.format(4096));
        assertEquals("2t", Sizes.format(2L << 40));
        assertEquals("1000", Sizes.format(1000));
        assertEquals("0", Sizes.format(0));
        assertEquals("5m", Sizes.formatNanos(300_000_000_000L));
        assertEquals("30s", Sizes.formatNanos(30_000_000_000L));
        assertEquals("1500ms", Sizes.formatNanos(1_500_000_000L));
        assertEquals("0.02ms", Sizes.formatNanos(20_000L));
        assertEquals("0", Sizes.formatNanos(0));
        for (final long bytes : new long[]{1L << 30, 3L << 20, 12288, 1000})
        {
            assertEquals(bytes, Sizes.parse(Sizes.format(bytes)));
        }
        for (final long nanos : new long[]{0, 20_000L, 1_500_000_000L, 30_000_000_000L, 300_000_000_000L})
        {
            assertEquals(nanos, Sizes.durationNanos(Sizes.formatNanos(nanos)));
        }
    }
}
