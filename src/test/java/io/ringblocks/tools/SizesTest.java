package io.ringblocks.tools;

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
}
