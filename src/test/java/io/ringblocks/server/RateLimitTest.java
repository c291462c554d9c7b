package io.ringblocks.server;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link RateLimit} on a hand-driven clock. */
class RateLimitTest
{
    private static final long MS = 1_000_000L;

    private static int takes(final RateLimit limit, final long now, final int tries)
    {
        int taken = 0;
        for (int i = 0; i < tries; i++)
        {
            taken += limit.take(now) ? 1 : 0;
        }
        return taken;
    }

    @Test
    void shouldAllowABurstThenTheRate()
    {
        final RateLimit limit = new RateLimit(1000, 100);
        final long t0 = 5_000 * MS;
        assertEquals(100, takes(limit, t0, 500), "the burst");
        assertFalse(limit.take(t0));
        assertEquals(10, takes(limit, t0 + 10 * MS, 500), "then one a millisecond");
        assertEquals(100, takes(limit, t0 + 10_000 * MS, 500), "idle for long: a burst again, no more");
    }

    @Test
    void shouldHoldARateOverTimeWhateverTheCallersTry()
    {
        final RateLimit limit = new RateLimit(200, 10);
        int taken = 0;
        for (long t = 0; t < 1_000 * MS; t += MS / 4)
        {
            taken += limit.take(t) ? 1 : 0;
        }
        assertTrue(taken >= 200 && taken <= 210, "about 200 a second plus the burst: " + taken);
        assertThrows(IllegalArgumentException.class, () -> new RateLimit(0, 1));
    }
}
