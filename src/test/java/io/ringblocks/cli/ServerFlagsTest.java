package io.ringblocks.cli;

import org.junit.jupiter.api.Test;

import io.ringblocks.server.ServerConfig;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** How {@link ServerMain} turns its flags into a configuration: every error names its flag, off means off. */
class ServerFlagsTest
{
    private static ServerConfig config(final String... args)
    {
        final ServerMain main = new ServerMain();
        ServerMain.commandLine(main).parseArgs(args);
        return main.config();
    }

    private static void assertRefused(final String message, final String... args)
    {
        assertEquals(message, assertThrows(IllegalArgumentException.class, () -> config(args)).getMessage());
    }

    @Test
    void shouldNameTheFlagOfEverySizeOrDurationThatDoesNotParse()
    {
        final String size = ": not a size: 'lots' (use e.g. 4096, 64k, 512m, 1g)";
        for (final String flag : new String[]{"--max-size", "--max-block-size", "--wal-size", "--arena-size",
            "--block-cache", "--scrub-rate"})
        {
            assertRefused(flag + size, flag, "lots");
        }
        final String duration = ": not a duration: 'soon' (use e.g. 500ms, 5s, 1m)";
        for (final String flag : new String[]{"--sync-interval", "--checkpoint-interval", "--send-timeout",
            "--request-timeout", "--idle-timeout"})
        {
            assertRefused(flag + duration, flag, "soon");
        }
    }

    @Test
    void shouldTakeOffAndZeroAlikeWhereAFeatureCanBeTurnedOff()
    {
        for (final String off : new String[]{"off", "OFF", "0", "0m", "0MiB", "0k"})
        {
            assertEquals(0, config("--block-cache", off).blockCacheSize(), off);
            assertEquals(0, config("--scrub-rate", off).store().scrubRate(), off);
        }
        for (final String off : new String[]{"off", "Off", "0", "0s", "0ms"})
        {
            assertEquals(0, config("--idle-timeout", off).idleTimeoutMillis(), off);
        }
        assertEquals(10L << 20, config("--scrub-rate", "10m").store().scrubRate());
    }

    @Test
    void shouldRefuseAFractionOfAMillisecondRatherThanDropIt()
    {
        assertEquals(1001, config("--send-timeout", "1.001s").sendTimeoutMillis());
        assertEquals(1500, config("--request-timeout", "1.5s").requestTimeoutMillis());
        assertEquals(90_000, config("--idle-timeout", "1.5m").idleTimeoutMillis());
        assertRefused("--send-timeout counts whole milliseconds, got '1.5ms'", "--send-timeout", "1.5ms");
        assertRefused("--idle-timeout counts whole milliseconds, got '0.5ms'", "--idle-timeout", "0.5ms");
    }

    @Test
    void shouldRefuseAPortOutsideItsRange()
    {
        assertRefused("--metrics-listen port must be in 0..65535: '127.0.0.1:-1'", "--metrics-listen", "127.0.0.1:-1");
        assertRefused("--listen port must be in 0..65535: '127.0.0.1:65536'", "--listen", "127.0.0.1:65536");
        assertEquals(ServerConfig.METRICS_OFF, config("--metrics-listen", "off").metricsPort());
        assertEquals(9464, config("--metrics-listen", "127.0.0.1:9464").metricsPort());
    }
}
