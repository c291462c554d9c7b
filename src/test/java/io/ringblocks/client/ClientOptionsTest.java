package io.ringblocks.client;

import java.time.Duration;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ClientOptionsTest
{
    @Test
    void shouldHoldDocumentedDefaults()
    {
        final ClientOptions options = ClientOptions.of("example.org", 7070);
        assertEquals("example.org", options.host());
        assertEquals(7070, options.port());
        assertEquals(Duration.ofSeconds(5), options.connectTimeout());
        assertEquals(Duration.ofSeconds(30), options.requestTimeout());
        assertEquals(1024, options.maxInFlight());
        assertTrue(options.verifyGets());
        assertEquals(3, options.reconnectAttempts());
        assertEquals(4, options.poolSize());
        assertEquals(1 << 20, options.maxBlockSize());
        assertEquals("127.0.0.1", ClientOptions.builder().port(1).build().host());
    }

    @Test
    void shouldRoundTripThroughToBuilder()
    {
        final ClientOptions options = ClientOptions.builder().host("h").port(9).connectTimeout(Duration.ofMillis(7))
            .requestTimeout(Duration.ofMillis(8)).maxInFlight(3).verifyGets(false).reconnectAttempts(0)
            .reconnectBackoff(Duration.ofMillis(2)).poolSize(5).maxBlockSize(4096).build();
        final ClientOptions copy = options.toBuilder().build();
        assertEquals(options.toString(), copy.toString());
        assertFalse(copy.verifyGets());
        assertEquals(0, copy.reconnectAttempts());
        assertEquals(4096, copy.maxBlockSize());
        assertEquals(8_000_000L, copy.requestTimeoutNanos());
        assertEquals(Long.MAX_VALUE, ClientOptions.saturatedNanos(Duration.ofDays(365L * 1000)));
    }

    @Test
    void shouldRejectInvalidValuesWhereTheyAreSet()
    {
        final ClientOptions.Builder builder = ClientOptions.builder();
        assertThrows(IllegalStateException.class, builder::build);
        assertThrows(IllegalArgumentException.class, () -> builder.port(0));
        assertThrows(IllegalArgumentException.class, () -> builder.port(65536));
        assertThrows(IllegalArgumentException.class, () -> builder.host(" "));
        assertThrows(NullPointerException.class, () -> builder.host(null));
        assertThrows(IllegalArgumentException.class, () -> builder.requestTimeout(Duration.ZERO));
        assertThrows(IllegalArgumentException.class, () -> builder.connectTimeout(Duration.ofMillis(-1)));
        assertThrows(IllegalArgumentException.class, () -> builder.reconnectBackoff(Duration.ZERO));
        assertThrows(IllegalArgumentException.class, () -> builder.maxInFlight(0));
        assertThrows(IllegalArgumentException.class, () -> builder.reconnectAttempts(-1));
        assertThrows(IllegalArgumentException.class, () -> builder.poolSize(0));
        assertThrows(IllegalArgumentException.class, () -> builder.maxBlockSize(0));
        assertThrows(IllegalArgumentException.class, () -> builder.maxBlockSize(ClientOptions.MAX_MAX_BLOCK_SIZE + 1));
        assertEquals(1 << 20, ClientOptions.MAX_MAX_BLOCK_SIZE, "no server accepts a larger block");
        assertThrows(IllegalArgumentException.class, () -> builder.maxBlockSize((1 << 20) + 1));
    }
}
