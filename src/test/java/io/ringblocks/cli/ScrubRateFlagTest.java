package io.ringblocks.cli;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** {@code --scrub-rate}: off by default, sizes per second, nothing negative or unparsable. */
class ScrubRateFlagTest
{
    private static long scrubRate(final String... args)
    {
        final ServerMain main = new ServerMain();
        new CommandLine(main).parseArgs(args);
        return main.config().store().scrubRate();
    }

    @Test
    void shouldParseTheScrubRateAsBytesPerSecondAndDefaultToOff()
    {
        assertEquals(0, scrubRate());
        assertEquals(0, scrubRate("--scrub-rate", "0"));
        assertEquals(10L << 20, scrubRate("--scrub-rate", "10m"));
        assertEquals(4096, scrubRate("--scrub-rate", "4096"));
    }

    @Test
    void shouldRejectANegativeOrMalformedScrubRate()
    {
        for (final String bad : new String[]{"-1", "fast", "10q"})
        {
            assertThrows(IllegalArgumentException.class, () -> scrubRate("--scrub-rate", bad), bad);
        }
    }
}
